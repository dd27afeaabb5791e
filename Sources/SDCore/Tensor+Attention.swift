// Attention op family: scaled-dot-product attention on [B, T, H·D] tensors (the layout the
// projections produce), heads addressed through sgemm leading dimensions so nothing is permuted.
// Work is split by head across our threads, each running single-threaded sgemm on its own score
// block (no hand-off between OpenBLAS's pool and ours), and queries go in chunks so at most
// `Tuning.attentionScoreFloats` scores per thread exist at once (SD2 at 512²: a full 4096×4096 head
// would be 64 MiB; 768² would be 324 MiB).

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
        let geo = AttentionGeometry(tq: tq, tk: tk, dq: dq, dv: dv, qs: heads * dq, vs: heads * dv,
                                    alpha: scale ?? 1 / Float(dq).squareRoot(), causal: causal)
        let chunk = Swift.max(1, Swift.min(tq, Tuning.attentionScoreFloats / Swift.max(1, tk)))
        let jobs = b * heads
        return Tensor(shape: [b, tq, geo.vs]) { o in
            q.withUnsafeBufferPointer { pq in k.withUnsafeBufferPointer { pk in v.withUnsafeBufferPointer { pv in
                func head(_ job: Int, scores: UnsafeMutablePointer<Float>, rowsParallel: Bool) {
                    let bi = job / heads, h = job % heads
                    attentionHead(geo,
                                  q: pq.baseAddress! + bi * tq * geo.qs + h * dq,
                                  k: pk.baseAddress! + bi * tk * geo.qs + h * dq,
                                  v: pv.baseAddress! + bi * tk * geo.vs + h * dv,
                                  out: o.baseAddress! + bi * tq * geo.vs + h * dv,
                                  scores: scores, chunk: chunk, rowsParallel: rowsParallel)
                }
                if jobs >= Threads.count && Threads.count > 1 {
                    // One head per task, sgemm single-threaded inside.
                    BLAS.singleThreaded {
                        parallelChunks(jobs) { range in
                            let scores = UnsafeMutablePointer<Float>.allocate(capacity: chunk * tk)
                            defer { scores.deallocate() }
                            for job in range { head(job, scores: scores, rowsParallel: false) }
                        }
                    }
                } else {
                    let scores = UnsafeMutablePointer<Float>.allocate(capacity: chunk * tk)
                    defer { scores.deallocate() }
                    for job in 0..<jobs { head(job, scores: scores, rowsParallel: true) }
                }
            } } }
        }
    }
}

struct AttentionGeometry {
    let tq: Int, tk: Int, dq: Int, dv: Int, qs: Int, vs: Int
    let alpha: Float
    let causal: Bool
}

/// One head: for each query chunk, S = Q·Kᵀ·alpha, masked softmax by row, O = S·V.
// q: [Tq, Dq] (row stride qs), k: [Tk, Dq] (qs), v: [Tk, Dv] (vs), out: [Tq, Dv] (vs)
func attentionHead(_ g: AttentionGeometry, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                   v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                   scores: UnsafeMutablePointer<Float>, chunk: Int, rowsParallel: Bool) {
    var q0 = 0
    while q0 < g.tq {
        let rows = Swift.min(chunk, g.tq - q0)
        BLAS.sgemm(transB: true, m: rows, n: g.tk, k: g.dq, alpha: g.alpha,
                   a: q + q0 * g.qs, lda: g.qs, b: k, ldb: g.qs, c: scores, ldc: g.tk)
        let start = q0
        let softmaxRows = { (r: Range<Int>) in
            for i in r {
                let row = scores + i * g.tk
                if g.causal {
                    let last = start + i
                    if last + 1 < g.tk { (row + last + 1).update(repeating: -.infinity, count: g.tk - last - 1) }
                }
                softmaxRow(row, g.tk)
            }
        }
        if rowsParallel { parallelChunks(rows, minChunk: 4, softmaxRows) } else { softmaxRows(0..<rows) }
        BLAS.sgemm(m: rows, n: g.dv, k: g.tk, a: scores, lda: g.tk, b: v, ldb: g.vs, c: out + q0 * g.vs, ldc: g.vs)
        q0 += rows
    }
}
