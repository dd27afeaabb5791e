// bf16 GEMM: both operands bfloat16, fp32 accumulation and output. Two kernels behind one call:
// - native: oneDNN's matmul (brgemm on AMX or AVX512-BF16), when the CPU has native bf16 and the
//   kernels may use AVX-512 (the kernel plan's ISA caps it as it caps sdedit's own kernels);
// - portable: widen the tile's operands to fp32 (exact) and run sgemm. Same inputs, exact products,
//   fp32 sums: it differs from native only in summation order.
// Tiles are fixed by the shape (BLAS.forEachTile), so results do not depend on --threads.
import CKernels

public enum BF16GEMM {
    /// oneDNN loaded with a bf16 matmul for this CPU, or why not.
    static let native: Result<String, SDError> = {
        guard CPU.hasNativeBF16 else { return .failure(.invalidInput("this CPU has no AMX or AVX512-BF16")) }
        var err = [CChar](repeating: 0, count: 512)
        if sd_dnnl_load(&err, err.count) != 0 {
            return .failure(.invalidInput(String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)))
        }
        guard let impl = sd_dnnl_matmul_impl(1) else {
            return .failure(.invalidInput("oneDNN \(String(cString: sd_dnnl_version())) has no bf16 matmul for this CPU"))
        }
        return .success("oneDNN \(String(cString: sd_dnnl_version())) \(String(cString: impl))")
    }()

    /// Whether bf16 GEMMs run on native bf16 instructions under the recorded plan.
    public static var isNative: Bool { isNative(isa: CPU.isa) }

    /// Whether they would under a plan of this ISA (native kernels need AVX-512).
    static func isNative(isa: KernelISA) -> Bool {
        guard isa >= .avx512, case .success = native else { return false }
        return true
    }

    /// One line for `sdedit info`: which bf16 GEMM runs, and why.
    public static var summary: String {
        switch native {
        case .success(let s): return CPU.isa >= .avx512 ? "native, \(s)" : "portable (capped by SDEDIT_MAX_ISA; native would be \(s))"
        case .failure(let e): return "portable: fp32 sgemm on bf16 values (\(e))"
        }
    }

    /// Row-major C[M,N] = op(A)·op(B) + beta·C (beta 0 or 1), A and B bf16 bits, on our threads.
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                            a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let native = isNative
        BLAS.forEachTile(m: m, n: n, transA: transA, transB: transB, lda: lda, ldb: ldb, ldc: ldc) { mt, nt, ao, bo, co in
            tile(native: native, transA: transA, transB: transB, m: mt, n: nt, k: k, a: a + ao, lda: lda,
                 b: b + bo, ldb: ldb, beta: beta, c: c + co, ldc: ldc)
        }
    }

    /// Row-major C[M,N] = A[M,K]·Wᵀ + beta·C with W packed (N = W's rows, K = A's columns = W's).
    /// Tiles split M only (the packed layout is not cut along N): a power of two (≤ 8) of ≥ 64 rows
    /// (the text encoder's 154 rows still use both cores), fixed by the shape as above.
    public static func gemmPacked(m: Int, a: UnsafePointer<UInt16>, weight: PackedBF16Weight, bias: UnsafePointer<Float>?,
                                  c: UnsafeMutablePointer<Float>) {
        let n = weight.n, k = weight.k
        var tiles = 1
        while tiles < 8 && m / (tiles * 2) >= 64 { tiles *= 2 }
        let rows = (m + tiles - 1) / tiles
        parallelFor(tiles, minChunk: 1) { t in
            let lo = t * rows, size = Swift.min(rows, m - lo)
            if size <= 0 { return }
            tilePacked(m: size, a: a + lo * k, weight: weight, bias: bias, c: c + lo * n)
        }
    }

    /// One packed tile on the calling thread: C[M,N] = A[M,K]·Wᵀ (+ bias [N] on every row), row
    /// strides K and N; C need not be initialised.
    static func tilePacked(m: Int, a: UnsafePointer<UInt16>, weight: PackedBF16Weight, bias: UnsafePointer<Float>?,
                           c: UnsafeMutablePointer<Float>) {
        let n = weight.n, k = weight.k
        if sd_dnnl_gemm_packed(weight.handle, Int32(m), Int32(n), Int32(k), a, Int32(k), bias, 0, c, Int32(n)) == 0 { return }
        if let bias = bias { for r in 0..<m { (c + r * n).update(from: bias, count: n) } }
        // A shape this layout does not serve: the plain [N, K] rows, through the strided path.
        weight.rows.withUnsafeBufferPointer { pb in
            tile(native: true, transA: false, transB: true, m: m, n: n, k: k, a: a, lda: k, b: pb.baseAddress!, ldb: k,
                 beta: bias == nil ? 0 : 1, c: c, ldc: n)
        }
    }

    /// One tile on the calling thread.
    static func tile(native: Bool, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                     a: UnsafePointer<UInt16>, lda: Int, b: UnsafePointer<UInt16>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if native && sd_dnnl_gemm(1, transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), a, Int32(lda),
                                  b, Int32(ldb), beta, c, Int32(ldc)) == 0 { return }
        // Portable (or a shape oneDNN refused): widen both operands, packed, and sgemm.
        let (ar, ac) = transA ? (k, m) : (m, k), (br, bc) = transB ? (n, k) : (k, n)
        let fa = UnsafeMutablePointer<Float>.allocate(capacity: ar * ac)
        let fb = UnsafeMutablePointer<Float>.allocate(capacity: br * bc)
        defer { fa.deallocate(); fb.deallocate() }
        for r in 0..<ar { sd_bf16_to_f32(a + r * lda, fa + r * ac, ac) }
        for r in 0..<br { sd_bf16_to_f32(b + r * ldb, fb + r * bc, bc) }
        BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: fa, lda: ac, b: fb, ldb: bc,
                   beta: beta, c: c, ldc: ldc)
    }
}
