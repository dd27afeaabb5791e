// Strict weight loading. A model's Swift tree spells the checkpoint's key names through scoped
// lookups (weights.scoped("down_blocks").scoped(0).scoped("resnets")), every tensor's shape is
// checked against what the config implies, and keys the model never asked for are reported.
import SDCore

/// Where one model key's tensor lives: a file's key, and how its stored shape becomes the model's.
public struct WeightSource {
    public let file: SafetensorsFile
    public let key: String
    public let transform: KeyTransform

    public init(_ file: SafetensorsFile, _ key: String, _ transform: KeyTransform = .none) {
        self.file = file
        self.key = key
        self.transform = transform
    }
}

/// The reshapes single-file (LDM) checkpoints need beside renaming (ModelSource's key tables).
public enum KeyTransform: Equatable {
    case none
    /// A 1×1 convolution weight [O, I, 1, 1] read as a Linear weight [O, I] (LDM's VAE attention).
    case squeeze
    /// Row block `part` of `of` equal blocks along dim 0 (OpenCLIP's fused in_proj → q, k, v).
    case rows(part: Int, of: Int)

    func shape(_ stored: [Int]) -> [Int]? {
        switch self {
        case .none: return stored
        case .squeeze: return stored.count == 4 && stored[2] == 1 && stored[3] == 1 ? Array(stored.prefix(2)) : nil
        case let .rows(_, n):
            guard let first = stored.first, first % n == 0 else { return nil }
            return [first / n] + stored.dropFirst()
        }
    }
}

public final class WeightStore {
    /// What the user named (a folder, or a file and the component's key prefix), for messages.
    public let name: String
    /// How GEMM weights (Linear, Conv2d) are kept in memory: fp32, or bf16 for half the size.
    public let precision: Precision
    private var index: [String: WeightSource] = [:]
    private(set) var used: Set<String> = []
    /// Where mapped weights found finite are remembered, so an unchanged file is not scanned again
    /// (nil: scan every time).
    public var finiteRecord: FiniteCheckRecord? = FiniteCheckRecord.shared
    /// LoRA updates by model key, merged when the key is loaded (LoRAFile.swift).
    private var deltas: [String: [WeightDelta]] = [:]

    /// Model keys → where they are stored (ModelSource builds this for a folder or a single file).
    public init(entries: [String: WeightSource], name: String, precision: Precision = .fp32) {
        self.name = name
        self.precision = precision
        index = entries
    }

    /// Every key of `files` under its own name.
    public convenience init(files: [String], name: String, precision: Precision = .fp32) throws {
        var entries: [String: WeightSource] = [:]
        for path in files {
            let f = try SafetensorsFile(path: path)
            for k in f.keys { entries[k] = WeightSource(f, k) }
        }
        self.init(entries: entries, name: name, precision: precision)
    }

    public var keys: [String] { index.keys.sorted() }
    public func has(_ key: String) -> Bool { index[key] != nil }

    /// Where `key` is stored, checked against `shape` (nil: any shape); marks the key used.
    private func locate(_ key: String, shape: [Int]?) throws -> WeightSource {
        guard let src = index[key], let info = src.file.info(src.key) else {
            throw SDError.missingModel("\(name): missing weight \(key)\(shape.map { " (expected shape \($0))" } ?? "")")
        }
        guard let stored = src.transform.shape(info.shape) else {
            throw SDError.badFile(path: src.file.path, message: "weight \(src.key) has shape \(info.shape), which cannot be read as \(key)")
        }
        if let s = shape, s != stored {
            let spelled = src.key == key ? key : "\(src.key) (read as \(key))"
            throw SDError.badFile(path: src.file.path, message: "weight \(spelled) has shape \(stored), expected \(s)")
        }
        used.insert(key)
        return src
    }

    /// A NaN or Inf weight would run to a black image with exit 0; refuse it at load, once, by name.
    private func checkFinite(_ bad: Int, _ src: WeightSource, _ what: String = "") throws {
        if bad > 0 {
            throw SDError.badFile(path: src.file.path, message: "weight \(src.key) has \(bad) non-finite value(s) (NaN or Inf)\(what)")
        }
    }

