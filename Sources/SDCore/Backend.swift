// Start-up of the numeric core: the kernel plan recorded (KernelPlan), the BLAS loaded with the
// plan's kernels, and the lines `sdedit info` and `sdedit bench` print about both. A run on slower
// fallback kernels always says so (warnings), so no CPU gets a generic path silently.
import Foundation

public enum Backend {
    /// OpenBLAS core names whose kernels predate AVX (its SSE2/SSE3 fallbacks).
    static let sseOnlyCores: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom",
                                            "katmai", "coppermine", "northwood", "banias", "opteron",
                                            "opteron_sse3", "barcelona", "bobcat", "athlon"]

    /// The recorded plan behind a lock: kernels read it from any thread.
    private final class Recorded: @unchecked Sendable {
        let lock = NSLock()
        var plan = KernelPlan.defaults
    }
    private static let recorded = Recorded()

    /// The plan every kernel follows: KernelPlan.defaults until configure or start records another.
    public static var plan: KernelPlan {
        recorded.lock.lock(); defer { recorded.lock.unlock() }
        return recorded.plan
    }

    /// Record `plan` for every later op. The BLAS keeps the OpenBLAS kernels of the plan it was
    /// first loaded under (OpenBLAS reads OPENBLAS_CORETYPE once, when it loads).
    public static func configure(_ plan: KernelPlan) {
        var p = plan
        p.threads = Swift.max(1, p.threads)
        recorded.lock.lock(); defer { recorded.lock.unlock() }
        recorded.plan = p
    }

    /// Change the recorded plan in place (Winograd.grant).
    static func update(_ change: (inout KernelPlan) -> Void) {
        recorded.lock.lock(); defer { recorded.lock.unlock() }
        change(&recorded.plan)
    }

    /// Record `plan` with its thread budget capped at the CPUs online and load the BLAS. Returns
    /// the warnings the user must see, one line each.
    public static func start(_ plan: KernelPlan) throws -> [String] {
        var plan = plan
        var warnings = plan.ignored
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        if plan.threads > cpus {
            warnings.append("--threads \(plan.threads) is more than the \(cpus) CPUs online; using \(cpus)")
            plan.threads = cpus
        }
        configure(plan)
        try BLAS.load()
        if plan.isa < CPU.best {
            warnings.append("kernels limited to \(plan.isa) by SDEDIT_MAX_ISA (this CPU has \(CPU.best))")
        } else if CPU.best == .generic {
            warnings.append("this CPU has no AVX2/FMA: sdedit runs its SSE2 kernels, several times slower")
        }
        if CPU.best >= .avx2 && sseOnlyCores.contains(BLAS.coreName.lowercased()) {
            warnings.append("OpenBLAS runs its \(BLAS.coreName) (SSE) kernels on an AVX2 CPU"
                            + (BLAS.coreSource == "environment" ? " because OPENBLAS_CORETYPE is set" : ""))
        }
        return warnings
    }

    /// What runs where, for `sdedit info` and the benchmark headers.
    public static var summary: [String] {
        let plan = self.plan
        return [
            "cpu: \(CPU.summary)",
            plan.kernelsLine,
            "plan: \(plan.summary)",
            "simd kernels: \(plan.isa) (best on this CPU: \(CPU.best)); attention, softmax, GroupNorm, activations",
            "blas: OpenBLAS \(BLAS.coreName) kernels, chosen by \(BLAS.coreSource) (\(BLAS.config))",
            "fp32 gemm: \(FP32GEMM.summary)",
            "winograd: \(Winograd.summary)",
            "bf16 gemm: \(BF16GEMM.summary); --precision auto = \(Precision.resolve("auto")!.rawValue) (\(Precision.autoReason))",
            "bf16 attention: \(BF16Attention.summary)",
            "threads: \(plan.threads) of \(ProcessInfo.processInfo.activeProcessorCount) CPUs, one budget for sdedit and OpenBLAS",
        ]
    }
}
