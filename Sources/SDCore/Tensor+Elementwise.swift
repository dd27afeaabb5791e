// Elementwise op family: broadcasting binary ops (NumPy/PyTorch rules), scalar ops, activations
// (SiLU, exact GELU, GEGLU), softmax over the last dimension (CKernels, per-ISA).
import CKernels

public enum BinaryOp { case add, sub, mul, div }

extension Tensor {
    /// Shape that results from broadcasting two shapes, or nil when they do not broadcast.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let r = max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.count ? 1 : a[i - (r - a.count)]
            let db = i < r - b.count ? 1 : b[i - (r - b.count)]
            if da != db && da != 1 && db != 1 { return nil }
            out[i] = da == 1 ? db : da
        }
        return out
    }

    @inline(__always)
    static func apply(_ op: BinaryOp, _ x: Float, _ y: Float) -> Float {
        switch op {
        case .add: return x + y
        case .sub: return x - y
        case .mul: return x * y
        case .div: return x / y
        }
    }

    /// Broadcasting binary op. Shapes are aligned from the right, as in PyTorch.
    public static func binary(_ a: Tensor, _ b: Tensor, _ op: BinaryOp) -> Tensor {
        OpProfile.measure("binary") { () -> Tensor in
            guard let outShape = broadcastShape(a.shape, b.shape) else {
                preconditionFailure("shapes \(a.shape) and \(b.shape) do not broadcast")
            }
            let n = Tensor.count(outShape)
            if a.shape == b.shape {
                return Tensor(shape: outShape) { o in
                    a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                        parallelChunks(n, minChunk: 1 << 15) { r in
                            switch op {
                            case .add: for i in r { o[i] = pa[i] + pb[i] }
                            case .sub: for i in r { o[i] = pa[i] - pb[i] }
                            case .mul: for i in r { o[i] = pa[i] * pb[i] }
                            case .div: for i in r { o[i] = pa[i] / pb[i] }
                            }
                        }
                    } }
                }
            }
            // General case: view both as [outer, mid, inner] runs. Pad shapes to the output rank and
            // walk the output with an odometer, the innermost dimension as a tight loop.
            let r = outShape.count
            let sa = paddedStrides(a.shape, rank: r), sb = paddedStrides(b.shape, rank: r)
            let inner = outShape[r - 1]
            let ia = sa[r - 1], ib = sb[r - 1]
            let rows = n / max(1, inner)
            return Tensor(shape: outShape) { o in
                a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                    parallelChunks(rows, minChunk: max(1, (1 << 14) / max(1, inner))) { range in
                        for row in range {
                            var rem = row, offA = 0, offB = 0
                            for d in stride(from: r - 2, through: 0, by: -1) {
                                let idx = rem % outShape[d]
                                rem /= outShape[d]
                                offA += idx * sa[d]
                                offB += idx * sb[d]
                            }
                            let base = row * inner
                            for j in 0..<inner {
                                o[base + j] = apply(op, pa[offA + j * ia], pb[offB + j * ib])
                            }
                        }
                    }
                } }
            }
        }
    }

    /// Contiguous strides, with 0 for broadcast (size-1 or missing) dimensions, padded to `rank`.
    static func paddedStrides(_ shape: [Int], rank: Int) -> [Int] {
        let s = Tensor.strides(shape)
        var out = [Int](repeating: 0, count: rank)
        for i in 0..<shape.count where shape[i] != 1 {
            out[rank - shape.count + i] = s[i]
        }
        return out
    }

    /// y = f(x) elementwise, SIMD.
    public func map(_ f: (Vec) -> Vec) -> Tensor {
        OpProfile.measure("elementwise") { () -> Tensor in
            Tensor(shape: shape) { o in
                self.withUnsafeBufferPointer { p in
                    parallelChunks(count, minChunk: 1 << 14) { r in
                        mapSIMD(p.baseAddress! + r.lowerBound, o.baseAddress! + r.lowerBound, r.count, f)
                    }
                }
            }
        }
    }

    public func silu() -> Tensor { unary(SD_UNARY_SILU, "silu") }
    public func gelu() -> Tensor { unary(SD_UNARY_GELU, "gelu") }
    public func sigmoid() -> Tensor { unary(SD_UNARY_SIGMOID, "sigmoid") }
    public func exp() -> Tensor { unary(SD_UNARY_EXP, "exp") }

    /// The transcendental activations run in CKernels, compiled per ISA and chosen at run time.
    func unary(_ op: Int, _ name: String) -> Tensor {
        OpProfile.measure(name) { () -> Tensor in
            let isa = CPU.isa.rawValue
            return Tensor(shape: shape) { o in
                self.withUnsafeBufferPointer { p in
                    parallelChunks(count, minChunk: 1 << 14) { r in
                        sd_unary(isa, Int32(op), p.baseAddress! + r.lowerBound, o.baseAddress! + r.lowerBound, r.count)
                    }
                }
            }
        }
    }

    /// GEGLU as diffusers' `GEGLU.forward`: split the last dim in two halves (x, gate), x·GELU(gate).
    public func geglu() -> Tensor {
        OpProfile.measure("geglu") { () -> Tensor in
            let d2 = dim(-1), d = d2 / 2
            precondition(d2 % 2 == 0, "GEGLU needs an even last dimension, got \(shape)")
            var outShape = shape
            outShape[outShape.count - 1] = d
            let rows = count / d2
            let isa = CPU.isa.rawValue
            return Tensor(shape: outShape) { o in
                self.withUnsafeBufferPointer { p in
                    parallelChunks(rows, minChunk: 16) { r in
                        sd_geglu_rows(isa, p.baseAddress! + r.lowerBound * d2, o.baseAddress! + r.lowerBound * d, r.count, d)
                    }
                }
            }
        }
    }

    /// Softmax over the last dimension (max-subtracted, as torch).
    public func softmax() -> Tensor {
        var out = self
        let d = dim(-1)
        out.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            let isa = CPU.isa.rawValue
            parallelChunks(count / max(1, d), minChunk: 8) { r in
                sd_softmax_rows(isa, base + r.lowerBound * d, r.count, d)
            }
        }
        return out
    }

    /// max(x, 0), torch.relu (NaN stays NaN). In CKernels: Swift's generic SIMD max scalarises on
    /// the baseline target, and TAESD runs a ReLU over every 64-channel full-size feature map.
    public func relu() -> Tensor { unary(SD_UNARY_RELU, "relu") }

    public func clamped(_ lo: Float, _ hi: Float) -> Tensor {
        map { pointwiseMin(pointwiseMax($0, Vec(repeating: lo)), Vec(repeating: hi)) }
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .add) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .sub) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .mul) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { binary(a, b, .div) }
    public static func + (a: Tensor, s: Float) -> Tensor { a.map { $0 + s } }
    public static func - (a: Tensor, s: Float) -> Tensor { a.map { $0 - s } }
    public static func * (a: Tensor, s: Float) -> Tensor { a.map { $0 * s } }
    public static func / (a: Tensor, s: Float) -> Tensor { a.map { $0 / s } }
    public static func * (s: Float, a: Tensor) -> Tensor { a.map { $0 * s } }
    public static prefix func - (a: Tensor) -> Tensor { a.map { -$0 } }

    /// In-place a += b for equal shapes (residual connections without a new allocation).
    public mutating func add(_ b: Tensor, scale: Float = 1) {
        OpProfile.measure("add") { () -> Void in
            precondition(shape == b.shape, "add: \(shape) vs \(b.shape)")
            let n = count
            withUnsafeMutableBufferPointer { o in
                b.withUnsafeBufferPointer { pb in
                    parallelChunks(n, minChunk: 1 << 15) { r in
                        for i in r { o[i] += scale * pb[i] }
                    }
                }
            }
        }
    }
}

import Foundation
