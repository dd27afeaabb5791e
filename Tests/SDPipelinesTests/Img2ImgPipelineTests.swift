// StableDiffusionImg2ImgPipeline parity on a tiny random SD 2.1-style base model (4-channel UNet,
// upcast_attention, v-prediction): DDIM (the checkpoint's), Euler a, DPM++ 2M and PNDM, with and
// without CFG and a negative prompt, strengths 0.5–0.8, non-square and odd latent sizes; and on a
// tiny SD 1.x (CLIP ViT-L-style quick-GELU text encoder, eos padding, 8 heads, 1×1-conv proj_in):
// PNDM (its own), DDIM, Euler a. Both also from their LDM single files.
// Fixtures: scripts/make_fixtures.py img2img / single → fixtures/img2img/, fixtures/sd1/,
// fixtures/models/tiny-sd21-base, tiny-sd1, single/.
import Foundation
import SDCore
import SDModels
import SDPipelines
import SDTestSupport
import XCTest

final class Img2ImgPipelineTests: XCTestCase {
    func testMatchesDiffusersImageForImage() throws {
        try check(StableDiffusionModel(folder: Fixtures.path("models/tiny-sd21-base")), "img2img", "a watercolor painting", cases: 5)
    }

    func testSD1MatchesDiffusers() throws {
        try check(StableDiffusionModel(folder: Fixtures.path("models/tiny-sd1")), "sd1", "a watercolor painting!", cases: 3)
    }

    /// The single files, with their folders as --config (the tiny configs; their tokenizer files equal the built-in one).
    func testSingleFilesMatchDiffusers() throws {
        for (name, dir, prompt, n) in [("tiny-sd1", "sd1", "a watercolor painting!", 3), ("tiny-sd21-base", "img2img", "a watercolor painting", 5)] {
            let source = try ModelSource(singleFile: Fixtures.path("models/single/\(name).safetensors"),
                                         configFolder: Fixtures.path("models/\(name)"))
            try check(StableDiffusionModel(source: source), dir, prompt, cases: n)
        }
    }

    func check(_ model: StableDiffusionModel, _ dir: String, _ prompt: String, cases n: Int) throws {
        let pipe = try Img2ImgPipeline(model: model)
        let golden = try Fixtures.file("\(dir)/goldens.safetensors")
        let cases = try PipelineCase.load("\(dir)/pipeline_cases.json")
        XCTAssertEqual(cases.count, n)
        for c in cases {
            let image = try ImageIO.read(Fixtures.path("\(dir)/\(c.name).png")).rgb8()
            var r = Img2ImgRequest(prompt: prompt, strength: 0.8)
            r.negativePrompt = c.negative
            r.steps = c.steps
            r.guidance = Float(c.guidance)
            r.strength = try XCTUnwrap(c.strength)
            r.seed = UInt64(c.seed)
            r.scheduler = try XCTUnwrap(SchedulerKind(rawValue: c.scheduler))
            let latents = try pipe.latents(image: image.toTensor(), r)
            let wantLatents = try golden.tensor("\(c.name).latents")
            assertClose(latents, wantLatents, Tolerances.pipelineLatents, "\(c.name) latents")
            let out = try pipe(image: image, r)
            let want = try golden.tensor("\(c.name).image")
            let got = Tensor(shape: want.shape, storage: out.samples8.map(Float.init))
            let d = zip(got.storage, want.storage).map { abs($0 - $1) }
            print("img2img \(c.name): image max \(d.max()!) mean \(d.reduce(0, +) / Float(d.count)) grey levels, latents max "
                  + "\(compare(latents, wantLatents, Tolerances.exact).maxAbs)")
            assertClose(got, want, Tolerances.pipelineImage, "\(c.name) image")
        }
    }

    func testInpaintingModelIsNotABaseModel() throws {
        XCTAssertThrowsError(try Img2ImgPipeline(model: StableDiffusionModel(folder: Fixtures.path("models/tiny-sd2-inpainting"))))
    }

    /// StableDiffusionInpaintPipeline with a 4-channel base UNet: latents blended with the re-noised
    /// original outside the mask after every step; the RNG also draws the masked image's (unused)
    /// posterior, as diffusers does.
    func testFourChannelInpaintMatchesDiffusers() throws {
        let model = try StableDiffusionModel(folder: Fixtures.path("models/tiny-sd21-base"))
        let pipe = try InpaintPipeline(model: model)
        XCTAssertTrue(pipe.baseModel)
        let golden = try Fixtures.file("img2img/goldens.safetensors")
        let cases = try PipelineCase.load("img2img/inpaint4_cases.json")
        XCTAssertEqual(cases.count, 3)
        for c in cases {
            let image = try ImageIO.read(Fixtures.path("img2img/\(c.name).image.png")).rgb8()
            let mask = try MaskPreparation.binaryMask(ImageIO.read(Fixtures.path("img2img/\(c.name).mask.png")))
            var r = InpaintRequest(prompt: "a red brick wall", strength: try XCTUnwrap(c.strength))
            r.negativePrompt = c.negative
            r.steps = c.steps
            r.guidance = Float(c.guidance)
            r.seed = UInt64(c.seed)
            r.scheduler = try XCTUnwrap(SchedulerKind(rawValue: c.scheduler))
            let latents = try pipe.latents(image: image.toTensor(), mask: mask, r)
            let wantLatents = try golden.tensor("\(c.name).latents")
            assertClose(latents, wantLatents, Tolerances.pipelineLatents, "\(c.name) latents")
            let out = Image(tensor: try model.decodeLatents(latents))
            let want = try golden.tensor("\(c.name).image")
            let got = Tensor(shape: want.shape, storage: out.samples8.map(Float.init))
            let d = zip(got.storage, want.storage).map { abs($0 - $1) }
            print("4-channel inpaint \(c.name): image max \(d.max()!) mean \(d.reduce(0, +) / Float(d.count)) grey levels, latents max "
                  + "\(compare(latents, wantLatents, Tolerances.exact).maxAbs)")
            assertClose(got, want, Tolerances.pipelineImage, "\(c.name) image")
        }
    }
}
