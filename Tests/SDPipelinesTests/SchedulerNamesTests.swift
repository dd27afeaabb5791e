// A1111 sampler and schedule-type names of the scheduler kinds (AUTOMATIC1111 modules/sd_samplers.py
// get_sampler_and_scheduler, sd_samplers_kdiffusion.py options, sd_schedulers.py labels).
@testable import SDPipelines
import XCTest

final class SchedulerNamesTests: XCTestCase {
    func testEveryKindRoundTrips() {
        for k in SchedulerKind.allCases {
            XCTAssertEqual(SchedulerKind(a1111Name: k.a1111Name), k, k.a1111Name)
            let f = k.a1111Fields
            XCTAssertEqual(f[0].key, "Sampler")
            XCTAssertEqual(SchedulerKind(a1111Name: f[0].value, scheduleType: f.count > 1 ? f[1].value : nil), k)
            XCTAssertEqual(SchedulerKind.parse(k.rawValue), k)
            XCTAssertEqual(SchedulerKind.parse(k.a1111Name), k)
        }
    }

    func testNamesPaintingClientsSend() {
        let cases: [(String, String?, SchedulerKind?)] = [
            ("Euler a", nil, .eulerAncestral), ("euler A", nil, .eulerAncestral), ("k_euler_a", nil, .eulerAncestral),
            ("k_euler_ancestral", nil, .eulerAncestral), ("Euler", nil, .euler), ("Euler", "Automatic", .euler),
            ("Euler", "Uniform", .euler), ("DDIM", nil, .ddim), ("ddim", "Karras", .ddim), ("PLMS", nil, .pndm),
            ("LCM", nil, .lcm), ("DPM++ 2M", nil, .dpm2m), ("DPM++ 2M Karras", nil, .dpm2mKarras),
            ("dpm++ 2m karras", nil, .dpm2mKarras), ("DPM++ 2M", "Karras", .dpm2mKarras), ("DPM++ 2M", "karras", .dpm2mKarras),
            ("DPM++ 2M", "Automatic", .dpm2mKarras), ("DPM++ 2M", "Uniform", .dpm2m), ("DPM++ 2M Uniform", nil, .dpm2m),
            ("k_dpmpp_2m", "Karras", .dpm2mKarras), ("DPM++ 2M Karras", "Uniform", .dpm2mKarras),
            // Samplers and schedules sdedit does not run.
            ("DPM++ 2M", "Exponential", nil), ("DPM++ 2M SGMUniform", nil, nil), ("Euler", "Karras", nil),
            ("Euler a Karras", nil, nil), ("UniPC", nil, nil), ("DPM++ SDE", nil, nil), ("DPM++ 2M SDE", nil, nil),
            ("Euler a", "Bogus", nil), ("", nil, nil), ("Karras", nil, nil),
        ]
        for (name, schedule, kind) in cases {
            XCTAssertEqual(SchedulerKind(a1111Name: name, scheduleType: schedule), kind, "\(name) / \(schedule ?? "-")")
        }
    }

    func testParseAcceptsBothSpellings() {
        XCTAssertEqual(SchedulerKind.parse("euler-a"), .eulerAncestral)
        XCTAssertEqual(SchedulerKind.parse("DPM++2M-Karras"), .dpm2mKarras)
        XCTAssertEqual(SchedulerKind.parse("DPM++ 2M Karras"), .dpm2mKarras)
        XCTAssertEqual(SchedulerKind.parse(" PLMS "), .pndm)
        XCTAssertNil(SchedulerKind.parse("heun"))
        for name in SchedulerKind.acceptedNames { XCTAssertNotNil(SchedulerKind.parse(name), name) }
    }

    func testSamplerListForTheServer() {
        XCTAssertEqual(SchedulerKind.a1111Samplers.map(\.name), ["DPM++ 2M", "Euler a", "Euler", "DDIM", "PLMS", "LCM"])
        XCTAssertEqual(SchedulerKind.a1111Samplers[0].options, ["scheduler": "karras"])
        for s in SchedulerKind.a1111Samplers {
            XCTAssertNotNil(SchedulerKind(a1111Name: s.name))
            for a in s.aliases { XCTAssertEqual(SchedulerKind(a1111Name: a), SchedulerKind(a1111Name: s.name)) }
        }
    }
}
