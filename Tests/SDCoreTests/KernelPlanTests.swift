// KernelPlan: built from an environment dictionary by one function, recorded by Backend, read by
// the kernels' switches (CPU.isa, Winograd.mode, Threads.count, …) instead of the environment.
import SDCore
import SDTestSupport
import XCTest

final class KernelPlanTests: XCTestCase {
    let cpus = ProcessInfo.processInfo.activeProcessorCount

    func testNoSettingsIsEveryChoiceFromCPUID() {
        let p = KernelPlan.from(environment: [:], threads: 3)
        XCTAssertEqual(p.isa, CPU.best)
        XCTAssertEqual(p.fp32GEMM, CPU.vendor == "GenuineIntel" && CPU.best >= .avx512 ? .onednn : .openblas)
        XCTAssertEqual(p.fp32NarrowGEMM, .onednn, "narrow tiles on oneDNN on every CPU")
        XCTAssertEqual(p.winograd, .auto)
        XCTAssertEqual(p.winogradCacheBytes, 384 << 20)
        XCTAssertEqual(p.profile, .off)
        XCTAssertEqual(p.threads, 3)
        XCTAssertEqual(p.openblasCoreSource, CPU.best == .generic ? "openblas" : "cpu features")
        XCTAssertEqual(p.ignored, [])
        XCTAssertEqual(KernelPlan.defaults, KernelPlan.from(environment: [:], threads: cpus))
    }

    func testEachVariable() {
        let p = KernelPlan.from(environment: ["SDEDIT_MAX_ISA": "generic", "SDEDIT_WINOGRAD": "0", "SDEDIT_WINOGRAD_CACHE_MB": "16",
                                             "SDEDIT_PROFILE": "shapes", "SDEDIT_FP32_GEMM": "openblas",
                                             "OPENBLAS_CORETYPE": "Haswell", "UNRELATED": "x"], threads: 0)
        XCTAssertEqual(p.isa, .generic)
        XCTAssertEqual(p.winograd, .off)
        XCTAssertEqual(p.winogradCacheBytes, 16 << 20)
        XCTAssertEqual(p.profile, .shapes)
        XCTAssertEqual(p.fp32GEMM, .openblas)
        XCTAssertEqual(p.fp32NarrowGEMM, .openblas, "SDEDIT_FP32_GEMM sets the narrow tiles' library too")
        XCTAssertEqual(p.openblasCore, "Haswell")
        XCTAssertEqual(p.openblasCoreSource, "environment")
        XCTAssertEqual(p.threads, 1, "a budget of at least one thread")
        XCTAssertFalse(p.bf16Native, "native bf16 needs AVX-512 kernels")
        XCTAssertEqual(KernelPlan.from(environment: ["SDEDIT_WINOGRAD": "on", "SDEDIT_PROFILE": "1"], threads: 1).winograd, .on)
        XCTAssertEqual(KernelPlan.from(environment: ["SDEDIT_PROFILE": "1"], threads: 1).profile, .ops)
        // A cap above the CPU's best leaves the best.
        XCTAssertEqual(KernelPlan.from(environment: ["SDEDIT_MAX_ISA": "AVX512"], threads: 1).isa, CPU.best)
    }

    func testUnreadableSettingsAreNamedAndLeftAtTheirDefault() {
        let p = KernelPlan.from(environment: ["SDEDIT_MAX_ISA": "sse9", "SDEDIT_WINOGRAD": "maybe", "SDEDIT_WINOGRAD_CACHE_MB": "-1",
                                             "SDEDIT_PROFILE": "yes", "SDEDIT_FP32_GEMM": "mkl"], threads: 2)
        let defaults = KernelPlan.from(environment: [:], threads: 2)
        XCTAssertEqual(p.isa, defaults.isa)
        XCTAssertEqual(p.winograd, defaults.winograd)
        XCTAssertEqual(p.winogradCacheBytes, defaults.winogradCacheBytes)
        XCTAssertEqual(p.profile, defaults.profile)
        XCTAssertEqual(p.fp32GEMM, defaults.fp32GEMM)
        XCTAssertEqual(p.ignored.count, 5)
        XCTAssertTrue(p.ignored.contains("SDEDIT_MAX_ISA=sse9 ignored: expected generic, avx2 or avx512"), "\(p.ignored)")
    }

    /// What the kernels read is the recorded plan, nothing else.
    func testSwitchesFollowTheRecordedPlan() {
        let saved = KernelPlan.current
        defer { KernelPlan.current = saved }
        var p = KernelPlan.from(environment: ["SDEDIT_MAX_ISA": "generic", "SDEDIT_WINOGRAD": "1", "SDEDIT_WINOGRAD_CACHE_MB": "2",
                                             "SDEDIT_PROFILE": "shapes"], threads: 3)
        p.im2colFloats = 1000
        Backend.configure(p)
        XCTAssertEqual(Backend.plan, p)
        XCTAssertEqual(CPU.isa, .generic)
        XCTAssertEqual(Winograd.mode, .on)
        XCTAssertEqual(Winograd.cacheBudget, 2 << 20)
        XCTAssertEqual(Threads.count, 3)
        XCTAssertEqual(Tuning.im2colFloats, 1000)
        XCTAssertTrue(OpProfile.enabled && OpProfile.byShape)
        XCTAssertFalse(BF16GEMM.isNative)
        XCTAssertEqual(BF16Attention.kernel, .portable)
        KernelPlan.current.threads = 0
        XCTAssertEqual(Threads.count, 1, "configure keeps at least one thread")
    }

    /// start caps the thread budget at the CPUs online and passes unreadable settings on as warnings.
    func testStartCapsThreadsAndWarns() throws {
        let saved = KernelPlan.current
        defer { KernelPlan.current = saved }
        let warnings = try Backend.start(KernelPlan.from(environment: ["SDEDIT_WINOGRAD": "maybe"], threads: cpus + 5))
        XCTAssertEqual(Backend.plan.threads, cpus)
        XCTAssertTrue(warnings.contains("--threads \(cpus + 5) is more than the \(cpus) CPUs online; using \(cpus)"), "\(warnings)")
        XCTAssertTrue(warnings.contains("SDEDIT_WINOGRAD=maybe ignored: expected 0, 1 or auto"), "\(warnings)")
    }

    /// The plain-language line: the fast path at the CPU's best ISA, a fallback with a rough factor below it.
    func testKernelsLine() {
        var p = KernelPlan.from(environment: [:], threads: 1)
        if CPU.best == .generic {
            XCTAssertTrue(p.kernelsLine.hasPrefix("kernels: SSE2 (this CPU has no AVX2/FMA"), p.kernelsLine)
            return
        }
        XCTAssertEqual(p.kernelsLine, "kernels: \(CPU.best == .avx512 ? "AVX-512" : "AVX2") (fast path for this CPU)")
        p.isa = .generic
        let factor = CPU.best == .avx512 ? 8 : 4
        XCTAssertTrue(p.kernelsLine.hasPrefix("kernels: SSE2 fallback (about \(factor)× slower than this CPU's fast path"), p.kernelsLine)
        XCTAssertTrue(Backend.summary.contains { $0.hasPrefix("plan: isa ") })
    }
}
