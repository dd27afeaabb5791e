// An original LDM single-file checkpoint (.safetensors: 512-inpainting-ema, 512-depth-ema,
// x4-upscaler-ema, v2-1_768-ema-pruned, sd-v1-5, …), as A1111 and ComfyUI users have them. Its kind is
// read from keys and shapes as diffusers' infer_diffusers_model_type does (loaders/single_file_utils.py,
// CHECKPOINT_KEY_NAMES; stable-diffusion.cpp model.cpp likewise): the UNet's input channels and
// class embedding, and which text encoder's keys are present. Every key must belong to a component
// or to the list of non-weight keys real files carry; anything else is refused by name.
import SDCore

public final class SingleFileCheckpoint {
    public let path: String
    let file: SafetensorsFile
    public let family: CheckpointFamily
    /// The UNet's input channels (9 inpainting, 5 depth, 7 x4, 4 base).
    public var unetInChannels: Int { file.info(Self.unetPrefix + "input_blocks.0.0.weight")!.shape[1] }

    static let unetPrefix = "model.diffusion_model.", vaePrefix = "first_stage_model."
    static let openCLIPPrefix = "cond_stage_model.model.", clipLPrefix = "cond_stage_model.transformer."
    /// 512-depth-ema's MiDaS DPT-hybrid (LDM ldm/modules/midas/api.py: MiDaSInference.model).
    static let depthPrefix = "depth_model.model."
    /// Stability AI's generative-models (SGM) spelling of the same OpenCLIP ViT-H, as in files saved by
    /// that code base (diffusers reads it with this prefix too: convert_open_clip_checkpoint).
    static let sgmOpenCLIPPrefix = "conditioner.embedders.0.model."

    /// Keys real files carry beside the three components' weights: LDM's DDPM schedule buffers
    /// (register_schedule; recomputed from the scheduler config instead), EMA bookkeeping and, in
    /// non-"-ema" files, the EMA copy itself; the x4's low-res noise schedule.
    static let nonWeightKeys: Set<String> = [
        "betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod", "sqrt_one_minus_alphas_cumprod",
        "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod", "sqrt_recipm1_alphas_cumprod", "posterior_variance",
        "posterior_log_variance_clipped", "posterior_mean_coef1", "posterior_mean_coef2", "logvar",
    ]
    static let nonWeightPrefixes = ["model_ema.", "low_scale_model."]

    public init(path: String) throws {
        self.path = path
        file = try SafetensorsFile(path: path)
        family = try SingleFileCheckpoint.detect(file)
        hasDepthModel = family == .sd2Depth && file.keys.contains { $0.hasPrefix(Self.depthPrefix) }
        textPrefix = !family.openCLIP ? Self.clipLPrefix
            : file.info(Self.openCLIPPrefix + "token_embedding.weight") != nil ? Self.openCLIPPrefix : Self.sgmOpenCLIPPrefix
        let known = [Self.unetPrefix, Self.vaePrefix, textPrefix] + (family == .sd2Depth ? [Self.depthPrefix] : []) + Self.nonWeightPrefixes
        let stray = file.keys.filter { k in !Self.nonWeightKeys.contains(k) && !known.contains { k.hasPrefix($0) } }
        if !stray.isEmpty {
            throw SDError.badFile(path: path, message: "\(stray.count) key(s) belong to no component of a \(family.rawValue) "
                                  + "checkpoint: \(stray.prefix(5).joined(separator: ", "))\(stray.count > 5 ? ", …" : "")")
        }
    }

    /// The file's text-encoder prefix: OpenCLIP (LDM or SGM spelling) for the SD 2 family, CLIP ViT-L for SD 1.x.
    let textPrefix: String

    /// Whether the file carries the MiDaS depth estimator (512-depth-ema does; a depth file saved
    /// without it needs a depth_estimator/ from --config, or --depth-map).
    public let hasDepthModel: Bool

    /// Whether `key` (with its prefix) is stored; for messages and tests.
    public func has(_ key: String) -> Bool { file.info(key) != nil }

