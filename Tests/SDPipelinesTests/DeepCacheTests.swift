// --deep-cache N against diffusers pipelines run with the `DeepCache` package's DeepCacheSDHelper
// (cache_interval N, cache_branch_id 0) on the tiny fixture models: 9-channel inpaint with PNDM (its
// repeated timestep shares one step index), DPM++ 2M and Euler; img2img at strength 0.6 (first step
// index k0 > 0); the x4 upscaler (last up block without attention, class label); depth2img; intervals
// 2 and 3, with and without CFG. The goldens also record which UNet calls the helper ran whole.
// Fixtures: scripts/make_fixtures.py deepcache → fixtures/deepcache/ (models from the other sets).
import Foundation
import SDCore
import SDModels
import SDPipelines
import SDTestSupport
import XCTest

/// One case of fixtures/deepcache/pipeline_cases.json.
struct DeepCacheCase: Decodable {
    let name: String, job: String, model: String, scheduler: String
    let steps: Int, guidance: Double, seed: Int, negative: String?, interval: Int
    let strength: Double?, noiseLevel: Int?
    /// Per UNet call of the reference run: 1 = the whole UNet ran, 0 = the cached branch.
    let fullCalls: [Int]

    enum CodingKeys: String, CodingKey {
        case name, job, model, scheduler, steps, guidance, seed, negative, interval, strength
        case noiseLevel = "noise_level", fullCalls = "full_calls"
    }

    static func all() throws -> [DeepCacheCase] {
        try JSONDecoder().decode([DeepCacheCase].self,
                                 from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("deepcache/pipeline_cases.json"))))
    }

    var kind: SchedulerKind { SchedulerKind(rawValue: scheduler)! }

    func request() -> GenerationRequest {
        var r = GenerationRequest(prompt: "", strength: strength ?? 1)
        r.negativePrompt = negative
        r.steps = steps
        r.guidance = Float(guidance)
        r.seed = UInt64(seed)
        r.scheduler = kind
        r.deepCache = interval
        return r
    }
}

final class DeepCacheTests: XCTestCase {
    let prompts = ["inpaint": "a red brick wall", "img2img": "a watercolor painting", "upscale": "a sharp photo",
                   "depth": "a marble statue"]

    /// The full/cached decision of every UNet call, from sdedit's schedule, equals the package's.
    func testScheduleMatchesThePackage() throws {
        let cases = try DeepCacheCase.all()
        XCTAssertEqual(cases.count, 10)
        var models: [String: StableDiffusionModel] = [:]
        for c in cases {
            let model = try models[c.model] ?? StableDiffusionModel(folder: Fixtures.path("models/\(c.model)"))
            models[c.model] = model
            let scheduler = try model.scheduler(c.kind)
            let visited = try scheduler.timesteps(steps: c.steps, strength: c.strength ?? 1)
            var schedule = try DeepCacheSchedule(interval: c.interval, timesteps: scheduler.timesteps)
            XCTAssertEqual(visited.map { schedule.isFull($0) ? 1 : 0 }, c.fullCalls, c.name)
        }
    }

    func testInpaintMatchesDeepCacheReference() throws { try check(job: "inpaint", count: 4) }
    func testImg2ImgMatchesDeepCacheReference() throws { try check(job: "img2img", count: 2) }
    func testUpscaleMatchesDeepCacheReference() throws { try check(job: "upscale", count: 2) }
    func testDepth2ImgMatchesDeepCacheReference() throws { try check(job: "depth", count: 2) }

