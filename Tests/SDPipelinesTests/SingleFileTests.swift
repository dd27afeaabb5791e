// Single-file (LDM) checkpoints: every tiny model re-saved with the original key names by
// scripts/fixtures_singlefile.py (round-tripped there through diffusers' own converters) must load to
// the same tensors as its diffusers folder, each kind must be detected, the built-in configs and
// vocabulary must be the repos', and every broken file must fail with the strict-loading error.
import Foundation
import SDCore
import SDModels
import SDPipelines
import SDTestSupport
import XCTest

final class SingleFileTests: XCTestCase {
    static let kinds: [(String, CheckpointFamily)] = [
        ("tiny-sd2-inpainting", .sd2Inpainting), ("tiny-sd2-depth", .sd2Depth), ("tiny-sd2-x4-upscaler", .x4Upscaler),
        ("tiny-sd21-base", .sd21), ("tiny-sd1", .sd15),
    ]
    var dir: String!
    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "/sdedit-single-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func single(_ name: String) -> String { Fixtures.path("models/single/\(name).safetensors") }

    func testEachKindIsDetected() throws {
        for (name, family) in Self.kinds {
            XCTAssertEqual(try SingleFileCheckpoint(path: single(name)).family, family, name)
        }
        // SD 1.5 inpainting (sd-v1-5-inpainting): a 9-channel UNet with CLIP ViT-L.
        let sd15Inpaint = try rewritten("tiny-sd1") { $0["model.diffusion_model.input_blocks.0.0.weight"] = Tensor(zeros: [16, 9, 3, 3]) }
        XCTAssertEqual(try SingleFileCheckpoint(path: sd15Inpaint).family, .sd15Inpainting)
        let u = try UNetConfig(XCTUnwrap(CheckpointFamily.sd15Inpainting.config("unet")))
        XCTAssertEqual(u.inChannels, 9)
        XCTAssertEqual(u.crossAttentionDim, 768)
    }

    /// Text encoder, VAE and UNet from the single file equal the folder's bit for bit (same fp16 values).
    func assertSameModel(_ file: String, _ folder: String, _ what: String, precision: Precision = .fp32) throws {
        let a = try StableDiffusionModel(folder: folder, precision: precision)
        let b = try StableDiffusionModel(source: ModelSource(singleFile: file, configFolder: folder), precision: precision)
        let ids = [a.tokenizer.encode("a red brick wall")]
        XCTAssertEqual(b.tokenizer.encode("a red brick wall"), ids[0], what)
        let ctx = a.textEncoder(ids)
        XCTAssertEqual(b.textEncoder(ids), ctx, "\(what) text encoder")
        let g = TorchGenerator(seed: 5)
        let image = g.randn([1, 3, 32, 32])
        let (va, vb) = (try a.requireVAE(), try b.requireVAE())
        XCTAssertEqual(vb.encode(image).mean, va.encode(image).mean, "\(what) VAE encode")
        let z = g.randn([1, va.config.latentChannels, 4, 4])
        XCTAssertEqual(vb.decode(z), va.decode(z), "\(what) VAE decode")
        let x = g.randn([1, a.unet.config.inChannels, 8, 8])
        let label = a.unet.config.numClassEmbeds == nil ? nil : 20
        XCTAssertEqual(b.unet(x, timestep: 500, context: ctx, classLabel: label), a.unet(x, timestep: 500, context: ctx, classLabel: label),
                       "\(what) UNet")
    }

    func testSingleFilesLoadTheFoldersWeights() throws {
        for (name, _) in Self.kinds { try assertSameModel(single(name), Fixtures.path("models/\(name)"), name) }
    }

    /// In bf16 the reshaped keys (OpenCLIP's split in_proj, the VAE's 1×1 convs) round as the rest do.
    func testBF16SingleFile() throws {
        try assertSameModel(single("tiny-sd2-inpainting"), Fixtures.path("models/tiny-sd2-inpainting"), "bf16", precision: .bf16)
    }