    static func detect(_ f: SafetensorsFile) throws -> CheckpointFamily {
        func bad(_ m: String) -> SDError { .badFile(path: f.path, message: m) }
        let convIn = unetPrefix + "input_blocks.0.0.weight"
        guard let conv = f.info(convIn), conv.shape.count == 4 else {
            throw bad("not a Stable Diffusion 1.x/2.x single-file checkpoint (no 4-D \(convIn)); for a diffusers "
                      + "component file, pass its model folder")
        }
        // (An SDXL refiner also keeps an OpenCLIP under the SGM prefix; its UNet's label_emb refuses it below.)
        let openCLIP = f.info(openCLIPPrefix + "token_embedding.weight") != nil
            || f.info(sgmOpenCLIPPrefix + "token_embedding.weight") != nil
        let clipL = f.info(clipLPrefix + "text_model.embeddings.token_embedding.weight") != nil
        guard openCLIP != clipL else {
            throw bad(openCLIP ? "holds both an OpenCLIP and a CLIP ViT-L text encoder (SDXL and later are not supported)"
                      : "has no text encoder (\(openCLIPPrefix)* or \(clipLPrefix)*)")
        }
        let channels = conv.shape[1], classLabels = f.info(unetPrefix + "label_emb.weight") != nil
        switch (channels, openCLIP, classLabels) {
        case (9, true, false): return .sd2Inpainting
        case (5, true, false): return .sd2Depth
        case (7, true, true): return .x4Upscaler
        case (4, true, false): return isTurbo(f) ? .sdTurbo : .sd21
        case (4, false, false): return .sd15
        case (9, false, false): return .sd15Inpainting
        default:
            throw bad("a UNet with \(channels) input channels\(classLabels ? " and a class embedding" : "") and "
                      + "\(openCLIP ? "OpenCLIP" : "CLIP ViT-L") is none of the checkpoints sdedit knows (9: inpainting, "
                      + "5: depth, 7: x4 upscaler, 4: base)")
        }
    }

    /// SD-Turbo has SD 2.1-base's architecture, so its weights cannot tell it from SD 2.x; only its name
    /// (sd_turbo.safetensors, as Stability AI publishes it) or a metadata value naming it can.
    static func isTurbo(_ f: SafetensorsFile) -> Bool {
        let name = (f.path.split(separator: "/").last.map(String.init) ?? f.path).lowercased()
        return name.contains("turbo") || f.metadata.values.contains { $0.lowercased().contains("sd-turbo") }
    }

    /// Every component's keys through its table, as loading would with these config values (the
    /// fuzz target's entry: a hostile key name must give an error, never a trap).
    public func checkKeys(layersPerBlock l: Int, vaeLevels n: Int, textLayers t: Int) throws -> Int {
        let text: (String) -> KeyTables.Mapped? = family.openCLIP ? { KeyTables.openCLIP($0, layers: t) } : { KeyTables.clipL($0) }
        return try entries(prefix: Self.unetPrefix) { KeyTables.unet($0, layersPerBlock: l) }.count
            + entries(prefix: Self.vaePrefix) { KeyTables.vae($0, levels: n) }.count + entries(prefix: textPrefix, text).count
            + (hasDepthModel ? entries(prefix: Self.depthPrefix, KeyTables.midas).count : 0)
    }

    /// Model keys → stored tensors for one component: the keys under `prefix`, renamed by `table`
    /// (KeyTables). A key the table does not know is refused with the file and prefix.
    func entries(prefix: String, _ table: (String) -> KeyTables.Mapped?) throws -> [String: WeightSource] {
        var out: [String: WeightSource] = [:], unknown: [String] = []
        for k in file.keys where k.hasPrefix(prefix) {
            guard let mapped = table(String(k.dropFirst(prefix.count))) else { unknown.append(k); continue }
            for m in mapped { out[m.key] = WeightSource(file, k, m.transform) }
        }
        if !unknown.isEmpty {
            throw SDError.badFile(path: path, message: "\(unknown.count) key(s) under \(prefix) are not part of a "
                                  + "\(family.rawValue) checkpoint: \(unknown.prefix(5).joined(separator: ", "))\(unknown.count > 5 ? ", …" : "")")
        }
        return out
    }
}
