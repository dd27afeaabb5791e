// LoRA merging (Sources/SDModels/Loading/LoRAFile.swift, LoRADelta.swift) against AUTOMATIC1111's
// formulas and diffusers' pipelines. Fixtures: scripts/make_fixtures.py lora (scripts/fixtures_lora.py)
// → fixtures/lora/: kohya LoRA/LoCon, PEFT (with adapter metadata), mixed-alpha kohya, LoHa, LoKr,
// a 9-channel inpainting LoRA; expected.safetensors (A1111-merged weights, "<case>|<component>|<key>"),
// goldens.safetensors (diffusers load_lora_weights + fuse_lora, or the A1111-merged weights where
// diffusers differs or has no such format), hashes.json (A1111's addnet short hashes).
import Foundation
import SDCore
import SDModels
import SDPipelines
import SDTestSupport
import XCTest

final class LoRATests: XCTestCase {
    struct Case { let name: String, model: String, loras: [LoRASpec] }

    func cases() throws -> [Case] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("lora/cases.json")))
        let dict = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        return try dict.keys.sorted().map { name in
            let c = dict[name]!
            let loras = try XCTUnwrap(c["loras"] as? [[Any]]).map {
                LoRASpec(path: Fixtures.path("lora/\($0[0] as! String).safetensors"), weight: ($0[1] as! NSNumber).floatValue)
            }
            return Case(name: name, model: try XCTUnwrap(c["model"] as? String), loras: loras)
        }
    }

    func source(_ c: Case) throws -> ModelSource {
        let s = ModelSource(folder: Fixtures.path("models/\(c.model)"))
        try s.addLoRAs(c.loras)
        return s
    }

    /// Every expected weight (two of each kind of update per case: LoRA, LoCon 3×3/1×1, alpha or
    /// none, LoHa with and without hada_t1/t2, LoKr full/decomposed/lokr_t2, two files stacked).
    func testMergedWeightsMatchA1111Formulas() throws {
        let expected = try Fixtures.file("lora/expected.safetensors")
        var checked = 0
        var worst: Float = 0
        for c in try cases() {
            let s = try source(c)
            let unet = try s.unetWeights(UNetConfig(s.config("unet")))
            let te = try s.textEncoderWeights(CLIPTextConfig(s.config("text_encoder")))
            for key in expected.keys where key.hasPrefix(c.name + "|") {
                let parts = key.split(separator: "|").map(String.init)
                let store = parts[1] == "unet" ? unet : te
                XCTAssertTrue(store.hasDelta(parts[2]), "\(key) has no LoRA update")
                let got = try store.load(parts[2], shape: nil), want = try expected.tensor(key)
                worst = max(worst, compare(got, want, Tolerances.exact).maxAbs)
                assertClose(got, want, Tolerances.loraMerge, key)
                checked += 1
            }
        }
        print("lora merged weights: \(checked) checked, max |Δ| \(worst)")
        XCTAssertEqual(checked, 58)
    }

    /// img2img (tiny SD 2.1 base), 4-channel inpaint (the same) and 9-channel inpaint (tiny SD 2
    /// inpainting), DDIM, 6 steps, seed 7.
    func testPipelinesMatchDiffusers() throws {
        let golden = try Fixtures.file("lora/goldens.safetensors")
        let all = try cases()
        XCTAssertEqual(all.count, 8)
        for c in all {
            let model = try StableDiffusionModel(source: source(c))
            let latents: Tensor, out: Image
            if c.name.hasPrefix("inpaint") {
                let pipe = try InpaintPipeline(model: model)
                let image = try ImageIO.read(Fixtures.path("lora/inpaint.image.png")).rgb8()
                let mask = try MaskPreparation.binaryMask(ImageIO.read(Fixtures.path("lora/inpaint.mask.png")))
                var r = InpaintRequest(prompt: "a red brick wall", strength: 1.0)
                (r.steps, r.guidance, r.seed, r.scheduler) = (6, 7.5, 7, .ddim)
                latents = try pipe.latents(image: image.toTensor(), mask: mask, r)
                out = Image(tensor: try model.decodeLatents(latents))
            } else {
                (latents, out) = try img2img(model, "a watercolor painting")
            }
            if c.name == "kohya_locon_w1" {
                // The LoRA matters: without it the same request lands far from the golden.
                let plain = try img2img(StableDiffusionModel(folder: Fixtures.path("models/tiny-sd21-base")), "a watercolor painting").0
                let d = compare(plain, try golden.tensor("\(c.name).latents"), Tolerances.exact).maxAbs
                XCTAssertGreaterThan(d, 0.05, "the LoRA changes the latents by only \(d)")
            }
            try check(c.name, latents, out, golden)
        }
    }

    /// The fixtures' img2img request (DDIM, 6 steps, strength 0.8, seed 7): final latents and image.
    func img2img(_ model: StableDiffusionModel, _ prompt: String) throws -> (Tensor, Image) {
        let pipe = try Img2ImgPipeline(model: model)
        let image = try ImageIO.read(Fixtures.path("lora/img2img.png")).rgb8()
        var r = Img2ImgRequest(prompt: prompt, strength: 0.8)
        (r.steps, r.guidance, r.seed, r.scheduler) = (6, 7.5, 7, .ddim)
        return (try pipe.latents(image: image.toTensor(), r), try pipe(image: image, r))
    }

    func check(_ name: String, _ latents: Tensor, _ out: Image, _ golden: SafetensorsFile) throws {
        let wantLatents = try golden.tensor("\(name).latents")
        assertClose(latents, wantLatents, Tolerances.pipelineLatents, "\(name) latents")
        let want = try golden.tensor("\(name).image")
        let got = Tensor(shape: want.shape, storage: out.samples8.map(Float.init))
        print("lora \(name): latents max \(compare(latents, wantLatents, Tolerances.exact).maxAbs), image max "
              + "\(compare(got, want, Tolerances.exact).maxAbs) grey levels")
        assertClose(got, want, Tolerances.pipelineImage, "\(name) image")
    }

    func testShortHashIsA1111s() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("lora/hashes.json")))
        let hashes = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: String])
        XCTAssertEqual(hashes.count, 7)
        for (name, h) in hashes { XCTAssertEqual(try LoRAFile.shortHash(path: Fixtures.path("lora/\(name).safetensors")), h, name) }
        XCTAssertEqual(SHA256.hex(Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Data(repeating: 0x61, count: 1000)).prefix(16), "41edece42d63e8d9")
    }

    func testArguments() throws {
        XCTAssertEqual(try LoRASpec(argument: "a/b.safetensors"), LoRASpec(path: "a/b.safetensors", weight: 1))
        XCTAssertEqual(try LoRASpec(argument: "c:/x.safetensors:0.7"), LoRASpec(path: "c:/x.safetensors", weight: 0.7))
        XCTAssertEqual(try LoRASpec(argument: "x.safetensors:-1"), LoRASpec(path: "x.safetensors", weight: -1))
        XCTAssertThrowsError(try LoRASpec(argument: "x.safetensors:nan"))
        XCTAssertThrowsError(try LoRASpec(argument: ":0.5"))
        let dir = Fixtures.path("lora")
        XCTAssertEqual(try LoRASpec.resolve(tag: "peft", weight: 0.5, directory: dir), LoRASpec(path: dir + "/peft.safetensors", weight: 0.5))
        XCTAssertThrowsError(try LoRASpec.resolve(tag: "nope", directory: dir))
        XCTAssertThrowsError(try LoRASpec.resolve(tag: "../lora/peft", directory: dir))
        XCTAssertThrowsError(try LoRASpec.resolve(tag: "peft", directory: nil))
    }

    /// A LoRA for another model: one badFile error naming the file and a key, before any weight loads.
    func testLoRAForAnotherModelFails() throws {
        let s = ModelSource(folder: Fixtures.path("models/tiny-sd21-base"))
        try s.addLoRAs([LoRASpec(path: Fixtures.path("lora/sd1_width.safetensors"))])
        expectBadFile(containing: ["sd1_width.safetensors", "attn2_to_k", "another model"]) {
            _ = try s.unetWeights(UNetConfig(s.config("unet")))
        }
    }

    /// A LoRA made for the base model runs on its inpainting model (same module names and shapes
    /// outside conv_in), and every module of the file is merged.
    func testBaseLoRARunsOnInpaintingModel() throws {
        let s = ModelSource(folder: Fixtures.path("models/tiny-sd2-inpainting"))
        let path = Fixtures.path("lora/kohya_locon.safetensors")
        try s.addLoRAs([LoRASpec(path: path, weight: 0.5)])
        let unet = try s.unetWeights(UNetConfig(s.config("unet")))
        let te = try s.textEncoderWeights(CLIPTextConfig(s.config("text_encoder")))
        let modules = Set(try SafetensorsFile(path: path).keys.map { String($0.split(separator: ".")[0]) })
        XCTAssertEqual(unet.mergedKeys.count + te.mergedKeys.count, modules.count)
        XCTAssertGreaterThan(te.mergedKeys.count, 0)
        _ = try InpaintPipeline(model: StableDiffusionModel(source: s))
    }

    func expectBadFile(containing words: [String], _ body: () throws -> Void, line: UInt = #line) {
        do {
            try body()
            XCTFail("no error", line: line)
        } catch let SDError.badFile(path, message) {
            let text = "\(path): \(message)"
            for w in words { XCTAssertTrue(text.contains(w), "\(text) lacks \(w)", line: line) }
        } catch {
            XCTFail("\(error)", line: line)
        }
    }

    /// Hostile files: each one badFile line naming the file and the key.
    func testHostileFilesFail() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sdedit-lora-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let q = "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q"
        func file(_ name: String, _ t: [String: Tensor]) throws -> String {
            let p = dir + "/\(name).safetensors"
            try writeSafetensors(t, to: p)
            return p
        }
        func attach(_ path: String) throws {
            let s = ModelSource(folder: Fixtures.path("models/tiny-sd21-base"))
            try s.addLoRAs([LoRASpec(path: path)])
            _ = try s.unetWeights(UNetConfig(s.config("unet")))
            _ = try s.loadTextEncoder()
            _ = try s.loadUNet()
        }
        let up = Tensor(repeating: 0.1, shape: [16, 2]), down = Tensor(repeating: 0.1, shape: [2, 16])
        let cases: [(String, [String: Tensor], [String])] = [
            ("sdxl", ["lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight": up], ["SDXL"]),
            ("peft_sdxl", ["text_encoder_2.text_model.x.lora_A.weight": up], ["SDXL"]),
            ("checkpoint", ["model.diffusion_model.out.0.weight": up], ["checkpoint", "--model"]),
            ("unknown_role", ["\(q).dora_scale": up], ["dora_scale"]),
            ("unknown_key", ["foo.bar": up], ["foo.bar"]),
            ("half_module", ["\(q).lora_up.weight": up], ["no complete"]),
            ("wrong_shape", ["\(q).lora_up.weight": up, "\(q).lora_down.weight": Tensor(zeros: [3, 16])], ["do not multiply"]),
            ("wrong_width", ["\(q).lora_up.weight": Tensor(zeros: [16, 2]), "\(q).lora_down.weight": Tensor(zeros: [2, 20])], ["another model"]),
            ("absurd_rank", ["\(q).lora_up.weight": Tensor(zeros: [16, 300]), "\(q).lora_down.weight": Tensor(zeros: [300, 16])], ["rank 300"]),
            ("nan", ["\(q).lora_up.weight": Tensor(repeating: .nan, shape: [16, 2]), "\(q).lora_down.weight": down], ["non-finite"]),
            ("inf_alpha", ["\(q).lora_up.weight": up, "\(q).lora_down.weight": down, "\(q).alpha": Tensor(repeating: .infinity, shape: [])], ["alpha"]),
            ("twice", ["\(q).lora_up.weight": up, "\(q).lora_down.weight": down,
                       "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight": down,
                       "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_B.weight": up], ["twice"]),
            ("no_module", ["lora_unet_down_blocks_7_x.lora_up.weight": up, "lora_unet_down_blocks_7_x.lora_down.weight": down], ["no module"]),
        ]
        for (name, tensors, words) in cases {
            let p = try file(name, tensors)
            expectBadFile(containing: [name + ".safetensors"] + words) { try attach(p) }
        }
        // A header that claims more than the file holds, and an empty file.
        var bytes = Data([0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0])
        bytes.append(Data("{}".utf8))
        try bytes.write(to: URL(fileURLWithPath: dir + "/huge.safetensors"))
        expectBadFile(containing: ["huge.safetensors"]) { try attach(dir + "/huge.safetensors") }
        // The same tensor name twice in the header (JSON keeps one of them).
        let entry = "\"\(q).lora_up.weight\":{\"dtype\":\"F32\",\"shape\":[16,2],\"data_offsets\":[0,128]}"
        let json = "{\(entry),\(entry.replacingOccurrences(of: "[0,128]", with: "[128,256]")),"
            + "\"\(q).lora_down.weight\":{\"dtype\":\"F32\",\"shape\":[2,16],\"data_offsets\":[256,384]}}"
        var dup = withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { Data($0) }
        dup.append(Data(json.utf8))
        dup.append(Data(count: 384))
        try dup.write(to: URL(fileURLWithPath: dir + "/duplicate.safetensors"))
        expectBadFile(containing: ["duplicate.safetensors", "duplicate names"]) { try attach(dir + "/duplicate.safetensors") }
        try Data().write(to: URL(fileURLWithPath: dir + "/empty.safetensors"))
        expectBadFile(containing: ["empty.safetensors"]) { try attach(dir + "/empty.safetensors") }
    }

    /// bf16 runs merge in fp32 and round once: the bf16 weight equals the fp32 merged weight rounded.
    func testBF16MergesInFP32() throws {
        let c = try XCTUnwrap(try cases().first { $0.name == "kohya_locon_w1" })
        let s = try source(c)
        let config = try UNetConfig(s.config("unet"))
        let f32 = try s.unetWeights(config)
        let bf = try s.unetWeights(config, precision: .bf16)
        let key = "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight"
        XCTAssertTrue(bf.hasDelta(key))
        let shape = try XCTUnwrap(f32.storedShape(key))
        switch try bf.loadGemm(key, shape: shape).storage {
        case .bf16(let w): XCTAssertEqual(w.storage, BF16Tensor(try f32.load(key, shape: shape)).storage)
        case .bf16Packed: break   // the packed layout is covered by the bf16 pipeline tests
        case .fp32, .mapped: XCTFail("\(key) is not bf16")
        }
    }

    /// The lora fuzz target's seeds (scripts/fuzz/corpus/lora/) are valid files of every format
    /// whose modules all merge into 16×16 weights, so the fuzzer starts from the ΔW formulas.
    func testFuzzSeedsReachTheMerge() throws {
        let dir = Fixtures.root + "/../scripts/fuzz/corpus/lora"
        var merged = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() where name.hasSuffix(".safetensors") {
            let f = try LoRAFile(path: dir + "/" + name)
            for c in [LoRAComponent.unet, .textEncoder] {
                let spell = c == .unet ? LoRAFile.unetSpellings(layersPerBlock: 2) : LoRAFile.textEncoderSpellings(clipL: true)
                let keys = f.moduleNames.filter { $0.0 == c }.map { _, n -> String in
                    n.hasPrefix("lora_") ? String((spell(n) ?? n).dropFirst(c == .unet ? 10 : 8)) + ".weight"
                        : (c == .textEncoder && !n.hasPrefix("text_model.") ? "text_model." : "") + n + ".weight"
                }
                for (_, d) in try f.deltas(for: c, modelKeys: keys, shapeOf: { _ in [16, 16] }, weight: 1, otherSpelling: spell) {
                    XCTAssertEqual(try d.compute().count, 256)
                    merged += 1
                }
            }
        }
        // 10 modules in the five diffusers-spelled seeds, 5 in ldm.safetensors (LDM UNet names), 2 in
        // bundle.safetensors (beside its two bundled embeddings).
        XCTAssertEqual(merged, 17)
    }

    /// Textual inversion (fixtures/lora/embeddings/: A1111 emb_params with 3 vectors, diffusers'
    /// {token: vector} and learned_embeds) against diffusers load_textual_inversion(path, token=NAME).
    func testEmbeddingsMatchDiffusers() throws {
        let prompt = "a watercolor painting of mytok in sunsetstyle style, learnedtok"
        let s = ModelSource(folder: Fixtures.path("models/tiny-sd21-base"))
        try s.addEmbeddings(TextualInversion.folder(Fixtures.path("lora/embeddings")))
        let golden = try Fixtures.file("lora/goldens.safetensors")
        // Ids: the same text ids, the added tokens at the same places (their numbering follows load order).
        let want = try golden.tensor("embeddings.ids").storage.map { Int($0) }
        let got = try s.tokenizer().encode(prompt)
        XCTAssertEqual(got.map { $0 >= 49408 ? -1 : $0 }, want.map { $0 >= 49408 ? -1 : $0 })
        XCTAssertEqual(got.filter { $0 >= 49408 }.count, 5)
        let (latents, out) = try img2img(StableDiffusionModel(source: s), prompt)
        try check("embeddings", latents, out, golden)
        // The embeddings matter: the same prompt without them lands far from the golden.
        let plain = try img2img(StableDiffusionModel(folder: Fixtures.path("models/tiny-sd21-base")), prompt).0
        XCTAssertGreaterThan(compare(plain, try golden.tensor("embeddings.latents"), Tolerances.exact).maxAbs, 0.05)
        // An embedding of another width (48 here; 768 SD 1.x on 1024 SD 2.x) is one clear error.
        expectBadFile(containing: ["wide_embedding.safetensors", "48 wide", "32"]) {
            try ModelSource(folder: Fixtures.path("models/tiny-sd21-base"))
                .addEmbeddings([TextualInversion(path: Fixtures.path("lora/wide_embedding.safetensors"))])
        }
        XCTAssertThrowsError(try TextualInversion.folder(Fixtures.path("lora/img2img.png")))
    }

    /// LoRA keys name diffusers modules; a single file's LDM keys are renamed to those first, so the
    /// merge is the same from the folder and the file: SD 1.x (1×1-conv proj_in, where the LoRA's
    /// Linear update is reshaped as A1111 does) and SD 2.1 (OpenCLIP's fused in_proj split into q, k, v).
    func testSingleFilesMergeLikeFolders() throws {
        let lora = [LoRASpec(path: Fixtures.path("lora/kohya_locon.safetensors"), weight: 0.7)]
        for name in ["tiny-sd1", "tiny-sd21-base"] {
            let folder = ModelSource(folder: Fixtures.path("models/\(name)"))
            let single = try ModelSource(singleFile: Fixtures.path("models/single/\(name).safetensors"),
                                         configFolder: Fixtures.path("models/\(name)"))
            var merged = 0
            for s in [folder, single] { try s.addLoRAs(lora) }
            let pairs = [(try folder.unetWeights(UNetConfig(folder.config("unet"))), try single.unetWeights(UNetConfig(folder.config("unet")))),
                         (try folder.textEncoderWeights(CLIPTextConfig(folder.config("text_encoder"))),
                          try single.textEncoderWeights(CLIPTextConfig(folder.config("text_encoder"))))]
            for (a, b) in pairs {
                XCTAssertEqual(a.mergedKeys, b.mergedKeys)
                for k in a.mergedKeys {
                    let x = try a.load(k, shape: nil), y = try b.load(k, shape: nil)
                    XCTAssertEqual(x.shape, y.shape, k)
                    assertClose(x, y, Tolerances.exact, "\(name) \(k)")
                    merged += 1
                }
            }
            XCTAssertEqual(merged, 209, name)
            if name == "tiny-sd1" {
                XCTAssertEqual(try folder.unetWeights(UNetConfig(folder.config("unet")))
                    .storedShape("down_blocks.0.attentions.0.proj_in.weight"), [16, 16, 1, 1])
            }
        }
    }
}
