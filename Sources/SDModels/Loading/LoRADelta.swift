// ΔW of one LoRA-family module, as AUTOMATIC1111's Lora extension computes it
// (extensions-builtin/Lora/network_lora.py, network_hada.py, network_lokr.py, lyco_helpers.py,
// network.py finalize_updown/calc_scale): the product is reshaped to the model weight's shape when
// the counts agree, and scaled by alpha / dim (1 when either is missing). Shapes are checked from the
// file header before any tensor is read, so a LoRA for another model fails before the merge. One more
// A1111 rule (networks.py network_apply_weights): a 4-channel conv update on a 4-D weight with 9 input
// channels (an inpainting UNet's conv_in) is zero-padded to 9, so a base model's LoRA that trained
// conv_in leaves the mask and masked-image channels alone; diffusers refuses such a file.
import SDCore

/// One pending update of a model weight: W ← W + weight · compute() (compute includes alpha/dim).
public struct WeightDelta {
    /// The LoRA file and one of its keys, for messages.
    public let source: String
    public let key: String
    public let weight: Float
    public let compute: () throws -> Tensor
    /// For a plain LoRA (up · down): its factors, read once, to add weight · scale · up · down into
    /// the model weight's rows with GEMMs (beta 1), never materialising ΔW; nil for the other kinds.
    public var lowRank: (() throws -> LowRankUpdate)? = nil
}

/// ΔW = alpha · up · down of a plain LoRA ([rows, rank] · [rank, columns], fp32, checked finite), added
/// to any block of the weight's rows in place.
public struct LowRankUpdate {
    let up: Tensor
    let down: Tensor
    public let alpha: Float
    public var rows: Int { up.shape[0] }
    public var rank: Int { down.shape[0] }
    public var columns: Int { down.count / down.shape[0] }

    /// Rows `r` of the weight, whose first value is at `c`, += alpha · up[r] · down: one
    /// single-threaded GEMM (the caller runs blocks on the threads).
    public func add(rows r: Range<Int>, into c: UnsafeMutablePointer<Float>) {
        up.withUnsafeBufferPointer { a in down.withUnsafeBufferPointer { b in
            BLAS.sgemm(m: r.count, n: columns, k: rank, alpha: alpha, a: a.baseAddress! + r.lowerBound * rank, lda: rank,
                       b: b.baseAddress!, ldb: columns, beta: 1, c: c, ldc: columns)
        } }
    }

    /// The whole weight += ΔW, tiles of it on the threads.
    public func add(into w: UnsafeMutableBufferPointer<Float>) {
        precondition(rows * columns == w.count, "LoRA factors checked against the weight at open")
        up.withUnsafeBufferPointer { a in down.withUnsafeBufferPointer { b in
            BLAS.parallelSgemm(m: rows, n: columns, k: rank, alpha: alpha, a: a.baseAddress!, lda: rank,
                               b: b.baseAddress!, ldb: columns, beta: 1, c: w.baseAddress!, ldc: columns)
        } }
    }
}

struct LoRARecipe {
    enum Kind { case lora, hada, lokr }

    static func kind(of t: [String: String]) -> Kind? {
        let has = { t[$0] != nil }
        if has("lora_up.weight") && has("lora_down.weight") && t.count <= 3 && (t.count == 2 || has("lora_mid.weight")) { return .lora }
        if ["hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b"].allSatisfy(has),
           t.keys.allSatisfy({ $0.hasPrefix("hada_") }) { return .hada }
        let one = has("lokr_w1") != (has("lokr_w1_a") && has("lokr_w1_b"))
        let two = has("lokr_w2") != (has("lokr_w2_a") && has("lokr_w2_b"))
        if one, two, t.keys.allSatisfy({ $0.hasPrefix("lokr_") }), !(has("lokr_t2") && has("lokr_w2")),
           has("lokr_w1_a") == has("lokr_w1_b"), has("lokr_w2_a") == has("lokr_w2_b") { return .lokr }
        return nil
    }

    let module: LoRAModule
    let file: SafetensorsFile
    let kind: Kind
    let target: [Int]
    /// alpha / dim, or 1.
    let scale: Float
    /// The update is a base model's 4-input-channel conv on an inpainting model's 9-channel weight.
    let padsInpaintChannels: Bool

