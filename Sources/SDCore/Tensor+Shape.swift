// Shape op family: permute, transpose, concat, slice (narrow), chunk, pad. All produce contiguous tensors.

extension Tensor {
    /// Reorder dimensions: result dim i is input dim `order[i]` (torch.permute).
    public func permuted(_ order: [Int]) -> Tensor {
        OpProfile.measure("permute") { () -> Tensor in
            precondition(order.count == rank && Set(order) == Set(0..<rank), "bad permutation \(order) for \(shape)")
            let outShape = order.map { shape[$0] }
            let inStrides = strides
            let srcStrides = order.map { inStrides[$0] }
            let r = rank
            if r == 0 { return self }
            let inner = outShape[r - 1], innerStride = srcStrides[r - 1]
            let rows = count / max(1, inner)
            return Tensor(shape: outShape) { o in
                self.withUnsafeBufferPointer { p in
                    parallelChunks(rows, minChunk: max(1, 4096 / max(1, inner))) { range in
                        for row in range {
                            var rem = row, off = 0
                            for d in stride(from: r - 2, through: 0, by: -1) {
                                off += (rem % outShape[d]) * srcStrides[d]
                                rem /= outShape[d]
                            }
                            let dst = o.baseAddress! + row * inner
                            if innerStride == 1 {
                                dst.update(from: p.baseAddress! + off, count: inner)
                            } else {
                                for j in 0..<inner { dst[j] = p[off + j * innerStride] }
                            }
                        }
                    }
                }
            }
        }
    }

    public func transposed(_ a: Int, _ b: Int) -> Tensor {
        var order = Array(0..<rank)
        let ia = a < 0 ? rank + a : a, ib = b < 0 ? rank + b : b
        order.swapAt(ia, ib)
        return permuted(order)
    }

    /// Concatenate along `dim` (torch.cat).
    public static func concat(_ parts: [Tensor], dim: Int) -> Tensor {
        OpProfile.measure("concat") { () -> Tensor in
            precondition(!parts.isEmpty, "concat of nothing")
            let r = parts[0].rank
            let d = dim < 0 ? r + dim : dim
            for p in parts {
                precondition(p.rank == r, "concat: ranks differ")
                for i in 0..<r where i != d {
                    precondition(p.shape[i] == parts[0].shape[i], "concat: \(p.shape) vs \(parts[0].shape) along \(d)")
                }
            }
            var outShape = parts[0].shape
            outShape[d] = parts.reduce(0) { $0 + $1.shape[d] }
            let outer = parts[0].shape[..<d].reduce(1, *)
            let innerOut = outShape[d...].reduce(1, *)
            return Tensor(shape: outShape) { o in
                var offset = 0
                for p in parts {
                    let block = p.shape[d...].reduce(1, *)
                    p.withUnsafeBufferPointer { src in
                        for i in 0..<outer {
                            (o.baseAddress! + i * innerOut + offset).update(from: src.baseAddress! + i * block, count: block)
                        }
                    }
                    offset += block
                }
            }
        }
    }

    /// Elements start..<start+length along `dim` (torch.narrow), copied.
    public func narrowed(dim: Int, start: Int, length: Int) -> Tensor {
        let d = dim < 0 ? rank + dim : dim
        precondition(start >= 0 && length >= 0 && start + length <= shape[d], "narrow \(start)+\(length) out of \(shape[d])")
        var outShape = shape
        outShape[d] = length
        let outer = shape[..<d].reduce(1, *)
        let inner = shape[(d + 1)...].reduce(1, *)
        return Tensor(shape: outShape) { o in
            self.withUnsafeBufferPointer { p in
                for i in 0..<outer {
                    (o.baseAddress! + i * length * inner).update(
                        from: p.baseAddress! + (i * shape[d] + start) * inner, count: length * inner)
                }
            }
        }
    }

    /// Split into `n` equal parts along `dim` (torch.chunk with an even split).
    public func chunked(_ n: Int, dim: Int) -> [Tensor] {
        let d = dim < 0 ? rank + dim : dim
        precondition(shape[d] % n == 0, "chunk: \(shape[d]) not divisible by \(n)")
        let len = shape[d] / n
        return (0..<n).map { narrowed(dim: d, start: $0 * len, length: len) }
    }

    /// Zero (or constant) padding of the last two dims of an NCHW tensor (F.pad with (l, r, t, b)).
    public func padded2D(left: Int, right: Int, top: Int, bottom: Int, value: Float = 0) -> Tensor {
        precondition(rank >= 2)
        let h = dim(-2), w = dim(-1)
        let oh = h + top + bottom, ow = w + left + right
        var outShape = shape
        outShape[rank - 2] = oh
        outShape[rank - 1] = ow
        let planes = count / max(1, h * w)
        var out = Tensor(repeating: value, shape: outShape)
        out.withUnsafeMutableBufferPointer { o in
            self.withUnsafeBufferPointer { p in
                for c in 0..<planes {
                    for y in 0..<h {
                        (o.baseAddress! + c * oh * ow + (y + top) * ow + left)
                            .update(from: p.baseAddress! + c * h * w + y * w, count: w)
                    }
                }
            }
        }
        return out
    }

    /// Repeat along dim 0 (CFG duplication of conditioning): [B, ...] -> [B·n, ...] as torch.cat([x]*n).
    public func repeatedBatch(_ n: Int) -> Tensor { Tensor.concat(Array(repeating: self, count: n), dim: 0) }
}
