// Every scheduler against diffusers on recorded model outputs: timesteps, init sigma, scale_model_input
// and each step's sample, for 10 and 7 steps and for strength 0.6 (sliced timesteps, set_begin_index,
// add_noise). Configured from SD2's scheduler_config.json the way `from_config` does it.
// Fixtures: scripts/make_fixtures.py inpaint → fixtures/inpaint/schedulers.safetensors.
import SDCore
import SDModels
@testable import SDPipelines
import SDTestSupport
import XCTest

final class SchedulerTests: XCTestCase {
    let config = Fixtures.path("models/tiny-sd2-inpainting/scheduler/scheduler_config.json")

    func testAlphasCumprodBitExact() throws {
        let f = try Fixtures.file("inpaint/schedulers.safetensors")
        let s = try NoiseSchedule(ConfigReader(path: config), defaultSpacing: .leading)
        let want = try f.tensor("alphas_cumprod")
        XCTAssertEqual(s.alphasCumprod.count, 1000)
        assertClose(Tensor(shape: [1000], storage: s.alphasCumprod), want, Tolerances.exact, "alphas_cumprod")
    }

    func testSchedulersMatchDiffusers() throws {
        let f = try Fixtures.file("inpaint/schedulers.safetensors")
        // LCM's goldens are its own (FewStepTests: fixtures/fewstep/, fixtures_fewstep.py).
        for kind in SchedulerKind.allCases where kind != .lcm {
            for (steps, strength) in [(10, 1.0), (10, 0.6), (7, 1.0)] {
                let key = "\(kind.rawValue).n\(steps).s\(Int(strength * 100))"
                let sch = try kind.make(config: ConfigReader(path: config))
                let ts = try sch.timesteps(steps: steps, strength: strength)
                assertClose(Tensor(shape: [ts.count], storage: ts), try f.tensor("\(key).timesteps"), Tolerances.exact, "\(key) timesteps")
                assertClose(Tensor(shape: [1], storage: [sch.initNoiseSigma]), try f.tensor("\(key).init_sigma"),
                            Tolerances.scheduler, "\(key) init sigma")
                let ms = try f.tensor("\(key).m"), xs = try f.tensor("\(key).x"), scales = try f.tensor("\(key).scale")
                var x = try f.tensor("\(key).x0")
                let g = TorchGenerator(seed: 9)
                let per = x.count
                for (i, t) in ts.enumerated() {
                    let scale = sch.scaleModelInput(Tensor(repeating: 1, shape: [1]), timestep: t)
                    assertClose(scale, scales.narrowed(dim: 0, start: i, length: 1), Tolerances.scheduler, "\(key) scale \(i)")
                    let m = Tensor(shape: x.shape, storage: Array(ms.storage[(i * per)..<((i + 1) * per)]))
                    x = sch.step(m, timestep: t, sample: x, generator: g)
                    let want = Tensor(shape: x.shape, storage: Array(xs.storage[(i * per)..<((i + 1) * per)]))
                    assertClose(x, want, Tolerances.scheduler, "\(key) step \(i) (t=\(t))")
                }
            }
        }
    }
}

/// A step count whose timesteps fall outside ᾱ is a one-line error, not a read past the table (issue 10).
final class SchedulerRangeTests: XCTestCase {
    func testLeadingSpacingAtEveryTrainingStepIsRefused() throws {
        let config = Fixtures.path("models/tiny-sd2-inpainting/scheduler/scheduler_config.json")
        for kind in [SchedulerKind.pndm, .ddim] {
            let s = try kind.make(config: ConfigReader(path: config))
            XCTAssertThrowsError(try s.setTimesteps(1000), "\(kind)") { e in
                XCTAssertTrue("\(e)".contains("outside 0…999"), "\(e)")
            }
            XCTAssertNoThrow(try s.setTimesteps(999), "\(kind)")
        }
    }
}

final class FiniteLatentsTests: XCTestCase {
    /// NaN latents stop the run with a message instead of decoding to a black image with exit 0.
    func testNonFiniteLatentsStopTheRun() {
        XCTAssertNoThrow(try checkFinite(Tensor(shape: [2], storage: [1, -3]), step: 0, of: 5, model: "m"))
        XCTAssertThrowsError(try checkFinite(Tensor(shape: [2], storage: [1, .nan]), step: 2, of: 5, model: "m")) { e in
            XCTAssertTrue("\(e)".contains("m: denoising step 3 of 5"), "\(e)")
            // A data error (exit 65), not a usage error.
            guard case SDError.nonFinite = e else { return XCTFail("\(e) is not .nonFinite") }
        }
    }
}
