// Normalization op family: GroupNorm (optionally fused with SiLU, as every diffusers resnet
// applies norm then SiLU; the per-group kernel is CKernels', chosen per ISA) and LayerNorm over the
// last dimension. Biased variance, eps inside the sqrt.
import CKernels

extension Tensor {
    /// nn.GroupNorm on [N, C, ...]; weight/bias [C]. `silu` fuses the activation that follows.
    public func groupNorm(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float, silu: Bool = false) -> Tensor {
        OpProfile.measure("groupNorm") { () -> Tensor in
            let n = shape[0], c = shape[1]
            precondition(c % groups == 0, "groupNorm: \(c) channels in \(groups) groups")
            let spatial = count / (n * c)
            let cpg = c / groups
            let len = cpg * spatial
            var out = self
            let isa = CPU.isa.rawValue
            out.withUnsafeMutableBufferPointer { o in
                let base = o.baseAddress!
                weight.withOptionalPointer { gamma in bias.withOptionalPointer { beta in
                    parallelFor(n * groups) { ng in
                        let g0 = (ng % groups) * cpg
                        sd_groupnorm_group(isa, base + ng * len, spatial, cpg, gamma.map { $0 + g0 }, beta.map { $0 + g0 },
                                           eps, silu ? 1 : 0)
                    }
                } }
            }
            return out
        }
    }

    /// nn.LayerNorm over the last dimension; weight/bias [D].
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        OpProfile.measure("layerNorm") { () -> Tensor in
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
}

extension Optional where Wrapped == Tensor {
    /// The tensor's base address, or nil, for C kernels whose affine parameters are optional.
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let t = self else { return body(nil) }
        return t.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
