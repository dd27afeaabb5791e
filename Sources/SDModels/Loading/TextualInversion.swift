// Textual-inversion embeddings: each NAME.safetensors of an --embeddings folder defines the token
// NAME (AUTOMATIC1111's habit, modules/textual_inversion/textual_inversion.py), in A1111's layouts
// (`emb_params`, `string_to_param.*`) or diffusers' (`learned_embeds`, or one tensor under the token
// key: loaders/textual_inversion.py). A multi-vector embedding of n rows becomes the tokens NAME,
// NAME_1 … NAME_{n-1}, which NAME in a prompt expands to (diffusers maybe_convert_prompt).
import Foundation
import SDCore

public struct TextualInversion {
    public let name: String
    public let path: String
    /// [vectors, width]
    public let vectors: Tensor
    /// The LoRA an embedding came bundled in (its `<lora:NAME>` name), nil for an --embeddings file.
    public let bundledIn: String?

    public init(path: String, token: String? = nil) throws {
        let f = try SafetensorsFile(path: path)
        func bad(_ why: String) -> SDError { .badFile(path: path, message: why) }
        let keys = f.keys
        if keys.contains("clip_l") || keys.contains("clip_g") { throw bad("an SDXL embedding (clip_l/clip_g); sdedit runs SD 1.x and 2.x models") }
        let key: String
        if keys.contains("emb_params") {
            key = "emb_params"
        } else if let k = keys.first(where: { $0.hasPrefix("string_to_param.") }), keys.filter({ $0.hasPrefix("string_to_param.") }).count == 1 {
            key = k
        } else if keys.contains("learned_embeds") {
            key = "learned_embeds"
        } else if keys.count == 1 {
            key = keys[0]
        } else {
            throw bad("no embedding found (expected emb_params, string_to_param.*, learned_embeds or one tensor; found \(keys.prefix(5).joined(separator: ", ")))")
        }
        try self.init(file: f, key: key, name: token ?? ((path as NSString).lastPathComponent as NSString).deletingPathExtension, bundledIn: nil)
    }

    /// The vectors stored under `key`, checked: [width] or [vectors ≤ 75, width], all finite, a one-word name.
    init(file f: SafetensorsFile, key: String, name: String, bundledIn: String?) throws {
        path = f.path
        self.name = name
        self.bundledIn = bundledIn
        func bad(_ why: String) -> SDError { .badFile(path: f.path, message: why) }
        let shape = f.info(key)!.shape
        guard shape.count == 1 || shape.count == 2, shape.allSatisfy({ $0 > 0 }), shape.count == 1 || shape[0] <= 75 else {
            throw bad("embedding \(key) has shape \(shape); expected [width] or [vectors ≤ 75, width]")
        }
        let t = try f.tensor(key)
        guard t.nonFiniteCount == 0 else { throw bad("embedding \(key) has non-finite values (NaN or Inf)") }
        vectors = t.reshaped([shape.count == 1 ? 1 : shape[0], shape.last!])
        guard !name.isEmpty, !name.contains(where: \.isWhitespace) else { throw bad("the token name \"\(name)\" must be one word") }
    }

    /// Embeddings bundled in a LoRA file, as AUTOMATIC1111 ≥ 1.7 reads them (extensions-builtin/Lora/
    /// networks.py load_network, then textual_inversion.py create_embedding_from_data): a key
    /// `bundle_emb.NAME.string_to_param.K` or `bundle_emb.NAME.K` (one tensor: a diffusers concept) is the
    /// embedding NAME. A1111 keeps the last of several string_to_param tensors and ignores other keys
    /// beside one; sdedit refuses any second tensor, so every key of a file is used or named.
    static func bundled(in f: SafetensorsFile, keys: [String], lora: String) throws -> [TextualInversion] {
        var byName: [String: String] = [:]
        var order: [String] = []
        for key in keys {
            func bad(_ why: String) -> SDError { .badFile(path: f.path, message: "key \(key): \(why)") }
            let rest = key.dropFirst(bundlePrefix.count)
            // A1111 splits the name at the first '.', so a name never holds one.
            guard let dot = rest.firstIndex(of: "."), dot > rest.startIndex, rest.index(after: dot) < rest.endIndex,
                  rest[rest.index(after: dot)...] != "string_to_param" else {
                throw bad("a bundled embedding is bundle_emb.NAME.string_to_param.* or bundle_emb.NAME.<tensor>")
            }
            let name = String(rest[..<dot]), sub = rest[rest.index(after: dot)...]
            if sub == "clip_l" || sub == "clip_g" { throw bad("an SDXL embedding (clip_l/clip_g); sdedit runs SD 1.x and 2.x models") }
            if let first = byName[name] {
                throw bad("a second tensor for the bundled embedding \(name) (also \(first)); an embedding is one tensor")
            }
            byName[name] = key
            order.append(name)
        }
        return try order.map { try TextualInversion(file: f, key: byName[$0]!, name: $0, bundledIn: lora) }
    }

    static let bundlePrefix = "bundle_emb."

    /// Every NAME.safetensors of `folder`, by name.
    public static func folder(_ folder: String) throws -> [TextualInversion] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw SDError.io(path: folder, message: "--embeddings needs a folder of NAME.safetensors files")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.lowercased().hasSuffix(".safetensors") }.sorted()
        return try files.map { try TextualInversion(path: (folder as NSString).appendingPathComponent($0)) }
    }

    /// A1111's short hash of an embedding (`TI hashes` in infotext): the first 12 hex digits of the
    /// SHA-256 of the whole file (textual_inversion.py load_from_file: set_hash(hashes.sha256(path)),
    /// shorthash = hash[0:12]) — unlike a LoRA's, the header is hashed too. A bundled embedding's is
    /// its LoRA's name (networks.py load_network: `shorthash = BundledTIHash(name)`, written while the
    /// option lora_bundled_ti_to_infotext is on, its default).
    public func shortHash() throws -> String {
        if let lora = bundledIn { return lora }
        let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        return String(SHA256.hex(data).prefix(12))
    }

    /// The token strings this embedding adds, one per vector.
    public var tokens: [String] { (0..<vectors.shape[0]).map { $0 == 0 ? name : "\(name)_\($0)" } }
}
