// Attention op family: scaled-dot-product attention on [B, T, H·D] tensors (the layout the
// projections produce), heads addressed through row strides so nothing is permuted.
// The kernel is CKernels' fused (flash-style) attention: scores exist only as one ≤ 64×128 block per
// thread, never as a [Tq, Tk] matrix (SD2 at 512²: 64 MiB per head; the x4 VAE mid-block at 128²:
// 1 GiB). Work is split over heads, and over query ranges when there are fewer heads than threads or
// the threads do not divide them; never over keys, so each output is the same whatever the thread count.
// In bf16 (a bf16 model's attention, as torch.autocast runs scaled_dot_product_attention in bf16):
// Q, K, V and the softmax numerators are rounded to bf16 and both products accumulate in fp32 — on
// AMX tiles or AVX512-BF16 registers where the CPU has them (CKernels/attention_bf16.c), else the
// fp32 kernel on the rounded values (same inputs to every product; only the summation order differs).
import CKernels

/// Which kernel a bf16 attention runs here: the best the CPU has, chosen at run time.
public enum BF16Attention {
    public enum Kernel: String, CaseIterable, Sendable {
        case amx = "AMX tiles", dpbf16 = "AVX512-BF16 (VDPBF16PS)", portable = "portable"
    }
    static let amx = sd_amx_enable() == 1
    /// The kernels this process can run, best first (SDEDIT_MAX_ISA below AVX-512 leaves only portable).
    public static var available: [Kernel] {
        (CPU.isa >= .avx512 && amx ? [.amx] : []) + (CPU.isa >= .avx512 && CPU.info.avx512_bf16 != 0 ? [.dpbf16] : []) + [.portable]
    }
    /// The plan's kernel where it is available (tests pin each one), else the best.
    public static var kernel: Kernel { Backend.plan.bf16Attention.flatMap { available.contains($0) ? $0 : nil } ?? available[0] }
    public static var isNative: Bool { kernel != .portable }
    public static var summary: String {
        let capped = CPU.info.avx512_bf16 != 0 && CPU.isa < .avx512 ? " (capped by SDEDIT_MAX_ISA)" : ""
        return isNative ? "native, \(kernel.rawValue)" : "portable: fp32 kernel on bf16-rounded values" + capped
    }
}

extension Tensor {
    /// softmax(Q·Kᵀ·scale [+ causal mask])·V per head. q [B, Tq, H·D], k [B, Tk, H·D], v [B, Tk, H·Dv].
    /// Returns [B, Tq, H·Dv]. `scale` defaults to 1/√D as F.scaled_dot_product_attention.
    public static func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, scale: Float? = nil,
                                 causal: Bool = false, precision: Precision = .fp32) -> Tensor {
        OpProfile.measure("attention") { () -> Tensor in
            let kernel: BF16Attention.Kernel? = precision == .bf16 ? BF16Attention.kernel : nil
            let native = kernel == .amx || kernel == .dpbf16
            // Portable bf16: the fp32 kernel on rounded inputs, numerators rounded inside it.
            let (q, k, v) = kernel == .portable ? (q.roundedToBF16, k.roundedToBF16, v.roundedToBF16) : (q, k, v)
            let b = q.dim(0), tq = q.dim(1), tk = k.dim(1)
            let dq = q.dim(2) / heads, dv = v.dim(2) / heads
            precondition(q.rank == 3 && k.rank == 3 && v.rank == 3 && heads > 0 && tk > 0
                         && q.dim(2) == heads * dq && k.dim(2) == heads * dq && v.dim(2) == heads * dv
                         && k.dim(0) == b && v.dim(0) == b && v.dim(1) == tk,
                         "attention: q \(q.shape), k \(k.shape), v \(v.shape), heads \(heads)")
            let alpha = scale ?? 1 / Float(dq).squareRoot()
            let qs = heads * dq, vs = heads * dv
            let heads2 = b * heads
            // Jobs in a whole multiple of the threads where the queries allow: with fewer heads than
            // threads (the VAE's single head) or a count the threads do not divide (SD 2.x's 5 heads
            // without CFG: 3 against 2) each head's queries are split as well.
            let t = Threads.count
            var g = t, r = heads2 % t
            while r != 0 { (g, r) = (r, g % r) }   // g = gcd(heads2, t)
            let splits = Swift.min(heads2 >= t ? t / g : t, Swift.max(1, tq / 64))
            let per = (tq + splits - 1) / splits
            let scratchCount = native ? (sd_attention_bf16_scratch_bytes(Int32(tk), Int32(dq), Int32(dv)) + 3) / 4
                                   : sd_attention_scratch_floats(Int32(tk), Int32(dq), Int32(dv))
            let isa = CPU.isa.rawValue
            return Tensor(shape: [b, tq, vs]) { o in
                q.withUnsafeBufferPointer { pq in k.withUnsafeBufferPointer { pk in v.withUnsafeBufferPointer { pv in
                    parallelChunks(heads2 * splits) { jobs in
                        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
                        defer { scratch.deallocate() }
                        for job in jobs {
                            let head = job / splits, part = job % splits
                            let bi = head / heads, h = head % heads
                            let q0 = part * per, q1 = Swift.min(tq, q0 + per)
                            if q0 >= q1 { continue }
                            let (qp, kp, vp) = (pq.baseAddress! + bi * tq * qs + h * dq, pk.baseAddress! + bi * tk * qs + h * dq,
                                                pv.baseAddress! + bi * tk * vs + h * dv)
                            let op = o.baseAddress! + bi * tq * vs + h * dv
                            if kernel == .amx {
                                sd_attention_head_amx(qp, kp, vp, op, Int32(tk), Int32(dq), Int32(dv), qs, qs, vs, vs,
                                                      alpha, causal ? 1 : 0, Int32(q0), Int32(q1), scratch)
                            } else if kernel == .dpbf16 {
                                sd_attention_head_dpbf16(qp, kp, vp, op, Int32(tk), Int32(dq), Int32(dv), qs, qs, vs, vs,
                                                         alpha, causal ? 1 : 0, Int32(q0), Int32(q1), scratch)
                            } else {
                                sd_attention_head(isa, qp, kp, vp, op, Int32(tq), Int32(tk), Int32(dq), Int32(dv), qs, qs, vs, vs,
                                                  alpha, causal ? 1 : 0, precision == .bf16 ? 1 : 0, Int32(q0), Int32(q1), scratch)
                            }
                        }
                    }
                } } }
            }
        }
    }
}
