// The one place where model files become configs and weights. A source is a diffusers folder
// (<component>/config.json + <name>[.fp16].safetensors or shards, as today) or an LDM single file
// (configs built in, or from a `--config` folder, as diffusers' from_single_file(config=...) takes
// them). Each component's weights are renamed here (KeyTables) and checked strictly per component:
// every key the model asks for must exist with its shape, every stored key must be read or be on the
// component's list of keys known to be unread. Models spell only the diffusers names.
import Foundation
import SDCore

public final class ModelSource {
    /// The folder or file the user named (resolved), for messages and metadata.
    public let path: String
    /// The single file, when the source is one.
    public let singleFile: SingleFileCheckpoint?
    /// The diffusers folder whose configs, tokenizer, schedulers and extra components are used: the
    /// model folder itself, or a single file's `--config` folder (nil: the built-in configs).
    public let configFolder: String?
    /// Overrides the scheduler config's prediction_type (diffusers from_single_file(prediction_type=)).
    public let predictionType: String?
    /// LoRA files merged into the UNet and text encoder as they load, with their weights.
    public private(set) var loras: [(file: LoRAFile, weight: Float)] = []

    /// --embeddings files; `embeddings` adds those bundled in the LoRAs.
    private var embeddingFiles: [TextualInversion] = []
    /// The text encoder's weights, for releaseTextEncoderPages.
    private var textEncoderStore: WeightStore?

    /// Textual-inversion embeddings: their tokens join the tokenizer, their vectors the text encoder.
    /// The --embeddings files, then the LoRAs' bundled ones whose name is still free: A1111 skips a
    /// bundled embedding already loaded from the embeddings folder or by an earlier LoRA
    /// (extensions-builtin/Lora/networks.py load_networks, "Skip bundle embedding").
    public var embeddings: [TextualInversion] {
        var names = Set(embeddingFiles.map(\.name))
        return embeddingFiles + loras.flatMap(\.file.embeddings).filter { names.insert($0.name).inserted }
    }

    /// Bundled embeddings left out because an --embeddings file or an earlier LoRA has the name.
    public var skippedBundled: [TextualInversion] {
        let used = embeddings.map { "\($0.name)/\($0.bundledIn ?? "")" }
        return loras.flatMap(\.file.embeddings).filter { !used.contains("\($0.name)/\($0.bundledIn ?? "")") }
    }

    /// skippedBundled as "NAME (in LORA)": A1111 logs each ("Skip bundle embedding"); the caller
    /// decides where to say it.
    public var skippedBundledEmbeddings: [String] { skippedBundled.map { "\($0.name) (in \($0.bundledIn ?? ""))" } }

    /// Add embeddings, checked against the text encoder's width (768 SD 1.x, 1024 SD 2.x).
    public func addEmbeddings(_ list: [TextualInversion]) throws {
        try checkWidth(list)
        embeddingFiles += list
    }

    private func checkWidth(_ list: [TextualInversion]) throws {
        guard !list.isEmpty else { return }
        let width = try CLIPTextConfig(config("text_encoder")).hiddenSize
        for e in list where e.vectors.shape[1] != width {
            let what = e.bundledIn == nil ? "embedding" : "embedding \(e.name) bundled in this LoRA"
            throw SDError.badFile(path: e.path, message: "\(what) is \(e.vectors.shape[1]) wide but this model's text encoder is \(width) "
                                  + "(768: SD 1.x, 1024: SD 2.x); it was made for another model")
        }
    }

    /// Open (header only) the LoRAs to merge; a file that is not a LoRA fails here, before any model
    /// load. Embeddings bundled in them are read and width-checked here too.
    public func addLoRAs(_ specs: [LoRASpec]) throws {
        for s in specs {
            let file = try LoRAFile(path: s.path)
            try checkWidth(file.embeddings)
            loras.append((file, s.weight))
        }
    }

    public init(folder: String, predictionType: String? = nil) {
        path = folder
        singleFile = nil
        configFolder = folder
        self.predictionType = predictionType
    }

    public init(singleFile: String, configFolder: String? = nil, predictionType: String? = nil) throws {
        path = singleFile
        self.singleFile = try SingleFileCheckpoint(path: singleFile)
        self.configFolder = configFolder
        self.predictionType = predictionType
    }

