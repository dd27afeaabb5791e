// Numeric precision of a run. fp32 is the diffusers-parity path. bf16 stores GEMM/conv weights in
// bfloat16 (half the memory) and rounds the inputs of every GEMM, conv and attention product to
// bfloat16, accumulating in fp32 (torch.autocast's CPU bf16 list: matmul, conv, linear and
// scaled_dot_product_attention); normalisations, softmax statistics, activations and the scheduler
// stay fp32.
import CKernels

public enum Precision: String, CaseIterable, Sendable {
    case fp32, bf16

    /// "auto" → bf16 where the CPU multiplies bf16 natively (through oneDNN) *and* faster than fp32
    /// (CPU.bf16OutrunsFP32), fp32 elsewhere; bf16 always halves weight memory, so `--precision bf16`
    /// stays the choice for memory on any CPU.
    public static func resolve(_ choice: String) -> Precision? {
        if choice == "auto" { return BF16GEMM.isNative && CPU.bf16OutrunsFP32 ? .bf16 : .fp32 }
        return Precision(rawValue: choice)
    }

    /// Why "auto" resolves as it does on this CPU, for `sdedit info`.
    public static var autoReason: String {
        if !BF16GEMM.isNative { return "no native bf16 here" }
        if CPU.bf16OutrunsFP32 { return CPU.hasAMX ? "AMX tiles" : "AVX512-BF16 outruns fp32 FMA on this core" }
        return "AVX512-BF16 without AMX is slower than fp32 FMA on Intel cores; --precision bf16 for half the memory"
    }
}

/// A weight tensor stored as bfloat16 bits (round to nearest even, as torch's .to(torch.bfloat16)).
public struct BF16Tensor {
    public let shape: [Int]
    public let storage: [UInt16]

    public init(shape: [Int], storage: [UInt16]) {
        precondition(Tensor.count(shape) == storage.count, "bf16 shape \(shape) needs \(Tensor.count(shape)) values")
        self.shape = shape
        self.storage = storage
    }

    /// How many values are NaN or ±Inf (exponent all ones).
    public var nonFiniteCount: Int { storage.withUnsafeBufferPointer { Int(sd_count_nonfinite_bf16($0.baseAddress, $0.count)) } }

    public init(_ t: Tensor) {
        shape = t.shape
        storage = t.withUnsafeBufferPointer { src in
            [UInt16](unsafeUninitializedCapacity: src.count) { dst, n in
                sd_f32_to_bf16(src.baseAddress!, dst.baseAddress!, src.count)
                n = src.count
            }
        }
    }

    /// The values widened back to fp32 (exact).
    public var float: Tensor {
        Tensor(shape: shape) { out in storage.withUnsafeBufferPointer { sd_bf16_to_f32($0.baseAddress!, out.baseAddress!, out.count) } }
    }
}

/// A linear [out, in] or conv [out, in, kh, kw] bf16 weight, held only in the blocked layout
/// oneDNN's bf16 matmul reads (packed once at load: see CKernels/dnnl.c), so no call re-packs it and
/// no plain copy is kept. A conv weight is packed as the linear weight [out, kh·kw·in] (taps-major:
/// K ordered (ky, kx, c), the order of CKernels' sd_im2row_bf16).
public final class PackedBF16Weight: @unchecked Sendable {
    public let shape: [Int]
    /// The GEMM's N (out) and K (in, or kh·kw·in).
    let n: Int, k: Int
    let handle: UnsafeMutableRawPointer

    /// nil unless bf16 GEMMs run natively here and oneDNN packs this shape.
    public init?(_ w: BF16Tensor) {
        guard w.shape.count == 2 || w.shape.count == 4, BF16GEMM.isNative else { return nil }
        let n = w.shape[0], k = w.storage.count / Swift.max(1, n)
        let rows = w.shape.count == 4 ? PackedBF16Weight.tapsMajor(w.storage, w.shape) : w.storage
        guard n > 0, k > 0,
              let h = rows.withUnsafeBufferPointer({ sd_dnnl_pack_weight(Int32(n), Int32(k), $0.baseAddress!) }) else { return nil }
        shape = w.shape
        (self.n, self.k) = (n, k)
        handle = h
    }
    deinit { sd_dnnl_packed_free(handle) }