    init(module m: LoRAModule, file: SafetensorsFile, target: [Int]) throws {
        module = m
        self.file = file
        self.target = target
        kind = LoRARecipe.kind(of: m.tensors)!
        let someKey = m.tensors.values.sorted().first!
        func bad(_ why: String) -> SDError { .badFile(path: file.path, message: "key \(someKey): \(why)") }
        func s(_ role: String) -> [Int]? { m.tensors[role].flatMap { file.info($0)?.shape } }
        func prod<S: Sequence>(_ d: S) -> Int where S.Element == Int {
            d.reduce(1) { let (p, o) = $0.multipliedReportingOverflow(by: $1); return o ? Int.max : p }
        }
        for (role, key) in m.tensors {
            let sh = file.info(key)!.shape
            guard (2...4).contains(sh.count), sh.allSatisfy({ $0 > 0 }) else { throw bad("\(role) has shape \(sh)") }
        }
        func rankCheck(_ r: Int, _ out: Int, _ inFlat: Int) throws {
            guard r <= max(out, inFlat) else { throw bad("rank \(r) exceeds the \(out)×\(inFlat) weight it changes") }
        }
        func matched(_ a: [Int], _ b: [Int], _ what: String) throws {
            guard prod(a.dropFirst()) == b[0] else { throw bad("\(what): \(a) and \(b) do not multiply") }
        }
        var numel: Int
        var dim: Int?
        switch kind {
        case .lora:
            let up = s("lora_up.weight")!, down = s("lora_down.weight")!
            dim = down[0]
            try rankCheck(down[0], up[0], prod(down.dropFirst()))
            if let mid = s("lora_mid.weight") {
                guard mid.count == 4, mid[0] == prod(up.dropFirst()), mid[1] == down[0] else { throw bad("lora_mid \(mid) fits neither \(up) nor \(down)") }
                numel = prod([up[0], prod(down.dropFirst()), mid[2], mid[3]])
            } else {
                try matched(up, down, "lora_up × lora_down")
                numel = prod([up[0], prod(down.dropFirst())])
            }
        case .hada:
            dim = s("hada_w1_b")![0]
            var sizes: [Int] = []
            for (a, b, t) in [("hada_w1_a", "hada_w1_b", "hada_t1"), ("hada_w2_a", "hada_w2_b", "hada_t2")] {
                let wa = s(a)!, wb = s(b)!
                if let ts = s(t) {
                    guard ts.count == 4, wa.count == 2, wb.count == 2, ts[0] == wa[0], ts[1] == wb[0] else { throw bad("\(t) \(ts) fits neither \(wa) nor \(wb)") }
                    try rankCheck(ts[0], wa[1], wb[1] * ts[2] * ts[3])
                    sizes.append(prod([wa[1], wb[1], ts[2], ts[3]]))
                } else {
                    try matched(wa, wb, "\(a) × \(b)")
                    try rankCheck(wb[0], wa[0], prod(wb.dropFirst()))
                    sizes.append(prod([wa[0], prod(wb.dropFirst())]))
                }
            }
            guard sizes[0] == sizes[1] else { throw bad("the two Hadamard factors have \(sizes[0]) and \(sizes[1]) values") }
            numel = sizes[0]
        case .lokr:
            var w1 = s("lokr_w1") ?? []
            if w1.isEmpty {
                let a = s("lokr_w1_a")!, b = s("lokr_w1_b")!
                guard a.count == 2, b.count == 2 else { throw bad("lokr_w1_a \(a) / lokr_w1_b \(b) must be matrices") }
                try matched(a, b, "lokr_w1_a × lokr_w1_b")
                try rankCheck(b[0], a[0], b[1])
                w1 = [a[0], b[1]]
            }
            guard w1.count == 2 else { throw bad("lokr_w1 \(w1) must be a matrix") }
            var w2 = s("lokr_w2") ?? []
            if w2.isEmpty {
                let a = s("lokr_w2_a")!, b = s("lokr_w2_b")!
                guard a.count == 2, b.count == 2 else { throw bad("lokr_w2_a \(a) / lokr_w2_b \(b) must be matrices") }
                if let t = s("lokr_t2") {
                    guard t.count == 4, t[0] == a[0], t[1] == b[0] else { throw bad("lokr_t2 \(t) fits neither \(a) nor \(b)") }
                    try rankCheck(t[0], a[1], b[1] * t[2] * t[3])
                    w2 = [a[1], b[1], t[2], t[3]]
                } else {
                    try matched(a, b, "lokr_w2_a × lokr_w2_b")
                    try rankCheck(b[0], a[0], b[1])
                    w2 = [a[0], b[1]]
                }
            }
            guard w2.count == 2 || w2.count == 4 else { throw bad("lokr_w2 \(w2) must have 2 or 4 dimensions") }
            // network_lokr.py reads dim from w1_b, then w2_b (LyCORIS: the decomposed factor's rank).
            dim = s("lokr_w2_b")?[0] ?? s("lokr_w1_b")?[0]
            numel = prod([w1[0], w1[1]] + w2)
        }
        // A1111 pads for every kind, but only a kohya LoRA/LoCon update has the [out, 4, k, l] shape
        // torch can pad there (LoHa/LoKr give [out, 4·k·l] and fail in A1111), so only it is padded here.
        padsInpaintChannels = kind == .lora && target.count == 4 && target[1] == 9 && numel == prod([target[0], 4, target[2], target[3]])
        guard numel == prod(target) || padsInpaintChannels else {
            throw bad("gives \(numel) values for a model weight of shape \(target) (a LoRA for another model: SD 1.x on SD 2.x?)")
        }
        if let a = m.alpha, let d = dim { scale = a / Float(d) } else { scale = 1 }
    }

