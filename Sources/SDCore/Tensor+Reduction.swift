// Reduction op family: sum / mean / max over one dimension, and whole-tensor statistics.
// Sums accumulate in Double so long reductions (VAE 512² planes) do not drift.
import CKernels

extension Tensor {
    public enum Reduction { case sum, mean, max, min }

    public func reduced(_ kind: Reduction, dim: Int, keepDim: Bool = false) -> Tensor {
        let d = dim < 0 ? rank + dim : dim
        let outer = shape[..<d].reduce(1, *), len = shape[d], inner = shape[(d + 1)...].reduce(1, *)
        var outShape = shape
        if keepDim { outShape[d] = 1 } else { outShape.remove(at: d) }
        return Tensor(shape: outShape) { o in
            self.withUnsafeBufferPointer { p in
                for i in 0..<outer {
                    for j in 0..<inner {
                        let base = i * len * inner + j
                        switch kind {
                        case .sum, .mean:
                            var s = 0.0
                            for k in 0..<len { s += Double(p[base + k * inner]) }
                            o[i * inner + j] = Float(kind == .mean ? s / Double(len) : s)
                        case .max:
                            var m = -Float.infinity
                            for k in 0..<len { m = Swift.max(m, p[base + k * inner]) }
                            o[i * inner + j] = m
                        case .min:
                            var m = Float.infinity
                            for k in 0..<len { m = Swift.min(m, p[base + k * inner]) }
                            o[i * inner + j] = m
                        }
                    }
                }
            }
        }
    }

    public func sum() -> Float { Float(storage.reduce(0.0) { $0 + Double($1) }) }
    public func mean() -> Float { count == 0 ? 0 : Float(storage.reduce(0.0) { $0 + Double($1) } / Double(count)) }
    public func maximum() -> Float { storage.max() ?? -.infinity }
    public func minimum() -> Float { storage.min() ?? .infinity }
}

extension Tensor {
    /// How many values are NaN or ±Inf (one pass, vectorised).
    public var nonFiniteCount: Int { withUnsafeBufferPointer(countNonFinite) }
}

/// How many values are NaN or ±Inf: one vectorised pass, split over the threads in blocks for large
/// buffers (a weight's finite check at load is a memory-bound pass one core cannot saturate).
public func countNonFinite(_ values: UnsafeBufferPointer<Float>) -> Int {
    let block = 1 << 18
    let blocks = (values.count + block - 1) / block
    guard blocks > 1 else { return values.isEmpty ? 0 : Int(sd_count_nonfinite(values.baseAddress!, values.count)) }
    var counts = [Int](repeating: 0, count: blocks)
    counts.withUnsafeMutableBufferPointer { c in
        let c = c.baseAddress!
        parallelChunks(blocks) { range in
            for b in range {
                let lo = b * block
                c[b] = Int(sd_count_nonfinite(values.baseAddress! + lo, Swift.min(block, values.count - lo)))
            }
        }
    }
    return counts.reduce(0, +)
}

