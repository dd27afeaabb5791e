// Progress counts the steps the user asked for: `--steps N` ends at N/N with every scheduler,
// PNDM included (its PLMS warm-up makes N + 1 UNet calls, the first completing no step), and a
// strength tail ends at int(N · strength), the steps diffusers' get_timesteps keeps.
import SDCore
import SDModels
import SDPipelines
import SDTestSupport
import XCTest

final class ProgressTests: XCTestCase {
    let config = Fixtures.path("models/tiny-sd2-inpainting/scheduler/scheduler_config.json")

    func testEverySchedulerEndsAtTheStepsAsked() throws {
        for kind in SchedulerKind.allCases where kind != .lcm {
            for steps in [1, 2, 7, 10, 50] {
                for strength in [1.0, 0.6, 0.5] {
                    let label = "\(kind.rawValue) \(steps) steps, strength \(strength)"
                    let s = try kind.make(config: ConfigReader(path: config))
                    guard let ts = try? s.timesteps(steps: steps, strength: strength) else {
                        XCTAssertLessThan(Int(Double(steps) * strength), 1, label)
                        continue
                    }
                    let reports = ts.indices.map { s.progressStep(afterCall: $0, of: ts.count) }
                    let asked = Int(Double(steps) * strength)
                    XCTAssertEqual(reports.last?.done, asked, label)
                    XCTAssertTrue(reports.allSatisfy { $0.total == asked && $0.done <= asked }, "\(label): \(reports)")
                    XCTAssertTrue(zip(reports, reports.dropFirst()).allSatisfy { $0.done + 1 == $1.done }, "\(label): \(reports)")
                    XCTAssertEqual(ts.count, kind == .pndm && steps > 1 ? asked + 1 : asked, "\(label): UNet calls")
                }
            }
        }
    }

    /// What a pipeline run reports, call by call (tiny SD 1.x model, txt2img).
    func testPipelineReportsTheUsersSteps() throws {
        let pipe = try Txt2ImgPipeline(model: StableDiffusionModel(folder: Fixtures.path("models/tiny-sd1")))
        for (kind, want) in [(SchedulerKind.pndm, [0, 1, 2, 3]), (.ddim, [1, 2, 3])] {
            var r = GenerationRequest(prompt: "a red brick wall", strength: 1)
            r.steps = 3
            r.seed = 5
            r.scheduler = kind
            var seen: [(Int, Int)] = []
            _ = try pipe.latents(width: 64, height: 64, r) { seen.append(($0, $1)) }
            XCTAssertEqual(seen.map(\.0), want, "\(kind.rawValue)")
            XCTAssertTrue(seen.allSatisfy { $0.1 == 3 }, "\(kind.rawValue): \(seen)")
        }
    }
}
