// Normalization op family: GroupNorm (optionally fused with SiLU, as every diffusers resnet
// applies norm then SiLU) and LayerNorm over the last dimension. Biased variance, eps inside the sqrt.

extension Tensor {
    /// nn.GroupNorm on [N, C, ...]; weight/bias [C]. `silu` fuses the activation that follows.
    public func groupNorm(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float, silu: Bool = false) -> Tensor {
        let n = shape[0], c = shape[1]
        precondition(c % groups == 0, "groupNorm: \(c) channels in \(groups) groups")
        let spatial = count / (n * c)
        let cpg = c / groups
        let len = cpg * spatial
        var out = self
        out.withUnsafeMutableBufferPointer { o in
            let base = o.baseAddress!
            let gamma = weight?.storage, beta = bias?.storage
            parallelFor(n * groups) { ng in
                let p = base + ng * len
                var s = 0.0, ss = 0.0
                var i = 0
                var vs = SIMD8<Double>(repeating: 0), vss = SIMD8<Double>(repeating: 0)
                while i + 8 <= len {
                    let v = SIMD8<Double>(UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self))
                    vs += v
                    vss += v * v
                    i += 8
                }
                s = vs.sum(); ss = vss.sum()
                while i < len { let v = Double(p[i]); s += v; ss += v * v; i += 1 }
                let mean = s / Double(len)
                let varc = Swift.max(0, ss / Double(len) - mean * mean)
                let inv = Float(1 / (varc + Double(eps)).squareRoot())
                let g0 = (ng % groups) * cpg
                for ch in 0..<cpg {
                    let scale = inv * (gamma?[g0 + ch] ?? 1)
                    let shift = (beta?[g0 + ch] ?? 0) - Float(mean) * scale
                    let q = p + ch * spatial
                    if silu {
                        mapSIMD(q, q, spatial) { v in let y = v * scale + shift; return y * vsigmoid(y) }
                    } else {
                        mapSIMD(q, q, spatial) { v in v * scale + shift }
                    }
                }
            }
        }
        return out
    }

    /// nn.LayerNorm over the last dimension; weight/bias [D].
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        let d = dim(-1)
        let rows = count / d
        var out = self
        out.withUnsafeMutableBufferPointer { o in
            let base = o.baseAddress!
            let gamma = weight?.storage, beta = bias?.storage
            parallelChunks(rows, minChunk: 16) { r in
                for row in r {
                    let p = base + row * d
                    var s: Float = 0
                    for j in 0..<d { s += p[j] }
                    let mean = s / Float(d)
                    var v: Float = 0
                    for j in 0..<d { let t = p[j] - mean; v += t * t }
                    let inv = 1 / (v / Float(d) + eps).squareRoot()
                    if let g = gamma, let b = beta {
                        for j in 0..<d { p[j] = (p[j] - mean) * inv * g[j] + b[j] }
                    } else {
                        for j in 0..<d { p[j] = (p[j] - mean) * inv }
                    }
                }
            }
        }
        return out
    }
}
