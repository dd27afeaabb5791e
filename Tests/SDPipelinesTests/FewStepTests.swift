// Few-step editing against diffusers on the tiny SD-Turbo-like model (the tiny SD 2.1 base UNet with
// stabilityai/sd-turbo's scheduler config: Euler, "trailing" spacing, epsilon; guidance 0 = no CFG):
// StableDiffusionImg2ImgPipeline and the 4-channel StableDiffusionInpaintPipeline with the turbo
// scheduler and with LCMScheduler, with the VAE and with an AutoencoderTiny as the pipeline's vae;
// LCMScheduler on the 9-channel tiny inpainting model; the SD-Turbo single file; and LCMScheduler itself on recorded model outputs (three configs, several step counts and strengths).
// Fixtures: scripts/make_fixtures.py fewstep (fixtures_fewstep.py) → fixtures/fewstep/,
// fixtures/models/tiny-sd-turbo, tiny-taesd.
import SDCore
import SDModels
@testable import SDPipelines
import SDTestSupport
import XCTest

final class FewStepTests: XCTestCase {
    let turbo = Fixtures.path("models/tiny-sd-turbo")

    /// A model per case kind: "_taesd" cases encode and decode with the tiny TAESD.
    func model(taesd: Bool, folder: String? = nil) throws -> StableDiffusionModel {
        let m = try StableDiffusionModel(folder: folder ?? turbo)
        if taesd {
            try m.useTinyAutoencoder(TinyAutoencoderSource.load(Fixtures.path("models/tiny-taesd")), path: "tiny-taesd",
                                     encoder: true, decoder: true)
        }
        return m
    }

    func request(_ c: PipelineCase, prompt: String) throws -> GenerationRequest {
        var r = GenerationRequest(prompt: prompt, strength: try XCTUnwrap(c.strength))
        r.negativePrompt = c.negative
        r.steps = c.steps
        r.guidance = Float(c.guidance)
        r.seed = UInt64(c.seed)
        // "turbo": the checkpoint's own scheduler (its scheduler_config.json); "lcm": --scheduler lcm.
        r.scheduler = c.scheduler == "turbo" ? nil : try XCTUnwrap(SchedulerKind(rawValue: c.scheduler))
        return r
    }

    func compareImage(_ out: Image, _ name: String, _ latents: Tensor, _ wantLatents: Tensor) throws {
        let want = try Fixtures.file("fewstep/goldens.safetensors").tensor("\(name).image")
        let got = Tensor(shape: want.shape, storage: out.samples8.map(Float.init))
        let d = zip(got.storage, want.storage).map { abs($0 - $1) }
        print("fewstep \(name): image max \(d.max()!) mean \(d.reduce(0, +) / Float(d.count)) grey levels, latents max "
              + "\(compare(latents, wantLatents, Tolerances.exact).maxAbs)")
        assertClose(got, want, Tolerances.pipelineImage, "\(name) image")
    }

    func testTurboDefaultsToTrailingEuler() throws {
        let m = try StableDiffusionModel(folder: turbo)
        XCTAssertEqual(try m.defaultSchedulerKind(), .euler)
        XCTAssertEqual(try m.scheduler(nil).timesteps(steps: 2), [999, 499])
    }

    /// sd_turbo.safetensors-style single file (OpenCLIP under the generative-models prefix): taken for
    /// SD-Turbo by its name, its built-in scheduler is the turbo one; with the tiny configs it gives the
    /// folder's images (fixtures_fewstep.py checks diffusers' from_single_file does too, 3.6e-6).
    func testTurboSingleFile() throws {
        let file = Fixtures.path("models/single/tiny-sd_turbo.safetensors")
        let f = try SingleFileCheckpoint(path: file)
        XCTAssertEqual(f.family, .sdTurbo)
        XCTAssertEqual(try SingleFileCheckpoint(path: Fixtures.path("models/single/tiny-sd21-base.safetensors")).family, .sd21)
        let builtin = try XCTUnwrap(CheckpointFamily.sdTurbo.config("scheduler"))
        XCTAssertEqual(try builtin.string("timestep_spacing"), "trailing")
        XCTAssertEqual(try builtin.string("prediction_type"), "epsilon")
        XCTAssertEqual(SchedulerKind.fromClassName(try builtin.string("_class_name")), .euler)
        let m = try StableDiffusionModel(source: ModelSource(singleFile: file, configFolder: turbo))
        let c = try XCTUnwrap(PipelineCase.load("fewstep/img2img_cases.json").first)
        XCTAssertEqual(c.name, "turbo_img2img")
        let image = try ImageIO.read(Fixtures.path("fewstep/\(c.name).png")).rgb8()
        let latents = try Img2ImgPipeline(model: m).latents(image: image.toTensor(), request(c, prompt: "a watercolor painting"))
        assertClose(latents, try Fixtures.file("fewstep/goldens.safetensors").tensor("\(c.name).latents"), Tolerances.pipelineLatents,
                    "single-file \(c.name) latents")
    }

