// Tensor: Float32, row-major (C order), contiguous, value semantics (copy-on-write through Array).
// Layouts follow PyTorch (NCHW activations, OIHW conv weights, [out, in] linear weights) so
// checkpoint weights load without transposes.

public struct Tensor: Equatable, CustomStringConvertible {
    public private(set) var shape: [Int]
    public var storage: [Float]

    public init(shape: [Int], storage: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(Tensor.count(shape) == storage.count,
                     "shape \(shape) needs \(Tensor.count(shape)) values, got \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    /// Zero-filled tensor.
    public init(zeros shape: [Int]) {
        self.init(shape: shape, storage: [Float](repeating: 0, count: Tensor.count(shape)))
    }

    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, storage: [Float](repeating: value, count: Tensor.count(shape)))
    }

    /// Tensor whose values are written by `fill` into uninitialised memory (every slot must be set).
    public init(shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let n = Tensor.count(shape)
        let data = [Float](unsafeUninitializedCapacity: n) { buf, initialised in
            fill(buf)
            initialised = n
        }
        self.init(shape: shape, storage: data)
    }

    public static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    public var count: Int { storage.count }
    public var rank: Int { shape.count }

    public func dim(_ i: Int) -> Int { shape[i < 0 ? shape.count + i : i] }

    /// Strides (in elements) of the contiguous layout.
    public var strides: [Int] { Tensor.strides(shape) }

    public static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer(body)
    }

    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer(body)
    }

    /// Reinterpret the same values with another shape of equal count; one dimension may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let inferred = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != inferred }.reduce(1) { $0 * $1.element }
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            s[inferred] = count / known
        }
        precondition(Tensor.count(s) == count, "cannot reshape \(shape) to \(newShape)")
        var t = self
        t.shape = s
        return t
    }

    public var description: String {
        let head = storage.prefix(6).map { String(format: "%.5g", Double($0)) }.joined(separator: ", ")
        return "Tensor(\(shape), [\(head)\(count > 6 ? ", …" : "")])"
    }
}

import Foundation