    /// A folder or a .safetensors single file (already resolved by ModelLocator); `config` only
    /// applies to single files.
    public static func open(_ path: String, config: String? = nil, predictionType: String? = nil) throws -> ModelSource {
        if let p = predictionType, p != "epsilon", p != "v_prediction", p != "sample" {
            throw SDError.invalidInput("--prediction-type \(p): use epsilon, v_prediction or sample")
        }
        if path.lowercased().hasSuffix(".safetensors") {
            return try ModelSource(singleFile: path, configFolder: config, predictionType: predictionType)
        }
        if let c = config {
            throw SDError.invalidInput("--config \(c) applies to single-file checkpoints; \(path) is a diffusers folder with its own configs")
        }
        return ModelSource(folder: path, predictionType: predictionType)
    }

    /// The built-in configs in use, for a single file without --config.
    public var builtinFamily: CheckpointFamily? { configFolder == nil ? singleFile?.family : nil }

    /// One line on what this source is taken for (sdedit info --model).
    public var summary: String {
        guard let f = singleFile else { return "\(path): diffusers folder" }
        let family = f.family
        let text = family.openCLIP ? "OpenCLIP ViT-H/14" : "CLIP ViT-L/14"
        let configs = configFolder.map { "configs from \($0)" } ?? "built-in \(family.rawValue) configs and CLIP vocabulary"
        let prediction = predictionType ?? ((try? config("scheduler").string("prediction_type", default: "epsilon")) ?? "?")
        let midas = f.hasDepthModel ? ", MiDaS DPT-hybrid depth estimator" : ""
        return "\(path): single file, \(family.rawValue) (\(f.unetInChannels)-channel UNet, \(text) text encoder, "
            + "\(prediction)\(midas)); \(configs)"
    }

    public var displayName: String {
        if let f = singleFile { return (f.path as NSString).lastPathComponent }
        return ModelLocator.displayName(path)
    }

    /// A single file's MiDaS (depth_model.*) stands for these two folders.
    static let depthComponents: Set<String> = ["depth_estimator", "feature_extractor"]

    /// Whether `component`'s config comes from the built-in ones: always for a single file without
    /// --config; for the depth estimator (and its processor, which must agree with it) of a file that
    /// carries one, also when the --config folder has no depth_estimator/config.json.
    func usesBuiltin(_ component: String) -> Bool {
        guard let f = singleFile else { return false }
        if Self.depthComponents.contains(component) {
            guard f.hasDepthModel else { return false }
            return configFolder.map { !FileManager.default.fileExists(atPath: $0 + "/depth_estimator/config.json") } ?? true
        }
        return configFolder == nil
    }

