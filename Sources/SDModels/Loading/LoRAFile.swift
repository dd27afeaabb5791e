// LoRA-family files (kohya LoRA/LoCon, diffusers/PEFT, LyCORIS LoHa and LoKr) read into per-module
// recipes, and matched to the model keys of a component's WeightStore. Key formats and scales follow
// AUTOMATIC1111's built-in Lora extension (extensions-builtin/Lora/networks.py, network.py,
// network_lora.py, network_hada.py, network_lokr.py) and, for PEFT files, diffusers 0.42
// loaders/lora_base.py (the `lora_adapter_metadata` header entry: lora_alpha, r, alpha_pattern).
// The formulas that turn a recipe into ΔW live in LoRADelta.swift.
import Foundation
import SDCore

/// `--lora PATH[:WEIGHT]`: a LoRA file and its strength (A1111's multiplier, default 1).
public struct LoRASpec: Equatable {
    public let path: String
    public let weight: Float

    public init(path: String, weight: Float = 1) {
        self.path = path
        self.weight = weight
    }

    /// PATH or PATH:WEIGHT; a trailing `:number` is the weight (paths may themselves contain ':').
    public init(argument: String) throws {
        if let colon = argument.lastIndex(of: ":"), let w = Float(argument[argument.index(after: colon)...]) {
            guard w.isFinite, abs(w) <= 100 else { throw SDError.invalidInput("--lora \(argument): weight must be a finite number in -100…100") }
            let p = String(argument[..<colon])
            guard !p.isEmpty else { throw SDError.invalidInput("--lora \(argument): no file before the weight") }
            self.init(path: p, weight: w)
        } else {
            guard !argument.isEmpty else { throw SDError.invalidInput("--lora: empty path") }
            self.init(path: argument)
        }
    }

    /// A1111's `<lora:NAME:W>` names `NAME.safetensors` in the LoRA folder (`--lora-dir`).
    public static func resolve(tag name: String, weight: Float = 1, directory: String?) throws -> LoRASpec {
        guard let dir = directory, !dir.isEmpty else {
            throw SDError.invalidInput("<lora:\(name)>: no LoRA folder; pass --lora-dir DIR or set SDEDIT_LORA_DIR")
        }
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw SDError.invalidInput("<lora:\(name)>: a LoRA name is a file name in \(dir), without folders")
        }
        let path = (dir as NSString).appendingPathComponent(name + ".safetensors")
        guard FileManager.default.fileExists(atPath: path) else {
            throw SDError.io(path: path, message: "no such LoRA (<lora:\(name)> names \(name).safetensors in \(dir))")
        }
        return LoRASpec(path: path, weight: weight)
    }
}

/// The component a LoRA module changes.
public enum LoRAComponent: String {
    case unet, textEncoder = "text_encoder"
}

/// One module's update as stored: its tensors by role (A1111's weights.w keys: "lora_up.weight",
/// "hada_w1_a", "lokr_w2", ...), its alpha, and how its name is matched to a model key.
struct LoRAModule {
    let component: LoRAComponent
    /// kohya/LyCORIS: "lora_unet_down_blocks_0_..." (the model path with '.' → '_'); PEFT: the dotted path.
    let name: String
    let dotted: Bool
    var tensors: [String: String] = [:]   // role → file key
    var alpha: Float?
}

public final class LoRAFile {
    public let path: String
    public let file: SafetensorsFile
    private(set) var modules: [LoRAModule] = []
    /// Textual-inversion embeddings bundled in the file (`bundle_emb.NAME.…`, A1111 ≥ 1.7), named for
    /// the `TI hashes` infotext by the file's name (TextualInversion.bundled).
    public private(set) var embeddings: [TextualInversion] = []

    /// The module names the file changes (kohya: underscored; PEFT: dotted), by component.
    public var moduleNames: [(LoRAComponent, String)] { modules.map { ($0.component, $0.name) } }

    /// The roles a module may have in a kohya / LyCORIS file.
    static let kohyaRoles: Set<String> = ["lora_up.weight", "lora_down.weight", "lora_mid.weight", "alpha",
                                          "hada_w1_a", "hada_w1_b", "hada_w2_a", "hada_w2_b", "hada_t1", "hada_t2",
                                          "lokr_w1", "lokr_w1_a", "lokr_w1_b", "lokr_w2", "lokr_w2_a", "lokr_w2_b", "lokr_t2"]

    public convenience init(path: String) throws {
        try self.init(file: SafetensorsFile(path: path))
    }

