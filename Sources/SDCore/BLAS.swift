// The one place that calls a BLAS. Row-major sgemm: C[M,N] = alpha·op(A)·op(B) + beta·C.
// OpenBLAS is loaded at run time by CKernels/blas.c, which picks its kernels from the CPU's
// feature flags (OPENBLAS_CORETYPE) instead of OpenBLAS's table of model numbers.
import CKernels

public enum BLAS {
    /// Load OpenBLAS once; the first caller pays. Fails only when the library is missing.
    static let loaded: Result<Void, SDError> = {
        var err = [CChar](repeating: 0, count: 512)
        if sd_blas_load(&err, err.count) != 0 {
            return .failure(.missingModel(String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)))
        }
        return .success(())
    }()

    /// Make sure the BLAS is usable; the CLI calls this once at start so a missing library is one line.
    public static func load() throws { try loaded.get() }

    /// Row-major single-precision GEMM on raw pointers with leading dimensions.
    @inline(__always)
    public static func sgemm(transA: Bool = false, transB: Bool = false,
                             m: Int, n: Int, k: Int,
                             alpha: Float = 1,
                             a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int,
                             beta: Float = 0,
                             c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if case .failure(let e) = loaded { fatalError("\(e)") }
        sd_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha,
                 a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Run `body` with OpenBLAS limited to one thread, so `body` may call sgemm from each of our
    /// own worker threads without the two thread pools oversubscribing the cores.
    public static func singleThreaded<R>(_ body: () throws -> R) rethrows -> R {
        setThreads(1)
        defer { setThreads(Threads.count) }
        return try body()
    }

    static func setThreads(_ n: Int) {
        if case .success = loaded { sd_blas_set_threads(Int32(n)) }
    }

    /// The kernel set OpenBLAS runs ("Haswell", "Zen", "SkylakeX", "Cooperlake", …).
    public static var coreName: String { _ = loaded; return String(cString: sd_blas_corename()) }
    /// Who chose it: "cpu features" (sdedit, from cpuid), "environment" (OPENBLAS_CORETYPE) or "openblas".
    public static var coreSource: String { String(cString: sd_blas_coretype_source()) }
    public static var config: String { _ = loaded; return String(cString: sd_blas_config()) }
}
