// Start-up of the numeric core: one thread budget, the BLAS loaded with kernels for this CPU, and
// the lines `sdedit info` and `sdedit bench` print about both. A run on slower fallback kernels
// always says so (warnings), so no CPU gets a generic path silently.
import Foundation

public enum Backend {
    /// OpenBLAS core names whose kernels predate AVX (its SSE2/SSE3 fallbacks).
    static let sseOnlyCores: Set<String> = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom",
                                            "katmai", "coppermine", "northwood", "banias", "opteron",
                                            "opteron_sse3", "barcelona", "bobcat", "athlon"]

    /// Set the thread budget (at most the CPUs online) and load the BLAS. Returns the warnings the
    /// user must see, one line each.
    public static func start(threads: Int) throws -> [String] {
        try BLAS.load()
        var warnings: [String] = []
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        if threads > cpus {
            warnings.append("--threads \(threads) is more than the \(cpus) CPUs online; using \(cpus)")
        }
        Threads.set(Swift.min(threads, cpus))
        if CPU.isa < CPU.best {
            warnings.append("kernels limited to \(CPU.isa) by SDEDIT_MAX_ISA (this CPU has \(CPU.best))")
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
        [
            "cpu: \(CPU.summary)",
            "kernels: \(CPU.isa) (best on this CPU: \(CPU.best)); attention, softmax, GroupNorm, activations",
            "blas: OpenBLAS \(BLAS.coreName) kernels, chosen by \(BLAS.coreSource) (\(BLAS.config))",
            "fp32 gemm: \(FP32GEMM.summary)",
            "winograd: \(Winograd.summary)",
            "bf16 gemm: \(BF16GEMM.summary); --precision auto = \(Precision.resolve("auto")!.rawValue) (\(Precision.autoReason))",
            "bf16 attention: \(BF16Attention.summary)",
            "threads: \(Threads.count) of \(ProcessInfo.processInfo.activeProcessorCount) CPUs, one budget for sdedit and OpenBLAS",
        ]
    }
}