    /// Reads keys and header only; tensors are read when a module is merged.
    public init(file: SafetensorsFile) throws {
        self.file = file
        path = file.path
        let keys = file.keys
        guard !keys.isEmpty else { throw SDError.badFile(path: path, message: "no tensors: not a LoRA file") }
        try LoRAFile.refuseDuplicateNames(path: path, tensors: keys.count)
        if let sign = LoRAFile.sdxlSign(keys: keys, metadata: file.metadata) {
            throw SDError.badFile(path: path, message: "\(sign): an SDXL LoRA; sdedit runs SD 1.x and 2.x models")
        }
        let bundle = keys.filter { $0.hasPrefix(TextualInversion.bundlePrefix) }
        embeddings = try TextualInversion.bundled(in: file, keys: bundle,
                                                  lora: ((path as NSString).lastPathComponent as NSString).deletingPathExtension)
        var byName: [String: LoRAModule] = [:]
        var order: [String] = []
        for key in keys where !key.hasPrefix(TextualInversion.bundlePrefix) {
            let (component, name, role, dotted) = try LoRAFile.split(key, path: path)
            let id = component.rawValue + "/" + name
            var m = byName[id] ?? LoRAModule(component: component, name: name, dotted: dotted)
            if byName[id] == nil { order.append(id) }
            guard m.tensors[role] == nil, !(role == "alpha" && m.alpha != nil) else {
                throw SDError.badFile(path: path, message: "key \(key): module \(name) has \(role) twice")
            }
            if role == "alpha" {
                m.alpha = try LoRAFile.scalar(file, key)
            } else {
                m.tensors[role] = key
            }
            byName[id] = m
        }
        let peftAlphas = try PEFTAlphas(metadata: file.metadata, path: path)
        for id in order {
            var m = byName[id]!
            if m.dotted, m.alpha == nil { m.alpha = peftAlphas.alpha(component: m.component, module: m.name) }
            guard LoRARecipe.kind(of: m.tensors) != nil else {
                let first = m.tensors.values.sorted().first ?? id
                throw SDError.badFile(path: path, message: "key \(first): module \(m.name) has \(m.tensors.keys.sorted().joined(separator: ", ")), "
                                      + "which is no complete LoRA, LoCon, LoHa or LoKr module")
            }
            modules.append(m)
        }
    }

