// Attention op family: scaled-dot-product attention on [B, T, H·D] tensors (the layout the
// projections produce), heads addressed through row strides so nothing is permuted.
// The kernel is CKernels' fused (flash-style) attention: scores exist only as one 64×128 block per
// thread, never as a [Tq, Tk] matrix (SD2 at 512²: 64 MiB per head; the x4 VAE mid-block at 128²:
// 1 GiB). Work is split over heads, and over query ranges when there are fewer heads than threads;
// never over keys, so each output is the same whatever the thread count.
import CKernels

extension Tensor {
    /// softmax(Q·Kᵀ·scale [+ causal mask])·V per head. q [B, Tq, H·D], k [B, Tk, H·D], v [B, Tk, H·Dv].
    /// Returns [B, Tq, H·Dv]. `scale` defaults to 1/√D as F.scaled_dot_product_attention.
    public static func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, scale: Float? = nil,
                                 causal: Bool = false) -> Tensor {
        OpProfile.measure("attention") { () -> Tensor in
            let b = q.dim(0), tq = q.dim(1), tk = k.dim(1)
            let dq = q.dim(2) / heads, dv = v.dim(2) / heads
            precondition(q.rank == 3 && k.rank == 3 && v.rank == 3 && heads > 0 && tk > 0
                         && q.dim(2) == heads * dq && k.dim(2) == heads * dq && v.dim(2) == heads * dv
                         && k.dim(0) == b && v.dim(0) == b && v.dim(1) == tk,
                         "attention: q \(q.shape), k \(k.shape), v \(v.shape), heads \(heads)")
            let alpha = scale ?? 1 / Float(dq).squareRoot()
            let qs = heads * dq, vs = heads * dv
            let heads2 = b * heads
            // Fewer heads than threads (the VAE's single head): split each head's queries as well.
            let splits = heads2 >= Threads.count ? 1 : Swift.min(Threads.count, Swift.max(1, tq / 64))
            let per = (tq + splits - 1) / splits
            let scratchCount = sd_attention_scratch_floats(Int32(tk), Int32(dq), Int32(dv))
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
                            sd_attention_head(isa,
                                              pq.baseAddress! + bi * tq * qs + h * dq,
                                              pk.baseAddress! + bi * tk * qs + h * dq,
                                              pv.baseAddress! + bi * tk * vs + h * dv,
                                              o.baseAddress! + bi * tq * vs + h * dv,
                                              Int32(tq), Int32(tk), Int32(dq), Int32(dv), qs, qs, vs, vs,
                                              alpha, causal ? 1 : 0, Int32(q0), Int32(q1), scratch)
                        }
                    }
                } } }
            }
        }
    }
}