    func check(job: String, count: Int) throws {
        let cases = try DeepCacheCase.all().filter { $0.job == job }
        XCTAssertEqual(cases.count, count)
        let golden = try Fixtures.file("deepcache/goldens.safetensors")
        let folder = Fixtures.path("models/\(cases[0].model)")
        let model = try StableDiffusionModel(folder: folder)
        for c in cases {
            var r = c.request()
            r.prompt = prompts[job]!
            let latents: Tensor, scaling: Float
            switch job {
            case "inpaint":
                let image = try ImageIO.read(Fixtures.path("deepcache/\(c.name).image.png")).rgb8()
                let mask = try MaskPreparation.binaryMask(ImageIO.read(Fixtures.path("deepcache/\(c.name).mask.png")))
                latents = try InpaintPipeline(model: model).latents(image: image.toTensor(), mask: mask, r)
                scaling = model.vaeConfig.scalingFactor
            case "img2img":
                let image = try ImageIO.read(Fixtures.path("deepcache/\(c.name).png")).rgb8()
                latents = try Img2ImgPipeline(model: model).latents(image: image.toTensor(), r)
                scaling = model.vaeConfig.scalingFactor
            case "depth":
                let pipe = try Depth2ImgPipeline(model: model, estimator: DepthEstimator(folder: folder))
                let image = try ImageIO.read(Fixtures.path("deepcache/\(c.name).png")).rgb8()
                let depth = try pipe.depthConditioning(image: image, depthMap: nil)
                latents = try pipe.latents(image: image.toTensor(), depth: depth, r)
                scaling = model.vaeConfig.scalingFactor
            default:
                let pipe = try UpscalePipeline(model: model)
                let image = try ImageIO.read(Fixtures.path("deepcache/\(c.name).png")).rgb8()
                var u = UpscaleRequest(r)
                u.noiseLevel = try XCTUnwrap(c.noiseLevel)
                u.tile = nil
                latents = try pipe.latents(image: image.toTensor(), u)
                scaling = pipe.scalingFactor
            }
            let wantLatents = try golden.tensor("\(c.name).latents")
            assertClose(latents, wantLatents, Tolerances.pipelineLatents, "\(c.name) latents")
            let out = Image(tensor: try model.requireVAE().decode(latents / scaling))
            let want = try golden.tensor("\(c.name).image")
            let got = Tensor(shape: want.shape, storage: out.samples8.map(Float.init))
            let d = zip(got.storage, want.storage).map { abs($0 - $1) }
            print("deepcache \(c.name): image max \(d.max()!) grey levels, latents max \(compare(latents, wantLatents, Tolerances.exact).maxAbs)")
            assertClose(got, want, Tolerances.pipelineImage, "\(c.name) image")
        }
    }

    /// The cache changes the result (the goldens are far from the uncached run), the run counts its
    /// full and cached calls, and an interval below 1 is refused.
    func testCachingIsRealAndIntervalOneIsOff() throws {
        let model = try StableDiffusionModel(folder: Fixtures.path("models/tiny-sd2-inpainting"))
        let c = try XCTUnwrap(DeepCacheCase.all().first { $0.name == "inpaint_euler_i2" })
        let image = try ImageIO.read(Fixtures.path("deepcache/\(c.name).image.png")).rgb8().toTensor()
        let mask = try MaskPreparation.binaryMask(ImageIO.read(Fixtures.path("deepcache/\(c.name).mask.png")))
        var r = c.request()
        r.prompt = "a red brick wall"
        let cached = try InpaintPipeline(model: model).latents(image: image, mask: mask, r)
        r.deepCache = 1
        let plain = try InpaintPipeline(model: model).latents(image: image, mask: mask, r)
        let golden = try Fixtures.file("deepcache/goldens.safetensors").tensor("\(c.name).latents")
        XCTAssertGreaterThan(compare(plain, golden, Tolerances.exact).maxAbs, 100 * Tolerances.pipelineLatents.atol)
        XCTAssertGreaterThan(compare(plain, cached, Tolerances.exact).maxAbs, 100 * Tolerances.pipelineLatents.atol)

        let scheduler = try model.scheduler(.euler)
        _ = try scheduler.timesteps(steps: 6)
        let run = try DeepCacheRun(interval: 2, scheduler: scheduler)
        let x = Tensor(zeros: [1, 9, 8, 8]), context = model.encodePrompt("", negative: nil, guidance: false)
        for t in scheduler.timesteps { _ = run.step(t).predict(model.unet, x, timestep: t, context: context) }
        XCTAssertEqual([run.fullCalls, run.shallowCalls], [3, 3])

        XCTAssertThrowsError(try DeepCacheRun(interval: 0, scheduler: scheduler))
        r.deepCache = 0
        XCTAssertThrowsError(try InpaintPipeline(model: model).latents(image: image, mask: mask, r))
    }
}