    /// The tensor named `key` in Float32, checked against `shape` (nil: any shape).
    public func load(_ key: String, shape: [Int]?) throws -> Tensor {
        let src = try locate(key, shape: shape)
        if src.transform == .none, let t = try mergedInOnePass(key, src) { return t }
        var t = try src.file.tensor(src.key)
        switch src.transform {
        case .none: break
        case .squeeze: t = t.reshaped(src.transform.shape(t.shape)!)
        case let .rows(part, n):
            let rows = t.count / n
            t = Tensor(shape: src.transform.shape(t.shape)!, storage: Array(t.storage[(part * rows)..<((part + 1) * rows)]))
        }
        if hasDelta(key) { try applyDeltas(key, to: &t) }
        try checkFinite(t.nonFiniteCount, src)
        return t
    }

    /// Give back the mapped pages of every weight read so far (SafetensorsFile.releaseResidentPages);
    /// the bytes of mapped values released.
    public func releaseResidentPages() -> Int {
        used.reduce(0) { sum, key in index[key].map { sum + $0.file.releaseResidentPages($0.key) } ?? sum }
    }

    /// `key`'s shape as the model reads it (after the key table's reshape), nil when absent.
    public func storedShape(_ key: String) -> [Int]? {
        guard let src = index[key], let info = src.file.info(src.key) else { return nil }
        return src.transform.shape(info.shape)
    }

    /// Queue a LoRA update of `key`, merged in fp32 when the key is loaded.
    public func add(_ delta: WeightDelta, to key: String) { deltas[key, default: []].append(delta) }

    public func hasDelta(_ key: String) -> Bool { deltas[key] != nil }
    public var mergedKeys: [String] { deltas.keys.sorted() }

    /// base + Σ weight · ΔW over the updates queued for `key` (A1111's merge: W ← W + ΔW · scale ·
    /// multiplier), in fp32 before any bf16 rounding.
    public func merged(_ key: String, base: Tensor) throws -> Tensor {
        var t = base
        try applyDeltas(key, to: &t)
        return t
    }

    /// `merged` in place: load adds the updates to its own fp32 copy of the weight, so the merge
    /// allocates only each ΔW (a `var t = base` would copy the weight once more on write).
    func applyDeltas(_ key: String, to t: inout Tensor) throws {
        for d in deltas[key] ?? [] {
            if let factors = d.lowRank {
                let u = try factors()
                t.withUnsafeMutableBufferPointer { u.add(into: $0) }
                continue
            }
            let u = try d.compute()
            guard u.count == t.count else {
                throw SDError.badFile(path: d.source, message: "key \(d.key): update of shape \(u.shape) does not fit \(key) \(t.shape)")
            }
            t.withUnsafeMutableBufferPointer { w in u.withUnsafeBufferPointer { du in
                for i in 0..<w.count { w[i] += d.weight * du[i] }
            } }
        }
    }

    /// A weight changed only by plain LoRAs (the usual file), made in one pass: each block of rows is
    /// converted from the file, gets every update's rows (a small GEMM each) and is finite-checked while
    /// it is in cache, instead of a copy, a GEMM and a check each over the whole weight. nil when some
    /// update is of another kind (applyDeltas does those).
    private func mergedInOnePass(_ key: String, _ src: WeightSource) throws -> Tensor? {
        guard let list = deltas[key], list.allSatisfy({ $0.lowRank != nil }), let info = src.file.info(src.key),
              let rows = info.shape.first, rows > 0 else { return nil }
        let updates = try list.map { try $0.lowRank!() }
        let columns = Tensor.count(info.shape) / rows
        // An update whose product only has the weight's count (A1111 reshapes it) goes the whole-weight way.
        guard updates.allSatisfy({ $0.rows == rows && $0.columns == columns }) else { return nil }
        // Blocks of ~256 KiB, at least 16 rows (each GEMM re-packs `down`: 1/32 of its work or less).
        let per = Swift.max(16, (1 << 16) / Swift.max(1, columns))
        let bad = UnsafeMutablePointer<Int>.allocate(capacity: (rows + per - 1) / per)
        bad.initialize(repeating: 0, count: (rows + per - 1) / per)
        defer { bad.deallocate() }
        let t = try src.file.tensor(src.key, rowsPerBlock: per, rowLength: columns) { block, r in
            for u in updates { u.add(rows: r, into: block) }
            bad[r.lowerBound / per] = countNonFinite(UnsafeBufferPointer(start: block, count: r.count * columns))
        }
        try checkFinite((0..<((rows + per - 1) / per)).reduce(0) { $0 + bad[$1] }, src)
        return t
    }