    /// (component, module name, role, dotted name?) of one file key, or an error naming it.
    static func split(_ key: String, path: String) throws -> (LoRAComponent, String, String, Bool) {
        func bad(_ why: String) -> SDError { .badFile(path: path, message: "key \(key): \(why)") }
        if key.hasPrefix("lora_te2_") || key.hasPrefix("text_encoder_2.") {
            throw bad("an SDXL LoRA (two text encoders); sdedit runs SD 1.x and 2.x models")
        }
        // lora_te1_: SDXL's first text encoder, or an SD 1.x one A1111 also finds there (deltas).
        for (prefix, component) in [("lora_unet_", LoRAComponent.unet), ("lora_te_", .textEncoder), ("lora_te1_", .textEncoder)]
        where key.hasPrefix(prefix) {
            guard let dot = key.firstIndex(of: ".") else { throw bad("no tensor role after the module name") }
            let role = String(key[key.index(after: dot)...])
            guard kohyaRoles.contains(role) else {
                throw bad("role \(role) is not supported (sdedit merges lora_up/lora_down/lora_mid, hada_* and lokr_* with alpha)")
            }
            return (component, String(key[..<dot]), role, false)
        }
        for (prefix, component) in [("unet.", LoRAComponent.unet), ("text_encoder.", .textEncoder)] where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            for role in ["lora_A.weight", "lora_B.weight", "alpha"] where rest.hasSuffix("." + role) {
                let name = String(rest.dropLast(role.count + 1))
                guard !name.isEmpty else { break }
                // A1111 (network_lora.py) reads lora_A/lora_B as lora_down/lora_up.
                let mapped = ["lora_A.weight": "lora_down.weight", "lora_B.weight": "lora_up.weight"][role] ?? role
                return (component, name, mapped, true)
            }
            throw bad("not a diffusers/PEFT LoRA key (expected <module>.lora_A.weight, .lora_B.weight or .alpha)")
        }
        if key.hasPrefix("model.diffusion_model.") || key.hasPrefix("first_stage_model.") || key.hasPrefix("cond_stage_model.") {
            throw bad("a Stable Diffusion checkpoint, not a LoRA; pass it with --model")
        }
        throw bad("not a LoRA key sdedit knows (kohya lora_unet_/lora_te_, diffusers unet./text_encoder., LyCORIS LoHa/LoKr)")
    }

    /// A JSON parser keeps the last of two equal names, so a header that names a tensor twice would
    /// merge one of them silently: count the entries' "data_offsets" fields (a quote inside a name
    /// is escaped, so the field spelling cannot come from a name).
    static func refuseDuplicateNames(path: String, tensors: Int) throws {
        guard let h = FileHandle(forReadingAtPath: path) else { return }
        defer { try? h.close() }
        guard let len = try h.read(upToCount: 8), len.count == 8 else { return }
        let n = len.enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard let header = try h.read(upToCount: n) else { return }
        let needle = Array("\"data_offsets\"".utf8)
        var found = 0
        header.withUnsafeBytes { (b: UnsafeRawBufferPointer) in
            var i = 0
            while i + needle.count <= b.count {
                if b[i] == needle[0], (i == 0 || b[i - 1] != UInt8(ascii: "\\")), needle.indices.allSatisfy({ b[i + $0] == needle[$0] }) {
                    found += 1
                    i += needle.count
                } else {
                    i += 1
                }
            }
        }
        if found > tensors {
            throw SDError.badFile(path: path, message: "the header names \(found) tensors but only \(tensors) distinct ones (duplicate names)")
        }
    }

    /// A 1-element alpha tensor.
    static func scalar(_ file: SafetensorsFile, _ key: String) throws -> Float {
        let t = try file.tensor(key)
        guard t.count == 1, let v = t.storage.first, v.isFinite else {
            throw SDError.badFile(path: file.path, message: "key \(key): alpha must be one finite number (found shape \(t.shape))")
        }
        return v
    }

    /// A1111's short hash of a LoRA (`Lora hashes` in infotext): the first 12 hex digits of the
    /// SHA-256 of the file after its header (sd-scripts' / additional-networks' addnet hash,
    /// modules/hashes.py addnet_hash_safetensors), or of the `sshs_model_hash` kohya wrote into the
    /// metadata, which A1111 prefers (extensions-builtin/Lora/network.py NetworkOnDisk); A1111 takes
    /// any text there, sdedit only hex digits, so the metadata cannot write into the infotext.
    public static func shortHash(path: String) throws -> String {
        if let h = (try? SafetensorsFile(path: path))?.metadata["sshs_model_hash"], h.count >= 12, h.allSatisfy({ $0.isASCII && $0.isHexDigit }) {
            return String(h.prefix(12))
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        guard data.count >= 8 else { throw SDError.badFile(path: path, message: "too short for a safetensors file") }
        let n = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard n <= UInt64(data.count - 8) else { throw SDError.badFile(path: path, message: "header length \(n) runs past the file") }
        return String(SHA256.hex(data.suffix(from: data.startIndex + 8 + Int(n))).prefix(12))
    }

    // MARK: matching

    /// The updates this file makes to `component`, keyed by model key ("…to_q.weight"), each checked
    /// against the stored shape `shapeOf` gives. Every module of the component must match a key.
    /// `otherSpelling` turns a kohya module name in another spelling into the diffusers-spelled one
    /// (LoRAFile.unetSpellings, .textEncoderSpellings), tried after the diffusers spelling, as A1111 does.
    public func deltas(for component: LoRAComponent, modelKeys: [String], shapeOf: (String) -> [Int]?, weight: Float,
                       otherSpelling: (String) -> String? = { _ in nil }) throws -> [(String, WeightDelta)] {
        let mine = modules.filter { $0.component == component }
        guard !mine.isEmpty else { return [] }
        let keySet = Set(modelKeys)
        var underscored: [String: String] = [:]
        let kohyaPrefix = component == .unet ? "lora_unet_" : "lora_te_"
        for k in modelKeys where k.hasSuffix(".weight") {
            underscored[kohyaPrefix + k.dropLast(7).replacingOccurrences(of: ".", with: "_")] = k
        }
        var out: [(String, WeightDelta)] = []
        var seen: [String: String] = [:]
        for m in mine {
            let someKey = m.tensors.values.sorted().first!
            var target: String?
            if m.dotted {
                // transformers 5 saves CLIPTextModel without "text_model." (diffusers lora_pipeline.py).
                let name = component == .textEncoder && !m.name.hasPrefix("text_model.") ? "text_model." + m.name : m.name
                target = keySet.contains(name + ".weight") ? name + ".weight" : nil
            } else {
                target = underscored[m.name] ?? otherSpelling(m.name).flatMap { underscored[$0] }
            }
            guard let key = target, let shape = shapeOf(key) else {
                throw SDError.badFile(path: path, message: "key \(someKey): no module \(m.name) in this model's \(component.rawValue) "
                                      + LoRAFile.unmatchedReason(m.name))
            }
            if let other = seen[key] {
                throw SDError.badFile(path: path, message: "key \(someKey): \(key) is changed twice (also by \(other))")
            }
            seen[key] = someKey
            let recipe = try LoRARecipe(module: m, file: file, target: shape)
            out.append((key, WeightDelta(source: path, key: someKey, weight: weight, compute: recipe.delta,
                                         lowRank: recipe.lowRank(multiplier: weight))))
        }
        return out
    }
}

