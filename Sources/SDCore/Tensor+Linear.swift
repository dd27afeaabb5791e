// Matrix op family on sgemm (BLAS.parallelSgemm: shape-fixed tiles on our threads): matmul (batched,
// with broadcasting of a 2-D right side) and linear (fp32 or bf16 weights: LayerWeight).

extension Tensor {
    /// nn.Linear: x [..., in] · Wᵀ [in, out] + bias [out]; weight is [out, in] as in PyTorch.
    public func linear(weight: Tensor, bias: Tensor?) -> Tensor { linear(weight: LayerWeight(weight), bias: bias) }

    /// nn.Linear with the weight in its stored precision; bf16 rounds x to bf16 (fp32 accumulation).
    public func linear(weight: LayerWeight, bias: Tensor?) -> Tensor {
        OpProfile.measure("linear", shape: ("\(count / Swift.max(1, dim(-1)))×\(weight.shape[1])→\(weight.shape[0])",
                                            2 * Double(count) * Double(weight.shape[0]))) {
            switch weight.storage {
            case .fp32, .mapped:
                return weight.withFloats { linearImpl(x: storage, weight: $0.baseAddress!, shape: weight.shape, bias: bias) }!
            case .bf16(let w): return w.storage.withUnsafeBufferPointer { linearImpl(x: bf16Bits(), weight: $0.baseAddress!, shape: w.shape, bias: bias) }
            case .bf16Packed(let w): return linearPacked(x: bf16Bits(), weight: w, bias: bias)
            }
        }
    }

    /// torch.matmul for [..., M, K] × [..., K, N] (equal batch dims) or × [K, N].
    public func matmul(_ b: Tensor, transposeB: Bool = false) -> Tensor {
        let m = dim(-2), k = dim(-1)
        let kb = transposeB ? b.dim(-1) : b.dim(-2), n = transposeB ? b.dim(-2) : b.dim(-1)
        precondition(k == kb, "matmul: \(shape) × \(b.shape)\(transposeB ? "ᵀ" : "")")
        let batch = count / (m * k)
        let bBatch = b.count / (kb * n)
        precondition(bBatch == 1 || bBatch == batch, "matmul: batch \(shape) vs \(b.shape)")
        var outShape = Array(shape.dropLast())
        outShape.append(n)
        return Tensor(shape: outShape) { o in
            self.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                if bBatch == 1 {
                    // Fold the batch into M: one large GEMM.
                    BLAS.parallelSgemm(transB: transposeB, m: batch * m, n: n, k: k, a: pa.baseAddress!, lda: k,
                               b: pb.baseAddress!, ldb: transposeB ? k : n, c: o.baseAddress!, ldc: n)
                } else {
                    for i in 0..<batch {
                        BLAS.parallelSgemm(transB: transposeB, m: m, n: n, k: k,
                                   a: pa.baseAddress! + i * m * k, lda: k,
                                   b: pb.baseAddress! + i * k * n, ldb: transposeB ? k : n,
                                   c: o.baseAddress! + i * m * n, ldc: n)
                    }
                }
            } }
        }
    }

    // x: [rows, in] (self's shape, values as T), weight: [out, in] → [..., out]
    func linearImpl<T: GemmOperand>(x: [T], weight: UnsafePointer<T>, shape wShape: [Int], bias: Tensor?) -> Tensor {
        let inF = dim(-1), outF = wShape[0]
        precondition(wShape.count == 2 && wShape[1] == inF, "linear: input \(shape), weight \(wShape)")
        let rows = count / inF
        var outShape = shape
        outShape[rank - 1] = outF
        return Tensor(shape: outShape) { o in
            if let bias = bias {
                bias.withUnsafeBufferPointer { pb in
                    for r in 0..<rows { (o.baseAddress! + r * outF).update(from: pb.baseAddress!, count: outF) }
                }
            }
            x.withUnsafeBufferPointer { px in
                T.gemm(parallel: true, transB: true, m: rows, n: outF, k: inF, a: px.baseAddress!, lda: inF,
                       b: weight, ldb: inF, beta: bias == nil ? 0 : 1, c: o.baseAddress!, ldc: outF)
            }
        }
    }
}

extension Tensor {
    // x: [rows, in] as bf16 bits (self's shape), weight: packed [out, in] → [..., out]
    func linearPacked(x: [UInt16], weight: PackedBF16Weight, bias: Tensor?) -> Tensor {
        let inF = dim(-1), outF = weight.shape[0]
        precondition(weight.shape[1] == inF, "linear: input \(shape), weight \(weight.shape)")
        let rows = count / inF
        var outShape = shape
        outShape[rank - 1] = outF
        return Tensor(shape: outShape) { o in
            x.withUnsafeBufferPointer { px in
                if let bias = bias {
                    bias.withUnsafeBufferPointer { BF16GEMM.gemmPacked(m: rows, a: px.baseAddress!, weight: weight, bias: $0.baseAddress!, c: o.baseAddress!) }
                } else {
                    BF16GEMM.gemmPacked(m: rows, a: px.baseAddress!, weight: weight, bias: nil, c: o.baseAddress!)
                }
            }
        }
    }
}