    /// ΔW · alpha/dim, in the model weight's shape (fp16/bf16 tensors are read as fp32).
    func delta() throws -> Tensor {
        func t(_ role: String) throws -> Tensor { try file.tensor(module.tensors[role]!) }
        func flat(_ x: Tensor) -> Tensor { x.reshaped([x.shape[0], -1]) }
        var d: Tensor
        switch kind {
        case .lora:
            let up = flat(try t("lora_up.weight")), down = flat(try t("lora_down.weight"))
            if module.tensors["lora_mid.weight"] != nil {
                d = LoRARecipe.sandwich(up, try t("lora_mid.weight"), down)          // [out, in, k, l]
            } else {
                d = up.matmul(down)                                                    // [out, in·k·l]
            }
        case .hada:
            func factor(_ a: String, _ b: String, _ tt: String) throws -> Tensor {
                if module.tensors[tt] != nil {
                    // make_weight_cp(t, wa, wb) = waᵀ · t · wb per tap.
                    return LoRARecipe.sandwich(try t(a).transposed(0, 1), try t(tt), try t(b))
                }
                return flat(try t(a)).matmul(flat(try t(b)))
            }
            let u1 = try factor("hada_w1_a", "hada_w1_b", "hada_t1"), u2 = try factor("hada_w2_a", "hada_w2_b", "hada_t2")
            d = u1
            for i in 0..<d.count { d.storage[i] *= u2.storage[i] }
        case .lokr:
            let has = { module.tensors[$0] != nil }
            let w1 = has("lokr_w1") ? try t("lokr_w1") : try t("lokr_w1_a").matmul(try t("lokr_w1_b"))
            let w2: Tensor
            if has("lokr_w2") {
                w2 = try t("lokr_w2")
            } else if has("lokr_t2") {
                w2 = LoRARecipe.sandwich(try t("lokr_w2_a").transposed(0, 1), try t("lokr_t2"), try t("lokr_w2_b"))
            } else {
                w2 = try t("lokr_w2_a").matmul(try t("lokr_w2_b"))
            }
            d = LoRARecipe.kron(w1, w2)
        }
        let bad = d.nonFiniteCount
        if bad > 0 {
            throw SDError.badFile(path: file.path, message: "key \(module.tensors.values.sorted().first!): the update has \(bad) non-finite value(s) (NaN or Inf)")
        }
        d = padsInpaintChannels ? LoRARecipe.padInputChannels(d.reshaped([target[0], 4, target[2], target[3]]), to: target[1])
                                : d.reshaped(target)
        if scale != 1 { for i in 0..<d.count { d.storage[i] *= scale } }
        return d
    }

