// fp32 GEMM on oneDNN instead of OpenBLAS where it is measured faster: Intel cores with AVX-512.
// There oneDNN's brgemm kernels beat OpenBLAS's Cooperlake/SkylakeX sgemm on the UNet's and VAE's
// shapes (figures in docs/benchmarks.md, "Why the kernel rules are what they are"). Elsewhere (AMD,
// AVX2 CPUs) OpenBLAS stays, except for narrow activations (≤ 64 columns or rows against a large
// weight: the 8² convs at batch 1, the 16² Winograd tile GEMMs, the linears of 8² maps), where
// OpenBLAS's packing of the whole weight per call costs as much as the product and oneDNN's is
// measured faster (docs/notes/winograd.md). A narrow *weight* (a conv with ≤ 64 output channels,
// TAESD's) is cheap to pack, and there OpenBLAS is the faster (docs/benchmarks.md). A fixed rule from cpuid and the shape, and tiles fixed by the shape as for
// OpenBLAS, so the image does not depend on the run.
// The rule is applied by KernelPlan.from; SDEDIT_FP32_GEMM=openblas|onednn overrides it (benchmarks, tests).
import CKernels
import Foundation

public enum FP32GEMM {
    public enum Backend: String, Sendable { case openblas, onednn }

    /// oneDNN's fp32 matmul implementation for this CPU, or why it is not used.
    static let onednn: Result<String, SDError> = {
        var err = [CChar](repeating: 0, count: 512)
        if sd_dnnl_load(&err, err.count) != 0 {
            return .failure(.invalidInput(String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)))
        }
        guard let impl = sd_dnnl_matmul_impl(0) else { return .failure(.invalidInput("oneDNN has no fp32 matmul here")) }
        return .success("oneDNN \(String(cString: sd_dnnl_version())) \(String(cString: impl))")
    }()

    /// The backend large fp32 GEMM tiles run on: the recorded plan's (its rule is KernelPlan.from's),
    /// OpenBLAS where oneDNN cannot load.
    public static var backend: Backend { effective(SDCore.Backend.plan.fp32GEMM) }

    /// The backend a plan asking for `wanted` gets here.
    static func effective(_ wanted: Backend) -> Backend { wanted == .onednn && oneDNNAvailable ? .onednn : .openblas }

    /// One line for `sdedit info`.
    public static var summary: String {
        switch (backend, onednn) {
        case (.onednn, .success(let s)): return "\(s) (Intel AVX-512: faster than OpenBLAS here); small GEMMs on OpenBLAS"
        case (.openblas, .success(let s)) where effective(SDCore.Backend.plan.fp32NarrowGEMM) == .onednn:
            return "OpenBLAS \(BLAS.coreName); narrow activations (≤ \(narrowSide) rows or columns) on \(s)"
        default: return "OpenBLAS \(BLAS.coreName)"
        }
    }

    /// Tiles whose activation side has at most this many rows or columns follow KernelPlan.fp32NarrowGEMM.
    static let narrowSide = 64

    /// Whether a tile's activation side is narrow. sdedit's GEMMs hold the weight as A (convs and
    /// Winograd tiles: W·columns, B not transposed) or as Bᵀ (linears: x·Wᵀ), so the activation
    /// is B's columns (n), or A's rows (m) when B is transposed.
    static func narrow(m: Int, n: Int, transB: Bool) -> Bool {
        n <= narrowSide || (transB && m <= narrowSide)
    }

    /// GEMMs below this many multiply-adds stay on OpenBLAS: oneDNN's per-call setup (a primitive
    /// descriptor, cached kernels) costs more than it saves there.
    static let minimumWork = 1 << 21

    /// Whether oneDNN's fp32 matmul can run here (whatever the rule picks).
    public static var oneDNNAvailable: Bool { if case .success = onednn { return true } else { return false } }

    /// One tile on the named backend, whatever this process's rule (tests compare the two);
    /// false when oneDNN cannot run it.
    public static func tile(on b: Backend, transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                            a: UnsafePointer<Float>, lda: Int, b bm: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
                            c: UnsafeMutablePointer<Float>, ldc: Int) -> Bool {
        if b == .openblas {
            sd_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), bm, Int32(ldb), beta, c, Int32(ldc))
            return true
        }
        return oneDNNAvailable && sd_dnnl_gemm(0, transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), a, Int32(lda),
                                               bm, Int32(ldb), beta, c, Int32(ldc)) == 0
    }

    /// One tile on oneDNN when this process uses it and the call suits it (alpha 1, beta 0 or 1,
    /// enough work); false means the caller runs OpenBLAS.
    @inline(__always)
    static func tile(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) -> Bool {
        guard alpha == 1, beta == 0 || beta == 1, m * n * k >= minimumWork else { return false }
        let plan = SDCore.Backend.plan
        guard effective(narrow(m: m, n: n, transB: transB) ? plan.fp32NarrowGEMM : plan.fp32GEMM) == .onednn else { return false }
        return tile(on: .onednn, transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                    beta: beta, c: c, ldc: ldc)
    }
}
