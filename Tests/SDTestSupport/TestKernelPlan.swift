// The kernel plan in tests. SDCore reads no environment variables, so the test process builds its
// plan from the environment the way the CLI does (KernelPlan.from): scripts/run_tests.sh runs the
// model and pipeline parity tests a second time with SDEDIT_MAX_ISA=generic, and every one of them
// reaches its fixtures through Fixtures, which applies the plan first.
import Foundation
import SDCore

public enum TestEnvironment {
    /// Records KernelPlan.from(this process's environment) once, before the first fixture is read.
    public static let applied: Void = Backend.configure(
        KernelPlan.from(environment: ProcessInfo.processInfo.environment, threads: ProcessInfo.processInfo.activeProcessorCount))
}

extension KernelPlan {
    /// The recorded plan, settable: tests switch one setting (`KernelPlan.current.isa = .generic`)
    /// and put the saved plan back in a `defer`.
    public static var current: KernelPlan {
        get { _ = TestEnvironment.applied; return Backend.plan }
        set { _ = TestEnvironment.applied; Backend.configure(newValue) }
    }
}