    /// Whether the source has `component` (a folder's sub-folder; a single file's three parts, and
    /// its MiDaS when it carries one).
    public func has(_ component: String) -> Bool {
        if singleFile != nil, ["unet", "vae", "text_encoder", "tokenizer", "scheduler"].contains(component) { return true }
        if singleFile?.hasDepthModel == true, Self.depthComponents.contains(component) { return true }
        if usesBuiltin(component), singleFile?.family.config(component) != nil { return true }
        guard let folder = configFolder else { return false }
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: folder + "/" + component, isDirectory: &isDir) && isDir.boolValue
    }

    /// `component`/`file` of the config folder, else the built-in config; the scheduler gets the
    /// prediction_type override.
    public func config(_ component: String, file: String = "config.json") throws -> ConfigReader {
        var r: ConfigReader
        if let folder = configFolder, !usesBuiltin(component) {
            r = try ConfigReader(path: folder + "/" + component + "/" + file)
        } else if let builtin = singleFile?.family.config(component) {
            r = builtin
        } else {
            throw SDError.missingModel("\(path): a single file has no \(component)/ and sdedit has no built-in one for "
                                       + "\(singleFile?.family.rawValue ?? "it"); pass --config DIR (a diffusers folder of the same model)")
        }
        if component == "scheduler", let p = predictionType {
            var d = r.dict
            d["prediction_type"] = p
            r = ConfigReader(dict: d, path: r.path + " with prediction_type \(p)")
        }
        return r
    }

    /// The pipeline's model_index.json (or its built-in values), nil when absent.
    public func modelIndex() throws -> ConfigReader? {
        if let folder = configFolder {
            return FileManager.default.fileExists(atPath: folder + "/model_index.json") ? try ConfigReader(path: folder + "/model_index.json") : nil
        }
        return singleFile?.family.config("model_index")
    }

    /// The config folder's tokenizer/, else the built-in CLIP vocabulary with the family's pad token.
    public func tokenizer() throws -> CLIPTokenizer {
        let tok = try configFolder.map { try CLIPTokenizer(folder: $0 + "/tokenizer") } ?? CLIPTokenizer.builtin(padToken: singleFile!.family.padToken)
        guard !embeddings.isEmpty else { return tok }
        // New ids follow the text encoder's vocabulary, where loadTextEncoder appends the rows.
        var next = try CLIPTextConfig(config("text_encoder")).vocabSize
        for e in embeddings {
            let n = e.vectors.shape[0]
            try tok.addTokens([(e.name, Array(next..<(next + n)))] + e.tokens.dropFirst().enumerated().map { ($1, [next + 1 + $0]) })
            next += n
        }
        return tok
    }

    // MARK: components

    /// A component built from its own config (benchmarks and tests; pipelines cross-check configs first).
    public func loadUNet(precision: Precision = .fp32) throws -> UNet2DConditionModel {
        try loadUNet(UNetConfig(config("unet")), precision: precision)
    }
    public func loadVAE(precision: Precision = .fp32) throws -> AutoencoderKL { try loadVAE(VAEConfig(config("vae")), precision: precision) }
    public func loadTextEncoder(precision: Precision = .fp32) throws -> CLIPTextModel {
        try loadTextEncoder(CLIPTextConfig(config("text_encoder")), precision: precision)
    }

    public func loadTextEncoder(_ c: CLIPTextConfig, precision: Precision = .fp32) throws -> CLIPTextModel {
        let store = try textEncoderWeights(c, precision: precision)
        var model = try CLIPTextModel(config: c, weights: store)
        for e in embeddings { model.appendTokenEmbeddings(e.vectors) }
        try store.checkAllUsed()
        textEncoderStore = store
        return model
    }

    /// Give back the mapped pages of the text encoder loaded last (WeightStore.releaseResidentPages):
    /// the bytes released.
    public func releaseTextEncoderPages() -> Int { textEncoderStore?.releaseResidentPages() ?? 0 }

    public func loadVAE(_ c: VAEConfig, precision: Precision = .fp32) throws -> AutoencoderKL {
        let store = try weights("vae", precision: precision, folderTable: KeyTables.folderVAE) { _ in
            (SingleFileCheckpoint.vaePrefix, { KeyTables.vae($0, levels: c.blockOutChannels.count) })
        }
        let model = try AutoencoderKL(config: c, weights: store)
        try store.checkAllUsed()
        return model
    }

    public func loadUNet(_ c: UNetConfig, precision: Precision = .fp32) throws -> UNet2DConditionModel {
        let store = try unetWeights(c, precision: precision)
        let model = try UNet2DConditionModel(config: c, weights: store)
        try store.checkAllUsed()
        return model
    }

    /// The text encoder's and UNet's weight stores under the model's key names, LoRAs queued.
    public func textEncoderWeights(_ c: CLIPTextConfig, precision: Precision = .fp32) throws -> WeightStore {
        try weights("text_encoder", precision: precision, folderTable: KeyTables.folderTextEncoder,
                    // CLIP ViT-L (SD 1.x) is the quick-GELU text encoder, OpenCLIP ViT-H (SD 2.x) exact GELU.
                    loraNames: LoRAFile.textEncoderSpellings(clipL: c.quickGELU)) { f -> (String, (String) -> KeyTables.Mapped?) in
            if f.family.openCLIP { return (f.textPrefix, { KeyTables.openCLIP($0, layers: c.layers) }) }
            return (SingleFileCheckpoint.clipLPrefix, { KeyTables.clipL($0) })
        }
    }

    public func unetWeights(_ c: UNetConfig, precision: Precision = .fp32) throws -> WeightStore {
        try weights("unet", precision: precision, loraNames: LoRAFile.unetSpellings(layersPerBlock: c.layersPerBlock)) { _ in
            (SingleFileCheckpoint.unetPrefix, { KeyTables.unet($0, layersPerBlock: c.layersPerBlock) })
        }
    }

    /// The depth estimator: a single file's own MiDaS (512-depth-ema's depth_model.model.*, timm/MiDaS
    /// names through KeyTables.midas) when it carries one, else a diffusers depth_estimator/ (the
    /// model folder, or a single file's --config folder).
    public func loadDPT(_ c: DPTConfig, precision: Precision = .fp32) throws -> DPTForDepthEstimation {
        let fromFile = singleFile?.hasDepthModel == true
        let store = try weights("depth_estimator", precision: precision,
                                single: fromFile ? { _ in (SingleFileCheckpoint.depthPrefix, KeyTables.midas) } : nil)
        let model = try DPTForDepthEstimation(config: c, weights: store)
        let unread = DPTForDepthEstimation.unreadKeys(c)
        try store.checkAllUsed(ignoring: unread.keys, ignoringPrefixes: unread.prefixes)
        return model
    }

    /// One component's store: from the single file under the prefix `single` names (with its key
    /// table), else from the config folder's `component`/ files (with `folderTable`); LoRA module names
    /// in another spelling go through `loraNames` (LoRAFile.deltas).
    func weights(_ component: String, precision: Precision, folderTable: (String) -> KeyTables.Mapped = { [($0, .none)] },
                 loraNames: (String) -> String? = { _ in nil },
                 single: ((SingleFileCheckpoint) -> (String, (String) -> KeyTables.Mapped?))?) throws -> WeightStore {
        let store = try baseWeights(component, precision: precision, folderTable: folderTable, single: single)
        if let c = LoRAComponent(rawValue: component) {
            let keys = store.keys
            for (file, w) in loras {
                for (key, delta) in try file.deltas(for: c, modelKeys: keys, shapeOf: store.storedShape, weight: w, otherSpelling: loraNames) { store.add(delta, to: key) }
            }
        }
        return store
    }

    private func baseWeights(_ component: String, precision: Precision, folderTable: (String) -> KeyTables.Mapped,
                             single: ((SingleFileCheckpoint) -> (String, (String) -> KeyTables.Mapped?))?) throws -> WeightStore {
        if let f = singleFile, let single = single {
            let (prefix, table) = single(f)
            return WeightStore(entries: try f.entries(prefix: prefix, table), name: "\(f.path) [\(prefix)*]", precision: precision)
        }
        guard let folder = configFolder else {
            throw SDError.missingModel("\(path): no \(component)/; pass --config DIR (a diffusers folder that has one)")
        }
        let dir = folder + "/" + component
        var entries: [String: WeightSource] = [:]
        for p in try ModelSource.weightFiles(in: dir, baseNames: component == "text_encoder" || component == "depth_estimator"
                                                 ? ["model"] : ["diffusion_pytorch_model"]) {
            let file = try SafetensorsFile(path: p)
            for k in file.keys { for m in folderTable(k) { entries[m.key] = WeightSource(file, k, m.transform) } }
        }
        return WeightStore(entries: entries, name: dir, precision: precision)
    }

    /// Weight files of a component folder, preferring full precision: <name>.safetensors, then the
    /// fp16 variant (converted on load), then shards. Pickle files (.bin/.ckpt) are never opened.
    public static func weightFiles(in folder: String, baseNames: [String]) throws -> [String] {
        let fm = FileManager.default
        let entries = (try? fm.contentsOfDirectory(atPath: folder)) ?? []
        for base in baseNames {
            for candidate in ["\(base).safetensors", "\(base).fp16.safetensors"] where entries.contains(candidate) {
                return [folder + "/" + candidate]
            }
            let shards = entries.filter { $0.hasPrefix(base + "-") && $0.hasSuffix(".safetensors") && $0.contains("-of-") }.sorted()
            if !shards.isEmpty { return shards.map { folder + "/" + $0 } }
        }
        if let pickle = entries.first(where: { $0.hasSuffix(".bin") || $0.hasSuffix(".ckpt") || $0.hasSuffix(".pt") }) {
            throw SDError.missingModel("\(folder)/\(pickle): pickle checkpoints are refused (loading one can run arbitrary code); "
                + "use the .safetensors files of the same repository, or convert once with "
                + "`python -c \"import torch, safetensors.torch as s; s.save_file(torch.load('F', weights_only=True), 'F.safetensors')\"`")
        }
        throw SDError.missingModel("\(folder): no weights found (looked for \(baseNames.map { $0 + "[.fp16].safetensors" }.joined(separator: ", ")))")
    }
}
