// Attention op family: scaled-dot-product attention on [B, T, H·D] tensors (the layout the
// projections produce), heads addressed through sgemm leading dimensions so nothing is permuted.
// Queries are processed in chunks so at most `chunk × Tk` scores exist at once
// (SD2 at 512²: 4096×4096 per head would be 64 MiB per head; 768² would be 324 MiB).

extension Tensor {
    /// softmax(Q·Kᵀ·scale [+ causal mask])·V per head. q [B, Tq, H·D], k [B, Tk, H·D], v [B, Tk, H·Dv].
    /// Returns [B, Tq, H·Dv]. `scale` defaults to 1/√D as F.scaled_dot_product_attention.
    public static func attention(q: Tensor, k: Tensor, v: Tensor, heads: Int, scale: Float? = nil,
                                 causal: Bool = false) -> Tensor {
        let b = q.dim(0), tq = q.dim(1), tk = k.dim(1)
        let dq = q.dim(2) / heads, dv = v.dim(2) / heads
        precondition(q.dim(2) == heads * dq && k.dim(2) == heads * dq && v.dim(2) == heads * dv
                     && k.dim(0) == b && v.dim(0) == b && v.dim(1) == tk,
                     "attention: q \(q.shape), k \(k.shape), v \(v.shape), heads \(heads)")
        let alpha = scale ?? 1 / Float(dq).squareRoot()
        let chunk = Swift.max(1, Swift.min(tq, Tuning.attentionScoreFloats / Swift.max(1, tk)))
        let qs = heads * dq, vs = heads * dv
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: chunk * tk)
        defer { scores.deallocate() }
        return Tensor(shape: [b, tq, vs]) { o in
            q.withUnsafeBufferPointer { pq in k.withUnsafeBufferPointer { pk in v.withUnsafeBufferPointer { pv in
                for bi in 0..<b { for h in 0..<heads {
                    let qh = pq.baseAddress! + bi * tq * qs + h * dq
                    let kh = pk.baseAddress! + bi * tk * qs + h * dq
                    let vh = pv.baseAddress! + bi * tk * vs + h * dv
                    let oh = o.baseAddress! + bi * tq * vs + h * dv
                    var q0 = 0
                    while q0 < tq {
                        let rows = Swift.min(chunk, tq - q0)
                        // S [rows, Tk] = Q[q0..] · Kᵀ · alpha
                        BLAS.sgemm(transB: true, m: rows, n: tk, k: dq, alpha: alpha,
                                   a: qh + q0 * qs, lda: qs, b: kh, ldb: qs, c: scores, ldc: tk)
                        let start = q0
                        parallelChunks(rows, minChunk: 4) { r in
                            for i in r {
                                let row = scores + i * tk
                                if causal {
                                    let last = start + i
                                    if last + 1 < tk { (row + last + 1).update(repeating: -.infinity, count: tk - last - 1) }
                                }
                                softmaxRow(row, tk)
                            }
                        }
                        // O[q0..] [rows, Dv] = S · V
                        BLAS.sgemm(m: rows, n: dv, k: tk, a: scores, lda: tk, b: vh, ldb: vs,
                                   c: oh + q0 * vs, ldc: vs)
                        q0 += rows
                    }
                } }
            } } }
        }
    }
}
