// StableDiffusionPipeline parity (txt2img) on the tiny random models: SD 1.x (epsilon, PNDM), SD 2.1-style
// (v-prediction, DDIM), an SD-Turbo-style config (Euler, "trailing", guidance 0 = no CFG; 1 and 4 steps)
// with scheduler swaps that keep the config's keys (from_config), and the 9-channel inpainting model run
// as A1111's txt2img (all-ones mask, grey image's posterior sample after the noise), whose golden is
// diffusers' StableDiffusionInpaintPipeline on a grey image under an all-white mask at strength 1.
// Fixtures: scripts/make_fixtures.py txt2img → fixtures/txt2img/, fixtures/models/tiny-sd-turbo-v.
import Foundation
import SDCore
import SDModels
import SDPipelines
import SDTestSupport
import XCTest

struct Txt2ImgCase: Decodable {
    let name: String, model: String, scheduler: String?
    let width: Int, height: Int, steps: Int, guidance: Double, seed: Int
    let negative: String?

    static func load() throws -> [Txt2ImgCase] {
        try JSONDecoder().decode([Txt2ImgCase].self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("txt2img/pipeline_cases.json"))))
    }
}

final class Txt2ImgPipelineTests: XCTestCase {
    func testMatchesDiffusers() throws {
        try check { !$0.model.contains("inpainting") }
    }

    func testInpaintingModelMatchesDiffusersGreyImageWhiteMask() throws {
        try check { $0.model.contains("inpainting") }
    }

    func check(_ include: (Txt2ImgCase) -> Bool) throws {
        let golden = try Fixtures.file("txt2img/goldens.safetensors")
        let cases = try Txt2ImgCase.load().filter(include)
        XCTAssertFalse(cases.isEmpty)
        var models: [String: Txt2ImgPipeline] = [:]
        for c in cases {
            let pipe = try models[c.model] ?? Txt2ImgPipeline(model: StableDiffusionModel(folder: Fixtures.path("models/\(c.model)")))
            models[c.model] = pipe
            XCTAssertEqual(pipe.inpaintingModel, c.model.contains("inpainting"))
            var r = GenerationRequest(prompt: "a red brick wall", strength: 1)
            r.negativePrompt = c.negative
            r.steps = c.steps
            r.guidance = Float(c.guidance)
            r.seed = UInt64(c.seed)
            r.scheduler = try c.scheduler.map { try XCTUnwrap(SchedulerKind(rawValue: $0)) }
            let latents = try pipe.latents(width: c.width, height: c.height, r)
            let wantLatents = try golden.tensor("\(c.name).latents")
            let tol = pipe.inpaintingModel ? Tolerances.txt2imgInpaintingLatents : Tolerances.pipelineLatents
            assertClose(latents, wantLatents, tol, "\(c.name) latents")
            let out = Image(tensor: try pipe.model.decodeLatents(latents))
            let want = try golden.tensor("\(c.name).image")
            let got = Tensor(shape: want.shape, storage: out.samples8.map(Float.init))
            let d = zip(got.storage, want.storage).map { abs($0 - $1) }
            print("txt2img \(c.name): image max \(d.max()!) mean \(d.reduce(0, +) / Float(d.count)) grey levels, latents max "
                  + "\(compare(latents, wantLatents, Tolerances.exact).maxAbs)")
            assertClose(got, want, Tolerances.pipelineImage, "\(c.name) image")
        }
    }

    func testDefaultSizeIsSampleSizeTimesVAEFactor() throws {
        let pipe = try Txt2ImgPipeline(model: StableDiffusionModel(folder: Fixtures.path("models/tiny-sd1")))
        XCTAssertEqual(pipe.defaultSize, 64)   // sample_size 8 × 8
    }

    func testRefusesSizesOffTheVAEMultiple() throws {
        let pipe = try Txt2ImgPipeline(model: StableDiffusionModel(folder: Fixtures.path("models/tiny-sd1")))
        var r = GenerationRequest(prompt: "x", strength: 1)
        r.steps = 1
        XCTAssertThrowsError(try pipe.latents(width: 60, height: 64, r))
    }
}

final class TurboConfigTests: XCTestCase {
    /// SD-Turbo's config says timestep_type "discrete"; "continuous" (EDM timesteps) is refused, not run wrongly.
    func testEulerRefusesContinuousTimesteps() throws {
        for kind in [SchedulerKind.euler, .eulerAncestral] {
            XCTAssertNoThrow(try kind.make(config: ConfigReader(dict: ["timestep_type": "discrete"], path: "s.json")))
            XCTAssertThrowsError(try kind.make(config: ConfigReader(dict: ["timestep_type": "continuous"], path: "s.json")))
        }
    }
}