    /// The same file with every tensor in fp32 (as pruned fp32 downloads are) loads the same values.
    func testFP32SingleFile() throws {
        let f = try SafetensorsFile(path: single("tiny-sd21-base"))
        var all: [String: Tensor] = [:]
        for k in f.keys where f.info(k)!.dtype != .i64 && f.info(k)!.dtype != .i32 { all[k] = try f.tensor(k) }
        XCTAssertEqual(f.info("model.diffusion_model.out.2.weight")?.dtype, .f16)
        let path = dir + "/fp32.safetensors"
        try writeSafetensors(all, to: path)
        XCTAssertEqual(try SafetensorsFile(path: path).info("model.diffusion_model.out.2.weight")?.dtype, .f32)
        try assertSameModel(path, Fixtures.path("models/tiny-sd21-base"), "fp32")
    }

    /// Rewrite a single file with `edit` applied to its tensors.
    func rewritten(_ name: String, _ edit: (inout [String: Tensor]) -> Void) throws -> String {
        try rewrittenSafetensors(single(name), in: dir, edit)
    }

    func assertLoadFails(_ path: String, config: String?, _ needles: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try StableDiffusionModel(source: ModelSource(singleFile: path, configFolder: config)),
                             file: file, line: line) { e in
            guard let sd = e as? SDError else { return XCTFail("\(e)", file: file, line: line) }
            for n in needles + [path] { XCTAssertTrue("\(sd)".contains(n), "\(sd) should mention \(n)", file: file, line: line) }
        }
    }

    func testBrokenFilesFailStrictly() throws {
        let cfg = Fixtures.path("models/tiny-sd2-inpainting")
        let key = "model.diffusion_model.output_blocks.5.2.conv.weight"
        assertLoadFails(try rewritten("tiny-sd2-inpainting") { $0[key] = nil }, config: cfg,
                        ["missing weight up_blocks.1.upsamplers.0.conv.weight"])
        assertLoadFails(try rewritten("tiny-sd2-inpainting") { $0[key] = Tensor(zeros: [32, 32, 1, 1]) }, config: cfg,
                        [key, "[32, 32, 1, 1]", "expected [32, 32, 3, 3]"])
        assertLoadFails(try rewritten("tiny-sd2-inpainting") { $0["model.diffusion_model.input_blocks.1.0.surprise.weight"] = Tensor(zeros: [2]) },
                        config: cfg, ["under model.diffusion_model.", "input_blocks.1.0.surprise.weight"])
        assertLoadFails(try rewritten("tiny-sd2-inpainting") { $0["first_stage_model.decoder.up.0.block.7.norm1.weight"] = Tensor(zeros: [8]) },
                        config: cfg, ["not used", "first_stage_model.decoder.up.0.block.7.norm1.weight"])
        // A key of no component (nor on the list of non-weight keys) is refused when the file opens.
        XCTAssertThrowsError(try SingleFileCheckpoint(path: try rewritten("tiny-sd1") { $0["lora_unet_down.alpha"] = Tensor(zeros: [1]) })) { e in
            XCTAssertTrue("\(e)".contains("belong to no component") && "\(e)".contains("lora_unet_down.alpha"), "\(e)")
        }
        // OpenCLIP's blocks past the config's are read as unused only for the single last one.
        assertLoadFails(try rewritten("tiny-sd2-inpainting") { t in
            for (k, v) in t where k.hasPrefix("cond_stage_model.model.transformer.resblocks.2.") {
                t[k.replacingOccurrences(of: "resblocks.2.", with: "resblocks.3.")] = v
            }
        }, config: cfg, ["cond_stage_model.model.transformer.resblocks.3."])
        // Not an SD checkpoint at all, and a UNet of an unknown width.
        XCTAssertThrowsError(try SingleFileCheckpoint(path: Fixtures.path("models/tiny-sd2-inpainting/vae/diffusion_pytorch_model.fp16.safetensors"))) { e in
            XCTAssertTrue("\(e)".contains("not a Stable Diffusion 1.x/2.x single-file checkpoint"), "\(e)")
        }
        XCTAssertThrowsError(try SingleFileCheckpoint(path: try rewritten("tiny-sd1") { $0["model.diffusion_model.input_blocks.0.0.weight"] = Tensor(zeros: [16, 8, 3, 3]) })) { e in
            XCTAssertTrue("\(e)".contains("8 input channels"), "\(e)")
        }
    }

    /// Without --config the built-in (real-size) configs apply: a tiny file fails on its first
    /// weight, naming the file's key, the shape it has and the one the real checkpoint has.
    func testBuiltinConfigsAreTheRealCheckpoints() throws {
        assertLoadFails(single("tiny-sd2-inpainting"), config: nil, ["cond_stage_model.model.token_embedding.weight",
                                                                     "[49408, 32], expected [49408, 1024]"])
        for f in CheckpointFamily.allCases {
            let u = try UNetConfig(XCTUnwrap(f.config("unet"))), v = try VAEConfig(XCTUnwrap(f.config("vae")))
            let t = try CLIPTextConfig(XCTUnwrap(f.config("text_encoder")))
            let s = try XCTUnwrap(f.config("scheduler"))
            _ = try XCTUnwrap(SchedulerKind.fromClassName(s.string("_class_name"))).make(config: s)
            XCTAssertEqual(u.crossAttentionDim, t.hiddenSize, f.rawValue)
            XCTAssertEqual(u.outChannels, v.latentChannels, f.rawValue)
            XCTAssertEqual(t.layers, f.openCLIP ? 23 : 12, f.rawValue)
            XCTAssertEqual(t.quickGELU, !f.openCLIP, f.rawValue)
            XCTAssertEqual(u.linearProjection, f.openCLIP, f.rawValue)
            XCTAssertEqual(try s.string("prediction_type", default: "epsilon"), f == .sd21 || f == .x4Upscaler ? "v_prediction" : "epsilon")
        }
        let x4 = try UNetConfig(XCTUnwrap(CheckpointFamily.x4Upscaler.config("unet")))
        XCTAssertEqual(x4.numClassEmbeds, 1000)
        XCTAssertEqual(x4.onlyCrossAttention, [true, true, true, false])
        XCTAssertEqual(try UNetConfig(XCTUnwrap(CheckpointFamily.sd2Inpainting.config("unet"))).heads, [5, 10, 20, 20])
        XCTAssertEqual(try UNetConfig(XCTUnwrap(CheckpointFamily.sd15.config("unet"))).heads, [8, 8, 8, 8])
        XCTAssertEqual(try VAEConfig(XCTUnwrap(CheckpointFamily.x4Upscaler.config("vae"))).scalingFactor, 0.08333)
        // --prediction-type overrides the scheduler's (the 512 SD 2 base models are epsilon).
        let eps = try ModelSource(singleFile: single("tiny-sd21-base"), predictionType: "epsilon")
        XCTAssertEqual(try eps.config("scheduler").string("prediction_type"), "epsilon")
        XCTAssertThrowsError(try ModelSource.open(single("tiny-sd21-base"), predictionType: "x0"))
    }

    func testBuiltinTokenizerIsTheReposVocabulary() throws {
        let folder = try CLIPTokenizer(folder: Fixtures.path("models/tiny-sd2-inpainting/tokenizer"))
        let sd2 = try CLIPTokenizer.builtin(padToken: CheckpointFamily.sd21.padToken)
        XCTAssertTrue(sd2.vocab == folder.vocab, "the built-in vocabulary differs from vocab.json")
        XCTAssertEqual(sd2.vocab.count, 49408)
        XCTAssertEqual(sd2.padID, 0)
        let sd1Folder = try CLIPTokenizer(folder: Fixtures.path("models/tiny-sd1/tokenizer"))
        let sd1 = try CLIPTokenizer.builtin(padToken: CheckpointFamily.sd15.padToken)
        XCTAssertEqual(sd1.padID, 49407)
        for prompt in ["a photo of an astronaut riding a horse!", "Ωmega, (((masterpiece))) 8k", ""] {
            XCTAssertEqual(sd2.encode(prompt), folder.encode(prompt), prompt)
            XCTAssertEqual(sd1.encode(prompt), sd1Folder.encode(prompt), prompt)
        }
    }
}