    /// The factors of a plain up · down LoRA as fp32, to add multiplier · scale · up · down into the model
    /// weight (`target`'s count) with GEMMs and no ΔW buffer. The factors are checked finite (a
    /// non-finite factor makes a non-finite update). nil for the other kinds and for a padded conv_in update.
    func lowRank(multiplier: Float) -> (() throws -> LowRankUpdate)? {
        guard kind == .lora, module.tensors["lora_mid.weight"] == nil, !padsInpaintChannels else { return nil }
        return {
            let up = try self.file.tensor(self.module.tensors["lora_up.weight"]!)
            let down = try self.file.tensor(self.module.tensors["lora_down.weight"]!)
            if up.nonFiniteCount + down.nonFiniteCount > 0 {
                throw SDError.badFile(path: self.file.path, message: "key \(self.module.tensors.values.sorted().first!): the update has non-finite factors (NaN or Inf)")
            }
            let r = up.count / up.shape[0]
            precondition(down.shape[0] == r, "LoRA factors checked against the weight at open")
            return LowRankUpdate(up: up.reshaped([up.shape[0], r]), down: down.reshaped([r, down.count / r]), alpha: multiplier * self.scale)
        }
    }

    /// [o, c, k, l] → [o, channels, k, l], the new input channels zero (torch.nn.functional.pad).
    static func padInputChannels(_ d: Tensor, to channels: Int) -> Tensor {
        let (o, row) = (d.shape[0], d.count / d.shape[0])
        let taps = d.shape[2] * d.shape[3]
        var out = Tensor(zeros: [o, channels, d.shape[2], d.shape[3]])
        for i in 0..<o { for j in 0..<row { out.storage[i * channels * taps + j] = d.storage[i * row + j] } }
        return out
    }

    /// left [p, i] · core[:, :, k, l] [i, j] · right [j, q] for every tap → [p, q, k, l]
    /// (lyco_helpers.py rebuild_cp_decomposition and make_weight_cp).
    static func sandwich(_ left: Tensor, _ core: Tensor, _ right: Tensor) -> Tensor {
        let (i, j, taps) = (core.shape[0], core.shape[1], core.shape[2] * core.shape[3])
        let (p, q) = (left.shape[0], right.count / j)
        let r = right.reshaped([j, q])
        var out = Tensor(zeros: [p, q, core.shape[2], core.shape[3]])
        for tap in 0..<taps {
            var slice = Tensor(zeros: [i, j])                                            // core[:, :, tap]
            for a in 0..<i { for b in 0..<j { slice.storage[a * j + b] = core.storage[(a * j + b) * taps + tap] } }
            let y = left.matmul(slice.matmul(r))                                         // [p, q]
            for a in 0..<p { for b in 0..<q { out.storage[(a * q + b) * taps + tap] = y.storage[a * q + b] } }
        }
        return out
    }

    /// torch.kron(w1, w2) with w1 [a, b] (unsqueezed to [a, b, 1, 1] when w2 is [c, d, k, l]):
    /// K[x·c + y, z·d + w, …] = w1[x, z] · w2[y, w, …] (network_lokr.py make_kron).
    static func kron(_ w1: Tensor, _ w2: Tensor) -> Tensor {
        let (a, b, c, dd) = (w1.shape[0], w1.shape[1], w2.shape[0], w2.shape[1])
        let taps = w2.count / (c * dd)
        var out = Tensor(zeros: [a * c, b * dd] + Array(w2.shape.dropFirst(2)))
        for x in 0..<a { for z in 0..<b {
            let s = w1.storage[x * b + z]
            for y in 0..<c { for w in 0..<dd {
                let src = (y * dd + w) * taps, dst = ((x * c + y) * (b * dd) + z * dd + w) * taps
                for t in 0..<taps { out.storage[dst + t] = s * w2.storage[src + t] }
            } }
        } }
        return out
    }
}