    /// A GEMM weight (Linear, Conv2d) in this store's precision. fp32 values stored as F32 are used
    /// where the file maps them, with no copy; bf16 is converted straight from the file, never
    /// through a whole Float32 copy (reshaped keys go through Float32: they are small).
    public func loadGemm(_ key: String, shape: [Int]) throws -> LayerWeight {
        guard let src = index[key], src.transform == .none, !hasDelta(key) else { return LayerWeight(try load(key, shape: shape), precision: precision) }
        let info = try locate(key, shape: shape).file.info(src.key)!
        if precision == .fp32 {
            guard let m = try mapped(src) else { return LayerWeight(try load(key, shape: shape)) }
            return LayerWeight(storage: .mapped(m))
        }
        let w = BF16Tensor(shape: info.shape, storage: try src.file.bf16Storage(src.key))
        try checkFinite(w.nonFiniteCount, src, " in bf16")
        return LayerWeight(bf16: w)
    }

    /// A lookup table (a token embedding) in fp32 whatever the store's precision, read in place
    /// where the file maps it: a prompt reads 77 of its rows, so a copy (CLIP's is 49,408 × 1024,
    /// 200 MB) would be nearly all waste.
    public func loadTable(_ key: String, shape: [Int]) throws -> LayerWeight {
        let src = try locate(key, shape: shape)
        if src.transform == .none, !hasDelta(key), let m = try mapped(src) { return LayerWeight(storage: .mapped(m)) }
        return LayerWeight(storage: .fp32(try load(key, shape: shape)))
    }

    /// `src`'s F32 values where the file maps them, finite-checked once per file version; nil where
    /// they must be converted.
    private func mapped(_ src: WeightSource) throws -> MappedFloats? {
        guard let m = src.file.mappedFloats(src.key) else { return nil }
        if finiteRecord?.contains(src.file.identity, src.key) != true {
            try checkFinite(m.nonFiniteCount, src)
            finiteRecord?.insert(src.file.identity, src.key)
        }
        return m
    }

    /// The end of a component's load: fail if any stored key was never used, except those matching
    /// `ignoring` (suffixes) or `ignoringPrefixes` (keys named as the file spells them). The weights
    /// found finite are recorded either way.
    public func checkAllUsed(ignoring: [String] = [], ignoringPrefixes: [String] = []) throws {
        defer { finiteRecord?.save() }
        let unused = index.keys.filter { k in
            !used.contains(k) && !ignoring.contains { k.hasSuffix($0) } && !ignoringPrefixes.contains { k.hasPrefix($0) }
        }.map { index[$0]!.key }
        let names = Array(Set(unused)).sorted()
        if !names.isEmpty {
            let shown = names.prefix(5).joined(separator: ", ")
            throw SDError.badFile(path: name, message: "\(names.count) weight(s) not used by the model built from its config "
                                  + "(config and weights disagree?): \(shown)\(names.count > 5 ? ", …" : "")")
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
    public func gemm(_ key: String, _ shape: [Int]) throws -> LayerWeight {
        try store.loadGemm(prefix + key, shape: shape)
    }

    /// A lookup table (embedding) in fp32, in place where the file maps it.
    public func table(_ key: String, _ shape: [Int]) throws -> LayerWeight {
        try store.loadTable(prefix + key, shape: shape)
    }
}