    func testImg2ImgMatchesDiffusers() throws {
        let golden = try Fixtures.file("fewstep/goldens.safetensors")
        let cases = try PipelineCase.load("fewstep/img2img_cases.json")
        XCTAssertEqual(cases.count, 6)
        for c in cases {
            let pipe = try Img2ImgPipeline(model: model(taesd: c.name.hasSuffix("_taesd")))
            let image = try ImageIO.read(Fixtures.path("fewstep/\(c.name).png")).rgb8()
            let r = try request(c, prompt: "a watercolor painting")
            let latents = try pipe.latents(image: image.toTensor(), r)
            let wantLatents = try golden.tensor("\(c.name).latents")
            assertClose(latents, wantLatents, Tolerances.pipelineLatents, "\(c.name) latents")
            try compareImage(try pipe(image: image, r), c.name, latents, wantLatents)
        }
    }

    func testFourChannelInpaintMatchesDiffusers() throws {
        try checkInpaint("inpaint4", cases: 3, folder: turbo)
    }

    /// LCMScheduler on the 9-channel inpainting UNet (what LCM-LoRA for an inpainting model runs),
    /// with CFG, strength < 1 and TAESD in one case.
    func testNineChannelLCMInpaintMatchesDiffusers() throws {
        try checkInpaint("inpaint9", cases: 2, folder: Fixtures.path("models/tiny-sd2-inpainting"))
    }

    func checkInpaint(_ set: String, cases n: Int, folder: String) throws {
        let golden = try Fixtures.file("fewstep/goldens.safetensors")
        let cases = try PipelineCase.load("fewstep/\(set)_cases.json")
        XCTAssertEqual(cases.count, n)
        for c in cases {
            let model = try model(taesd: c.name.hasSuffix("_taesd"), folder: folder)
            let pipe = try InpaintPipeline(model: model)
            let image = try ImageIO.read(Fixtures.path("fewstep/\(c.name).image.png")).rgb8()
            let mask = try MaskPreparation.binaryMask(ImageIO.read(Fixtures.path("fewstep/\(c.name).mask.png")))
            let r = try request(c, prompt: "a red brick wall")
            let latents = try pipe.latents(image: image.toTensor(), mask: mask, r)
            let wantLatents = try golden.tensor("\(c.name).latents")
            assertClose(latents, wantLatents, Tolerances.pipelineLatents, "\(c.name) latents")
            try compareImage(Image(tensor: try model.decodeLatents(latents)), c.name, latents, wantLatents)
        }
    }

    func testLCMSchedulerMatchesDiffusers() throws {
        let f = try Fixtures.file("fewstep/goldens.safetensors")
        let base = try ConfigReader(path: turbo + "/scheduler/scheduler_config.json")
        let configs: [String: [String: Any]] = ["lcm": [:], "lcm_v": ["prediction_type": "v_prediction"],
                                                "lcm_orig25": ["original_inference_steps": 25]]
        for (name, over) in configs {
            let config = ConfigReader(dict: base.dict.merging(over) { $1 }, path: base.path)
            for (steps, strength) in [(4, 1.0), (4, 0.5), (1, 1.0), (8, 0.75), (3, 1.0)] {
                let key = "\(name).n\(steps).s\(Int(strength * 100))"
                let sch = try SchedulerKind.lcm.make(config: config)
                let ts = try sch.timesteps(steps: steps, strength: strength)
                assertClose(Tensor(shape: [sch.timesteps.count], storage: sch.timesteps), try f.tensor("\(key).all_timesteps"),
                            Tolerances.exact, "\(key) all timesteps")
                assertClose(Tensor(shape: [ts.count], storage: ts), try f.tensor("\(key).timesteps"), Tolerances.exact, "\(key) timesteps")
                XCTAssertEqual(sch.initNoiseSigma, 1)
                let ms = try f.tensor("\(key).model_outputs"), xs = try f.tensor("\(key).samples")
                var x = try f.tensor("\(key).x0")
                let g = TorchGenerator(seed: 9), per = x.count
                for (i, t) in ts.enumerated() {
                    XCTAssertEqual(sch.scaleModelInput(x, timestep: t), x)
                    let m = Tensor(shape: x.shape, storage: Array(ms.storage[(i * per)..<((i + 1) * per)]))
                    x = sch.step(m, timestep: t, sample: x, generator: g)
                    let want = Tensor(shape: x.shape, storage: Array(xs.storage[(i * per)..<((i + 1) * per)]))
                    assertClose(x, want, Tolerances.scheduler, "\(key) step \(i) (t=\(t))")
                }
            }
        }
    }

    func testLCMStepsBeyondTheDistillationScheduleAreRefused() throws {
        let sch = try SchedulerKind.lcm.make(config: ConfigReader(path: turbo + "/scheduler/scheduler_config.json"))
        XCTAssertThrowsError(try sch.setTimesteps(51)) { e in XCTAssertTrue("\(e)".contains("1…50"), "\(e)") }
        XCTAssertNoThrow(try sch.setTimesteps(50))
    }

    func testDecoderOnlyFileServesOnlyAsDecoder() throws {
        let m = try StableDiffusionModel(folder: turbo)
        let dec = try TinyAutoencoderSource.load(Fixtures.path("models/tiny-taesd-original/taesd_decoder.safetensors"))
        XCTAssertThrowsError(try m.useTinyAutoencoder(dec, path: "dec", encoder: true, decoder: false)) { e in
            XCTAssertTrue("\(e)".contains("decoder only"), "\(e)")
        }
        XCTAssertNoThrow(try m.useTinyAutoencoder(dec, path: "dec", encoder: false, decoder: true))
        XCTAssertNotNil(m.tinyDecoder)
        XCTAssertNil(m.tinyEncoder)
    }
}