extension LoRAFile {
    /// The diffusers spelling of a kohya UNet module name in LDM spelling (`lora_unet_input_blocks_1_1_proj_in`
    /// → `lora_unet_down_blocks_0_attentions_0_proj_in`), nil for any other name.
    public static func unetSpellings(layersPerBlock: Int) -> (String) -> String? {
        { KeyTables.kohyaLDMUNet($0, layersPerBlock: layersPerBlock) }
    }

    /// The other text-encoder spelling A1111 applies: `lora_te1_text_model_…` on CLIP ViT-L (SD 1.x).
    public static func textEncoderSpellings(clipL: Bool) -> (String) -> String? {
        { KeyTables.kohyaTE1($0, clipL: clipL) }
    }

    /// The key that makes a file an SDXL LoRA, if any: a second text encoder, an attention with
    /// several transformer blocks (SD 1.x and 2.x attentions hold one, SDXL's 2 or 10), or kohya's
    /// ss_base_model_version metadata.
    static func sdxlSign(keys: [String], metadata: [String: String]) -> String? {
        if let v = metadata["ss_base_model_version"], v.hasPrefix("sdxl") { return "metadata ss_base_model_version \(v)" }
        return keys.first { k in
            if k.hasPrefix("lora_te2_") || k.hasPrefix("text_encoder_2.") { return true }
            let p = k.split(whereSeparator: { $0 == "_" || $0 == "." })
            return p.indices.dropFirst().dropLast().contains { p[$0] == "blocks" && p[$0 - 1] == "transformer" && (Int(p[$0 + 1]) ?? 0) > 0 }
        }.map { "key \($0)" }
    }

    /// Why a module name matched nothing, in the words a user can act on.
    static func unmatchedReason(_ name: String) -> String {
        if name.hasPrefix("lora_te1_") {
            return "(SDXL's first text encoder; AUTOMATIC1111 applies lora_te1_text_model_… names to SD 1.x models only)"
        }
        // OpenCLIP's own module names (cond_stage_model.model.transformer.resblocks.N…) or CLIP's LDM
        // path: A1111 matches neither; kohya names text-encoder modules lora_te_text_model_encoder_layers_N_…
        // on SD 2.x too, and A1111 maps those onto OpenCLIP (networks.py convert_diffusers_name_to_compvis).
        if name.hasPrefix("lora_te_model_") || name.hasPrefix("lora_te_transformer_") {
            return "(LDM/OpenCLIP text-encoder names, which AUTOMATIC1111 does not apply either; "
                + "kohya spells them lora_te_text_model_encoder_layers_N_…)"
        }
        return "(a LoRA for another architecture? sdedit runs SD 1.x and 2.x LoRAs on their own base models)"
    }
}

/// PEFT's LoraConfig as diffusers writes it into the header (`lora_adapter_metadata`, keys prefixed
/// "unet." / "text_encoder."): a module's alpha is alpha_pattern's, else lora_alpha; without
/// metadata diffusers takes alpha = rank (scale 1), as A1111 does for a module without alpha.
struct PEFTAlphas {
    var alpha: [LoRAComponent: Float] = [:]
    var patterns: [LoRAComponent: [String: Float]] = [:]

    init(metadata: [String: String], path: String) throws {
        guard let raw = metadata["lora_adapter_metadata"] else { return }
        guard let obj = try? JSONSerialization.jsonObject(with: Data(raw.utf8)) as? [String: Any] else {
            throw SDError.badFile(path: path, message: "metadata lora_adapter_metadata is not a JSON object")
        }
        for c in [LoRAComponent.unet, .textEncoder] {
            let p = c.rawValue + "."
            if let d = obj[p + "use_dora"] as? Bool, d {
                throw SDError.badFile(path: path, message: "a DoRA adapter (\(p)use_dora); sdedit merges plain LoRA")
            }
            if let a = (obj[p + "lora_alpha"] as? NSNumber)?.floatValue { alpha[c] = a }
            if let r = obj[p + "use_rslora"] as? Bool, r {
                throw SDError.badFile(path: path, message: "an rsLoRA adapter (\(p)use_rslora); sdedit merges alpha/rank-scaled LoRA")
            }
            if let pat = obj[p + "alpha_pattern"] as? [String: Any] {
                patterns[c] = pat.compactMapValues { ($0 as? NSNumber)?.floatValue }
            }
        }
    }

    /// PEFT matches a pattern against the module path's end (peft tuners_utils get_pattern_key).
    func alpha(component c: LoRAComponent, module: String) -> Float? {
        if let pat = patterns[c] {
            for (k, v) in pat.sorted(by: { $0.key.count > $1.key.count }) where module == k || module.hasSuffix("." + k) { return v }
        }
        return alpha[c]
    }
}
