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
            var r = Depth2ImgRequest(prompt: "a marble statue")
            r.negativePrompt = c.negative
            r.steps = c.steps
            r.guidance = Float(c.guidance)
            r.strength = c.strength!
            r.seed = UInt64(c.seed)
            r.scheduler = SchedulerKind(rawValue: c.scheduler)!
            let latents = try pipe.latents(image: image.toTensor(), depth: depth, r)
            assertClose(latents, try golden.tensor("\(c.name).latents"), Tolerances.pipelineLatents, "\(c.name) latents")
            let out = try pipe(image: image, depth: map, r)
            let want = try golden.tensor("\(c.name).image")
            let got = Tensor(shape: want.shape, storage: out.samples.map(Float.init))
            let d = zip(got.storage, want.storage).map { abs($0 - $1) }
            print("depth2img \(c.name): max \(d.max()!) mean \(d.reduce(0, +) / Float(d.count)) grey levels")
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
}
