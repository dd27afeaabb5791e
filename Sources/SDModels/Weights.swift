// Strict weight loading. A model's Swift tree spells the checkpoint's key names through scoped
// lookups (weights.scoped("down_blocks").scoped(0).scoped("resnets")), every tensor's shape is
// checked against what the config implies, and keys the model never asked for are reported.
import SDCore

public final class WeightStore {
    /// What the user named (a folder or file), for messages.
    public let name: String
    /// How GEMM weights (Linear, Conv2d) are kept in memory: fp32, or bf16 for half the size.
    public let precision: Precision
    private var index: [String: SafetensorsFile] = [:]
    private(set) var used: Set<String> = []

    public init(files: [String], name: String, precision: Precision = .fp32) throws {
        self.name = name
        self.precision = precision
        for path in files {
            let f = try SafetensorsFile(path: path)
            for k in f.keys { index[k] = f }
        }
    }

    public var keys: [String] { index.keys.sorted() }
    public func has(_ key: String) -> Bool { index[key] != nil }

    /// The file holding `key`, checked against `shape` (nil: any shape); marks the key used.
    private func locate(_ key: String, shape: [Int]?) throws -> (SafetensorsFile, TensorInfo) {
        guard let f = index[key], let info = f.info(key) else {
            throw SDError.missingModel("\(name): missing weight \(key)\(shape.map { " (expected shape \($0))" } ?? "")")
        }
        if let s = shape, s != info.shape {
            throw SDError.badFile(path: f.path, message: "weight \(key) has shape \(info.shape), expected \(s)")
        }
        used.insert(key)
        return (f, info)
    }

    /// A NaN or Inf weight would run to a black image with exit 0; refuse it at load, once, by name.
    private func checkFinite(_ bad: Int, _ key: String, _ f: SafetensorsFile, _ what: String = "") throws {
        if bad > 0 {
            throw SDError.badFile(path: f.path, message: "weight \(key) has \(bad) non-finite value(s) (NaN or Inf)\(what)")
        }
    }

    /// The tensor named `key` in Float32, checked against `shape` (nil: any shape).
    public func load(_ key: String, shape: [Int]?) throws -> Tensor {
        let (f, _) = try locate(key, shape: shape)
        let t = try f.tensor(key)
        try checkFinite(t.nonFiniteCount, key, f)
        return t
    }

    /// A GEMM weight (Linear, Conv2d) in this store's precision; bf16 is converted straight from the
    /// file, never through a whole Float32 copy.
    public func loadGemm(_ key: String, shape: [Int]) throws -> GemmWeight {
        guard precision == .bf16 else { return .fp32(try load(key, shape: shape)) }
        let (f, info) = try locate(key, shape: shape)
        let w = BF16Tensor(shape: info.shape, storage: try f.bf16Storage(key))
        try checkFinite(w.nonFiniteCount, key, f, " in bf16")
        return GemmWeight(bf16: w)
    }

    /// Fail if any stored key was never used, except those matching `ignoring` (suffixes) or
    /// `ignoringPrefixes`.
    public func checkAllUsed(ignoring: [String] = [], ignoringPrefixes: [String] = []) throws {
        let unused = index.keys.filter { k in
            !used.contains(k) && !ignoring.contains { k.hasSuffix($0) } && !ignoringPrefixes.contains { k.hasPrefix($0) }
        }.sorted()
        if !unused.isEmpty {
            let shown = unused.prefix(5).joined(separator: ", ")
            throw SDError.badFile(path: name, message: "\(unused.count) weight(s) not used by the model built from its config "
                                  + "(config and weights disagree?): \(shown)\(unused.count > 5 ? ", …" : "")")
        }
    }
}

/// A view of the store under a key prefix.
public struct Weights {
    public let store: WeightStore
    public let prefix: String

    public init(_ store: WeightStore, prefix: String = "") {
        self.store = store
        self.prefix = prefix
    }

    public func scoped(_ name: String) -> Weights { Weights(store, prefix: prefix + name + ".") }
    public func scoped(_ index: Int) -> Weights { scoped(String(index)) }

    public func has(_ key: String) -> Bool { store.has(prefix + key) }

    public func callAsFunction(_ key: String, _ shape: [Int]) throws -> Tensor {
        try store.load(prefix + key, shape: shape)
    }

    /// A GEMM weight (Linear, Conv2d) in the store's precision.
    public func gemm(_ key: String, _ shape: [Int]) throws -> GemmWeight {
        try store.loadGemm(prefix + key, shape: shape)
    }

    /// The first of several spellings present in the file (legacy and current names).
    public func scopedFirst(of names: [String], probe: String) -> Weights {
        for n in names where has(n + "." + probe) { return scoped(n) }
        return scoped(names[0])
    }
}
