// StableDiffusionDepth2ImgPipeline parity on the tiny random depth model: DPTImageProcessor (the
// torchvision uint8 resize) and DPT-hybrid on five input shapes, the latent-size depth conditioning,
// and whole pipelines for PNDM, DDIM, DPM++ 2M and Euler a, with and without CFG and a negative
// prompt, strength 0.5 and 0.8, non-square and odd latent sizes, and a user depth map (depth_map=).
// Fixtures: scripts/make_fixtures.py depth → fixtures/depth/, fixtures/models/tiny-sd2-depth.
import Foundation
import SDCore
import SDModels
import SDPipelines
import SDTestSupport
import XCTest

final class Depth2ImgPipelineTests: XCTestCase {
    let folder = Fixtures.path("models/tiny-sd2-depth")

    func testDPTPreprocessingAndDepthMatchTransformers() throws {
        let golden = try Fixtures.file("depth/goldens.safetensors")
        let est = try DepthEstimator(folder: folder)
        XCTAssertEqual(est.model.config.backbone.stageChannels, [16, 32, 64])
        XCTAssertEqual(est.model.config.outLayers, [2, 4])
        for name in ["square", "wide", "small", "same", "odd"] {
            let image = try ImageIO.read(Fixtures.path("depth/dpt_\(name).png"))
            let pixels = try est.processor.pixelValues(image)
            assertClose(pixels, try golden.tensor("dpt.\(name).pixel_values"), Tolerances.exact, "\(name) pixel_values")
            let depth = est.model(pixels)
            let want = try golden.tensor("dpt.\(name).depth")
            print("DPT \(name): max |Δ| \(compare(depth, want, Tolerances.exact).maxAbs) (depth up to \(want.maximum()))")
            assertClose(depth, want, Tolerances.model, "\(name) predicted_depth")
        }
    }

    func testMatchesDiffusersImageForImage() throws {
        let model = try StableDiffusionModel(folder: folder)
        let pipe = try Depth2ImgPipeline(model: model, estimator: DepthEstimator(folder: folder))
        let golden = try Fixtures.file("depth/goldens.safetensors")
        let cases = try PipelineCase.load("depth/pipeline_cases.json")
        XCTAssertEqual(cases.count, 10)
        for c in cases {
            let image = try ImageIO.read(Fixtures.path("depth/\(c.name).png")).rgb8()
            let map = c.depthMap == true ? DepthMap.tensor(from: try ImageIO.read(Fixtures.path("depth/\(c.name).depth.png"))) : nil
            let depth = try pipe.depthConditioning(image: image, depthMap: map)
            assertClose(depth, try golden.tensor("\(c.name).depth_latent"), Tolerances.model, "\(c.name) depth conditioning")
            var r = Depth2ImgRequest(prompt: "a marble statue", strength: 0.8)
            r.negativePrompt = c.negative
            r.steps = c.steps
            r.guidance = Float(c.guidance)
            r.strength = c.strength!
            r.seed = UInt64(c.seed)
            r.scheduler = SchedulerKind(rawValue: c.scheduler)!
            let latents = try pipe.latents(image: image.toTensor(), depth: depth, r)
            let wantLatents = try golden.tensor("\(c.name).latents")
            assertClose(latents, wantLatents, Tolerances.pipelineLatents, "\(c.name) latents")
            let out = try pipe(image: image, depth: map, r)
            let want = try golden.tensor("\(c.name).image")
            let got = Tensor(shape: want.shape, storage: out.samples8.map(Float.init))
            let d = zip(got.storage, want.storage).map { abs($0 - $1) }
            print("depth2img \(c.name): image max \(d.max()!) mean \(d.reduce(0, +) / Float(d.count)) grey levels, latents max "
                  + "\(compare(latents, wantLatents, Tolerances.exact).maxAbs), depth conditioning max "
                  + "\(compare(depth, try golden.tensor("\(c.name).depth_latent"), Tolerances.exact).maxAbs)")
            assertClose(got, want, Tolerances.pipelineImage, "\(c.name) image")
        }
    }

    func testFlatDepthIsRefusedAndMapsRoundTrip() throws {
        XCTAssertThrowsError(try DepthMap.conditioning(Tensor(zeros: [1, 12, 12]), height: 4, width: 4)) { e in
            XCTAssertTrue("\(e)".contains("flat"), "\(e)")
        }
        // A 16-bit map written by --save-depth reads back to the same normalised values (to 1/65535).
        let d = Tensor(shape: [1, 3, 4], storage: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
        let back = DepthMap.tensor(from: DepthMap.image(d))
        assertClose(back, d / 11, Tolerance(atol: 1 / 65535, rtol: 0), "16-bit depth round trip")
        // A model without a 5-channel UNet is not a depth model.
        XCTAssertThrowsError(try Depth2ImgPipeline(model: StableDiffusionModel(folder: Fixtures.path("models/tiny-sd2-inpainting")),
                                                   estimator: nil))
    }

    /// Configs the port does not run, or that disagree with the weights, fail at load with the file's
    /// name — never a crash or a differently-computed depth.
    func testBadDPTConfigsFailCleanly() throws {
        let src = folder + "/depth_estimator"
        let base = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: src + "/config.json"))) as! [String: Any]
        let root = NSTemporaryDirectory() + "/sdedit-dpt-\(getpid())", dir = root + "/depth_estimator"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try? FileManager.default.createSymbolicLink(atPath: dir + "/model.safetensors", withDestinationPath: src + "/model.safetensors")
        func backbone(_ edit: (inout [String: Any]) -> Void) -> [String: Any] {
            var b = base["backbone_config"] as! [String: Any]
            edit(&b)
            return ["backbone_config": b]
        }
        let cases: [(String, [String: Any])] = [
            ("is_hybrid", ["is_hybrid": false]),
            ("reassemble_factors", ["reassemble_factors": [4, 2, 1, 0.5]]),
            ("readout_type", ["readout_type": "add"]),
            ("backbone_out_indices", ["backbone_out_indices": [0, 1, 2, 99]]),
            ("num_attention_heads", ["num_attention_heads": 5]),
            ("missing weight", ["num_hidden_layers": 7, "backbone_out_indices": [0, 1, 2, 6]]),
            ("layer_type", backbone { $0["layer_type"] = "preactivation" }),
            ("hidden_sizes", backbone { $0["hidden_sizes"] = [16, 32, 64000000, 128] }),
            ("depths", backbone { $0["depths"] = [1, 1, 3] }),
            ("not a weight shape", ["hidden_size": 64, "num_attention_heads": 4]),
        ]
        for (what, edit) in cases {
            let cfg = base.merging(edit) { $1 }
            try JSONSerialization.data(withJSONObject: cfg).write(to: URL(fileURLWithPath: dir + "/config.json"))
            let source = ModelSource(folder: root)
            XCTAssertThrowsError(try source.loadDPT(DPTConfig(source.config("depth_estimator"))), what) { e in
                XCTAssertTrue(e is SDError, "\(what): \(e)")
                print("bad DPT config, \(what): \(e)")
            }
        }
    }
}