    // [O, C, kh, kw] → [O, kh, kw, C]
    static func tapsMajor(_ s: [UInt16], _ shape: [Int]) -> [UInt16] {
        let (o, c, taps) = (shape[0], shape[1], shape[2] * shape[3])
        return [UInt16](unsafeUninitializedCapacity: s.count) { d, initialised in
            s.withUnsafeBufferPointer { src in
                let (src, dst) = (src.baseAddress!, d.baseAddress!)
                parallelChunks(o) { range in
                    for oi in range { for ci in 0..<c { for t in 0..<taps {
                        dst[(oi * taps + t) * c + ci] = src[(oi * c + ci) * taps + t]
                    } } }
                }
            }
            initialised = s.count
        }
    }

    /// The GEMM's [N, K] rows back, as packed (taps-major for a conv).
    var rows: [UInt16] {
        [UInt16](unsafeUninitializedCapacity: n * k) { buf, count in
            let st = sd_dnnl_unpack_weight(handle, Int32(n), Int32(k), buf.baseAddress!)
            precondition(st == 0, "oneDNN could not unpack a \(shape) weight (status \(st))")
            count = n * k
        }
    }

    /// The plain weight back, in its stored shape (exact: packing only moves values).
    public var plain: BF16Tensor {
        var rows = self.rows
        if shape.count == 4 {
            let (c, taps) = (shape[1], shape[2] * shape[3])
            var d = rows
            for oi in 0..<n { for ci in 0..<c { for t in 0..<taps { d[(oi * c + ci) * taps + t] = rows[(oi * taps + t) * c + ci] } } }
            rows = d
        }
        return BF16Tensor(shape: shape, storage: rows)
    }
}

/// An element a GEMM can take: Float (sgemm) or UInt16 holding bfloat16 bits (BF16GEMM). Lets one
/// conv2d/linear body serve both precisions.
protocol GemmOperand {
    static var zero: Self { get }
    /// Row-major C[M,N] = A·op(B) + beta·C; `parallel`: tiles on our threads, else on the caller's.
    static func gemm(parallel: Bool, transB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Self>, lda: Int,
                     b: UnsafePointer<Self>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int)
}

extension Float: GemmOperand {
    @inline(__always)
    static func gemm(parallel: Bool, transB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if parallel {
            BLAS.parallelSgemm(transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        } else {
            BLAS.sgemm(transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }
}

extension UInt16: GemmOperand {
    @inline(__always)
    static func gemm(parallel: Bool, transB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<UInt16>, lda: Int,
                     b: UnsafePointer<UInt16>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if parallel {
            BF16GEMM.gemm(transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        } else {
            BF16GEMM.tile(native: BF16GEMM.isNative, transA: false, transB: transB, m: m, n: n, k: k,
                          a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }
}

extension Tensor {
    /// The values rounded to bfloat16 and widened back (exact), as `x.to(torch.bfloat16).float()`.
    public var roundedToBF16: Tensor {
        Tensor(shape: shape) { out in withUnsafeBufferPointer { sd_round_bf16($0.baseAddress!, out.baseAddress!, out.count) } }
    }

    /// The values as bfloat16 bits.
    func bf16Bits() -> [UInt16] {
        withUnsafeBufferPointer { src in
            [UInt16](unsafeUninitializedCapacity: src.count) { dst, n in
                parallelChunks((src.count + 65535) / 65536) { range in
                    for c in range {
                        let lo = c * 65536, len = Swift.min(65536, src.count - lo)
                        sd_f32_to_bf16(src.baseAddress! + lo, dst.baseAddress! + lo, len)
                    }
                }
                n = src.count
            }
        }
    }
}
