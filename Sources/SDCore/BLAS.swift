// The one place that calls a BLAS. Row-major sgemm: C[M,N] = alpha·op(A)·op(B) + beta·C, each tile
// on OpenBLAS or, on Intel AVX-512 cores, oneDNN (FP32GEMM).
// OpenBLAS is loaded at run time by CKernels/blas.c, which picks its kernels from the CPU's
// feature flags (OPENBLAS_CORETYPE) instead of OpenBLAS's table of model numbers.
import CKernels

public enum BLAS {
    /// Load OpenBLAS once, with the kernels of the plan recorded then; the first caller pays. Fails
    /// only when the library is missing. Success holds who chose the kernels (KernelPlan.openblasCoreSource).
    static let loaded: Result<String, SDError> = {
        let plan = Backend.plan
        var err = [CChar](repeating: 0, count: 512)
        if sd_blas_load(plan.openblasCore, &err, err.count) != 0 {
            return .failure(.missingModel(String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)))
        }
        sd_blas_set_threads(1)
        return .success(plan.openblasCoreSource)
    }()

    /// Make sure the BLAS is usable; the CLI calls this once at start so a missing library is one line.
    public static func load() throws { _ = try loaded.get() }

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
        if FP32GEMM.tile(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                         beta: beta, c: c, ldc: ldc) { return }
        sd_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha,
                 a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// C = alpha·op(A)·op(B) + beta·C on our threads, as tiles of C whose size depends only on the
    /// shape, each a single-threaded sgemm. OpenBLAS's own threading is never used: its result
    /// depends on how many threads split the work, and ours must not (a seed names one image on
    /// any --threads), and one pool cannot oversubscribe the cores.
    public static func parallelSgemm(transA: Bool = false, transB: Bool = false,
                                     m: Int, n: Int, k: Int, alpha: Float = 1,
                                     a: UnsafePointer<Float>, lda: Int,
                                     b: UnsafePointer<Float>, ldb: Int,
                                     beta: Float = 0,
                                     c: UnsafeMutablePointer<Float>, ldc: Int) {
        forEachTile(m: m, n: n, transA: transA, transB: transB, lda: lda, ldb: ldb, ldc: ldc) { mt, nt, ao, bo, co in
            sgemm(transA: transA, transB: transB, m: mt, n: nt, k: k, alpha: alpha, a: a + ao, lda: lda,
                  b: b + bo, ldb: ldb, beta: beta, c: c + co, ldc: ldc)
        }
    }

    /// forEachTile with each tile's operands located: body(tile M, tile N, offset into A, into B,
    /// into C), in elements of row-major op(A)·op(B) with these leading dimensions.
    public static func forEachTile(m: Int, n: Int, transA: Bool, transB: Bool, lda: Int, ldb: Int, ldc: Int,
                                   _ body: (Int, Int, Int, Int, Int) -> Void) {
        forEachTile(m: m, n: n) { lo, size, alongM in
            if alongM {
                body(size, n, transA ? lo : lo * lda, 0, lo * ldc)
            } else {
                body(m, size, 0, transB ? lo * ldb : lo, lo)
            }
        }
    }

    /// Split C[M,N] along its longer side into a power-of-two count (≤ 8) of tiles of ≥ 256 and run
    /// `body(start, size, alongM)` for each on our threads: balanced on 1, 2, 4 or 8 threads, and big
    /// enough that a single-threaded GEMM runs at its full rate (OpenBLAS: flat from N = 512 up on
    /// Zen 3) while re-packing the other operand stays cheap.
    public static func forEachTile(m: Int, n: Int, _ body: (Int, Int, Bool) -> Void) {
        if m == 0 || n == 0 { return }
        let alongM = m >= n
        let len = alongM ? m : n
        var tiles = 1
        while tiles < 8 && len / (tiles * 2) >= 256 { tiles *= 2 }
        let tile = (len + tiles - 1) / tiles
        parallelChunks(tiles) { range in
            for t in range {
                let lo = t * tile
                body(lo, Swift.min(tile, len - lo), alongM)
            }
        }
    }

    /// The kernel set OpenBLAS runs ("Haswell", "Zen", "SkylakeX", "Cooperlake", …).
    public static var coreName: String { _ = loaded; return String(cString: sd_blas_corename()) }
    /// Who chose it: "cpu features" (sdedit, from cpuid), "environment" (OPENBLAS_CORETYPE) or "openblas".
    public static var coreSource: String { (try? loaded.get()) ?? "openblas" }
    public static var config: String { _ = loaded; return String(cString: sd_blas_config()) }
}
