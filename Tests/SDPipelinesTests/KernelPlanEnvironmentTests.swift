// scripts/run_tests.sh runs these parity tests again with SDEDIT_MAX_ISA=generic. SDCore does not
// read the environment, so the test process must turn it into the recorded plan (TestEnvironment,
// through Fixtures) or that second run would test the fast kernels twice.
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class KernelPlanEnvironmentTests: XCTestCase {
    func testRecordedPlanFollowsTheEnvironment() {
        _ = Fixtures.path("models")
        let env = ProcessInfo.processInfo.environment
        let expected = KernelPlan.from(environment: env, threads: 1)
        XCTAssertEqual(Backend.plan.isa, expected.isa, "SDEDIT_MAX_ISA=\(env["SDEDIT_MAX_ISA"] ?? "")")
        XCTAssertEqual(Backend.plan.winograd, expected.winograd)
        XCTAssertEqual(CPU.isa, expected.isa)
    }
}
