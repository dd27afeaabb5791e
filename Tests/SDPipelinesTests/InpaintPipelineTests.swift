// StableDiffusionInpaintPipeline parity on the tiny random model: every scheduler, with and without
// CFG and a negative prompt, strength 1 and below, a non-square size and a latent size the UNet cannot
// halve evenly (72×56 → 9×7). Same seed, same images as diffusers.
// Fixtures: scripts/make_fixtures.py inpaint → fixtures/inpaint/pipeline*.{json,safetensors} and the
// case images; reference_noise.json holds diffusers' own 1-vs-2-thread differences.
import Foundation
import SDCore
import SDModels
import SDPipelines
import SDTestSupport
import XCTest

final class InpaintPipelineTests: XCTestCase {
    func testMatchesDiffusersImageForImage() throws {
        let model = try StableDiffusionModel(folder: Fixtures.path("models/tiny-sd2-inpainting"))
        let pipe = try InpaintPipeline(model: model)
        let golden = try Fixtures.file("inpaint/pipeline.safetensors")
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("inpaint/pipeline_cases.json")))
        let cases = try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(cases.count, 10)
        for c in cases {
            let name = c["name"] as! String
            let image = try ImageIO.read(Fixtures.path("inpaint/\(name).image.png")).rgb8()
            let mask = try MaskPreparation.binaryMask(ImageIO.read(Fixtures.path("inpaint/\(name).mask.png")))
            var r = InpaintRequest(prompt: "a red brick wall")
            r.negativePrompt = c["negative"] as? String
            r.steps = c["steps"] as! Int
            r.guidance = Float(c["guidance"] as! Double)
            r.strength = c["strength"] as! Double
            r.seed = UInt64(c["seed"] as! Int)
            r.scheduler = SchedulerKind(rawValue: c["scheduler"] as! String)!
            let latents = try pipe.latents(image: image.toTensor(), mask: mask, r)
            assertClose(latents, try golden.tensor("\(name).latents"), Tolerances.pipelineLatents, "\(name) latents")
            let out = Image(tensor: model.vae.decode(latents / model.vae.config.scalingFactor))
            let want = try golden.tensor("\(name).image")
            let got = Tensor(shape: want.shape, storage: out.samples.map(Float.init))
            assertClose(got, want, Tolerances.pipelineImage, "\(name) image")
        }
    }
}
