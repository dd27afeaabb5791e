// StableDiffusionUpscalePipeline parity on the tiny random x4 model: the 7-channel UNet with the
// noise-level class embedding and only_cross_attention blocks, the f=4 VAE, and whole pipelines for
// DDIM, Euler ancestral and DPM++ 2M, with and without CFG, noise levels 20 and 100, and an input that
// is not a multiple of 4 (diffusers resizes it down with Pillow BICUBIC). Then the tiled path.
// Fixtures: scripts/make_fixtures.py upscale → fixtures/upscale/, fixtures/models/tiny-sd2-x4-upscaler.
import Foundation
import SDCore
import SDModels
import SDPipelines
import SDTestSupport
import XCTest

final class UpscalePipelineTests: XCTestCase {
    let folder = Fixtures.path("models/tiny-sd2-x4-upscaler")

    func testComponents() throws {
        let f = try Fixtures.file("upscale/goldens.safetensors")
        let unet = try ModelSource(folder: folder).loadUNet()
        XCTAssertEqual(unet.config.onlyCrossAttention, [true, true, false])
        let s = try f.tensor("unet.sample"), c = try f.tensor("unet.context")
        assertClose(unet(s, timestep: 963, context: c, classLabel: 20), try f.tensor("unet.out"), Tolerances.model, "x4 unet")
        assertClose(unet(s, timestep: 500, context: c, classLabel: 250), try f.tensor("unet.out_label250"), Tolerances.model, "x4 unet label 250")
        let vae = try ModelSource(folder: folder).loadVAE()
        XCTAssertEqual(vae.config.scaleFactor, 4)
        assertClose(vae.decode(try f.tensor("vae.z")), try f.tensor("vae.decoded"), Tolerances.model, "f=4 decode")
    }

    func testMatchesDiffusersImageForImage() throws {
        let pipe = try UpscalePipeline(model: StableDiffusionModel(folder: folder))
        let golden = try Fixtures.file("upscale/goldens.safetensors")
        let cases = try PipelineCase.load("upscale/pipeline_cases.json")
        XCTAssertEqual(cases.count, 7)
        for c in cases {
            let name = c.name
            var image = try ImageIO.read(Fixtures.path("upscale/\(name).png")).rgb8()
            // VaeImageProcessor: sizes rounded down to a multiple of 4 by a Pillow BICUBIC resize.
            image = image.pillowResized(width: image.width / 4 * 4, height: image.height / 4 * 4, filter: .bicubic)
            var r = UpscaleRequest(prompt: "a sharp photo")
            r.negativePrompt = c.negative
            r.steps = c.steps
            r.guidance = Float(c.guidance)
            r.noiseLevel = try XCTUnwrap(c.noiseLevel)
            r.seed = UInt64(c.seed)
            r.scheduler = try XCTUnwrap(SchedulerKind(rawValue: c.scheduler))
            r.tile = nil
            let latents = try pipe.latents(image: image.toTensor(), r)
            assertClose(latents, try golden.tensor("\(name).latents"), Tolerances.pipelineLatents, "\(name) latents")
            let out = Image(tensor: try pipe.model.requireVAE().decode(latents / pipe.scalingFactor))
            XCTAssertEqual([out.width, out.height], [image.width * 4, image.height * 4])
            let want = try golden.tensor("\(name).image")
            assertClose(Tensor(shape: want.shape, storage: out.samples8.map(Float.init)), want, Tolerances.pipelineImage, "\(name) image")
        }
        XCTAssertThrowsError(try { var r = UpscaleRequest(prompt: ""); r.noiseLevel = 351; _ = try pipe.latents(image: Tensor(zeros: [1, 3, 8, 8]), r) }())
    }

    /// The image-level call: an input that is not a multiple of the VAE's 4 comes back exactly 4×,
    /// and where the input is a multiple it is the tensor pipeline's decoded image; the padding
    /// (edge pixels) only adds pixels on the right and bottom.
    func testImageCallGivesExactlyFourTimesTheInput() throws {
        let pipe = try UpscalePipeline(model: StableDiffusionModel(folder: folder))
        var r = UpscaleRequest(prompt: "a sharp photo")
        r.steps = 2
        r.seed = 3
        r.tile = nil
        let image = try ImageIO.read(Fixtures.path("upscale/\(try PipelineCase.load("upscale/pipeline_cases.json")[0].name).png")).rgb8()
        let even = image.pillowResized(width: 12, height: 8, filter: .bicubic)
        let out = try pipe(image: even, r)
        XCTAssertEqual(out, Image(tensor: try pipe(image: even.toTensor(), r)))
        let odd = even.cropped(width: 10, height: 7)
        let oddOut = try pipe(image: odd, r)
        XCTAssertEqual([oddOut.width, oddOut.height], [40, 28])
        let padded = Image(tensor: try pipe(image: odd.edgePadded(right: 2, bottom: 1).toTensor(), r))
        XCTAssertEqual(oddOut, padded.cropped(width: 40, height: 28))
    }
}
