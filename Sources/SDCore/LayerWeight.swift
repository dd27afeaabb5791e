// The weight a GEMM-backed layer (Linear, Conv2d) owns, in the form the run uses: fp32 values owned
// or read in place from the mapped checkpoint, bf16 (packed where bf16 GEMMs are native). Forms
// derived from it for one kernel (a Winograd-transformed filter, …) are built once, where first
// used, and kept with the layer: nothing is prepared for a layer a run never calls.
import Foundation

public final class LayerWeight: @unchecked Sendable {
    public enum Storage {
        /// Owned fp32 values (computed, merged, reshaped, or not aligned in the file).
        case fp32(Tensor)
        /// fp32 values in the mapped safetensors file: no copy, the pages stay shared with the page cache.
        case mapped(MappedFloats)
        case bf16(BF16Tensor)
        case bf16Packed(PackedBF16Weight)
    }

    public let storage: Storage
    public let shape: [Int]
    private let lock = NSLock()
    private var preparedForms: [String: Any] = [:]

    public init(storage: Storage) {
        self.storage = storage
        switch storage {
        case .fp32(let t): shape = t.shape
        case .mapped(let m): shape = m.shape
        case .bf16(let t): shape = t.shape
        case .bf16Packed(let p): shape = p.shape
        }
    }

    public convenience init(_ t: Tensor, precision: Precision = .fp32) {
        if precision == .bf16 { self.init(bf16: BF16Tensor(t)) } else { self.init(storage: .fp32(t)) }
    }

    /// A bf16 weight as the kernels want it: packed where bf16 GEMMs are native.
    public convenience init(bf16 w: BF16Tensor) {
        if let p = PackedBF16Weight(w) { self.init(storage: .bf16Packed(p)) } else { self.init(storage: .bf16(w)) }
    }

    public var precision: Precision {
        switch storage { case .fp32, .mapped: return .fp32; case .bf16, .bf16Packed: return .bf16 }
    }

    /// The weight as fp32 values (for bf16, the rounded values), as an owned tensor.
    public var float: Tensor {
        switch storage {
        case .fp32(let t): return t
        case .mapped(let m): return m.tensor
        case .bf16(let t): return t.float
        case .bf16Packed(let p): return p.plain.float
        }
    }

    /// `body` on the fp32 values in place; nil for a bf16 weight.
    public func withFloats<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R? {
        switch storage {
        case .fp32(let t): return try t.withUnsafeBufferPointer(body)
        case .mapped(let m): return try withExtendedLifetime(m) { try body(m.values) }
        case .bf16, .bf16Packed: return nil
        }
    }

    /// The form of this weight named `key`, built by `build` the first time any thread asks for it.
    public func prepared<T>(_ key: String, _ build: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        if let p = preparedForms[key] as? T { return p }
        let p = build()
        preparedForms[key] = p
        return p
    }

    /// Drop every prepared form (a memory budget decided the caller should transform per call instead).
    public func dropPrepared() {
        lock.lock()
        preparedForms.removeAll()
        lock.unlock()
    }
}
