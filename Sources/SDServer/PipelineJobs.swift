// ServerJobs on SDPipelines: the same pipelines, requests and A1111 parameters text as the commands
// (Sources/sdedit/Txt2ImgCommand.swift, Img2ImgCommand.swift, InpaintOptions.swift,
// Depth2ImgCommand.swift), so a request and the equivalent command line give the same PNG bytes.
// Loaded models stay loaded between requests (the current checkpoint and the last one used).
import Foundation
import SDCore
import SDModels
import SDPipelines

public struct PipelineJobsOptions {
    /// --model: the default checkpoint (a path or hub id from the command line, never from a request).
    public var model: String?
    public var modelsDir: String?
    public var loraDir: String?
    public var embeddings: String?
    public var precision: Precision = .fp32
    /// The "Version" field of the parameters text ("sdedit 0.1.0").
    public var version = "sdedit"
    public init() {}
}

public final class PipelineJobs: ServerJobs, @unchecked Sendable {
    let options: PipelineJobsOptions
    private let lock = NSLock()
    private var current: String
    /// Loaded models by path and merged LoRAs, most recently used last; at most two stay loaded.
    private var loaded: [(path: String, loras: [LoRASpec], model: StableDiffusionModel, name: String)] = []

    public init(options: PipelineJobsOptions) throws {
        self.options = options
        current = ""
        guard let first = checkpoints().first else {
            throw SDError.invalidInput("no checkpoint: give --model, or --models-dir with diffusers folders or .safetensors files")
        }
        current = first.title
    }

    // MARK: Checkpoints

    public func checkpoints() -> [Checkpoint] {
        var list: [Checkpoint] = []
        if let m = options.model, let path = try? ModelLocator.resolve(m) {
            list.append(Checkpoint(title: m, modelName: ModelLocator.displayName(path), filename: path))
        }
        return list + scanModelsDir(upscalers: false)
    }

    /// The diffusers folders (x4 upscalers, or every other pipeline) and, for checkpoints, the
    /// .safetensors files directly in --models-dir, by name.
    func scanModelsDir(upscalers: Bool) -> [Checkpoint] {
        guard let dir = options.modelsDir, let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        var list: [Checkpoint] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = (dir as NSString).appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { continue }
            if isDir.boolValue {
                guard let index = try? String(contentsOfFile: path + "/model_index.json", encoding: .utf8),
                      index.contains("StableDiffusionUpscalePipeline") == upscalers else { continue }
                list.append(Checkpoint(title: name, modelName: name, filename: path))
            } else if !upscalers && name.lowercased().hasSuffix(".safetensors") {
                list.append(Checkpoint(title: name, modelName: (name as NSString).deletingPathExtension, filename: path))
            }
        }
        return list
    }

    public var currentCheckpoint: String { lock.withLock { current } }

    public func selectCheckpoint(_ title: String) throws {
        _ = try model(title)
        lock.withLock { current = title }
    }

    /// The loaded model of a listed checkpoint (its title or model name) with `loras` merged;
    /// loading it when needed.
    func model(_ title: String?, loras: [LoRASpec] = []) throws -> (model: StableDiffusionModel, name: String) {
        let t = title ?? currentCheckpoint
        guard let c = checkpoints().first(where: { $0.title == t || $0.modelName == t }) else {
            throw APIError.notFound("sd_model_checkpoint: no checkpoint '\(t)'")
        }
        return try load(c.filename, loras: loras)
    }

    /// The model at `path` (a listed checkpoint or upscaler), from the cache or loaded.
    func load(_ path: String, loras: [LoRASpec] = []) throws -> (model: StableDiffusionModel, name: String) {
        if let i = loaded.firstIndex(where: { $0.path == path && $0.loras == loras }) {
            let hit = loaded.remove(at: i)
            loaded.append(hit)
            return (hit.model, hit.name)
        }
        // Free the least recently used first: two SD 2 models in fp32 are 10 GB.
        if loaded.count >= 2 { loaded.removeFirst() }
        let source = try ModelSource.open(path)
        try source.addLoRAs(loras)
        if let dir = options.embeddings { try source.addEmbeddings(TextualInversion.folder(dir)) }
        let sd = try StableDiffusionModel(source: source, precision: options.precision)
        loaded.append((path, loras, sd, source.displayName))
        return (sd, source.displayName)
    }

    // MARK: Jobs

    public func txt2img(_ s: GenerationSettings, control: JobControl) throws -> JobOutput {
        let (sd, name) = try model(s.checkpoint, loras: loraSpecs(s.prompt))
        let pipe = try Txt2ImgPipeline(model: sd)
        return try generate(s, sd, name: name, strength: 1, control: control, fields: { _, _ in [] }) { r, progress in
            try pipe(width: s.width, height: s.height, r, progress: progress)
        }
    }

    public func img2img(_ s: GenerationSettings, _ e: EditSettings, control: JobControl) throws -> JobOutput {
        let (sd, name) = try model(s.checkpoint, loras: loraSpecs(s.prompt))
        let original = e.image.rgb8()
        guard let maskImage = e.mask else {
            let pipe = try Img2ImgPipeline(model: sd)
            return try generate(s, sd, name: name, strength: e.denoisingStrength, control: control,
                                fields: { r, _ in [("Denoising strength", "\(r.strength)")] }) { r, progress in
                try pipe(image: original, r, progress: progress)
            }
        }
        let mask = try MaskPreparation.binaryMask(maskImage, channel: .luminance, invert: e.invertMask)
        guard mask.storage.contains(where: { $0 > 0 }) else {
            throw APIError.unprocessable("mask: nothing to repaint (white = repaint, black = keep)")
        }
        let pipe = try InpaintPipeline(model: sd)
        var o = InpaintImageOptions()
        o.area = e.inpaintFullRes ? .masked : .whole
        o.padding = e.inpaintFullResPadding
        o.maskBlur = Double(e.maskBlur)
        o.content = [MaskedContent.fill, .original, .latentNoise, .latentNothing][e.inpaintingFill]
        var box: CropBox? = nil
        return try generate(s, sd, name: name, strength: e.denoisingStrength, control: control, fields: { r, _ in
            [("Denoising strength", "\(r.strength)"), ("Mask blur", "\(o.maskBlur)"),
             ("Inpaint area", box == nil ? "Whole picture" : "Only masked"),
             ("Masked area padding", "\(o.padding)"), ("Mask grow", "\(o.maskGrow)")]
                + (o.content == .original ? [] : [("Masked content", o.content.a1111Name)])
        }) { r, progress in
            let result = try pipe(image: original, mask: mask, r, options: o, progress: progress)
            box = result.box
            return result.image
        }
    }

    public func depth2img(_ s: GenerationSettings, _ e: EditSettings, control: JobControl) throws -> JobOutput {
        let (sd, name) = try model(s.checkpoint, loras: loraSpecs(s.prompt))
        try Depth2ImgPipeline.checkIsDepthModel(sd)
        let pipe = try Depth2ImgPipeline(model: sd, estimator: DepthEstimator(source: sd.source, precision: options.precision))
        let original = e.image.rgb8()
        return try generate(s, sd, name: name, strength: e.denoisingStrength, control: control,
                            fields: { r, _ in [("Denoising strength", "\(r.strength)"), ("Depth", "DPT-hybrid")] }) { r, progress in
            try pipe(image: original, depth: nil, r, progress: progress)
        }
    }

    /// `sdedit upscale IMAGE --seed 0` with its defaults (A1111's extras have no seed or prompt).
    public func upscale(_ image: Image, upscaler: String, control: JobControl) throws -> [UInt8] {
        guard let u = scanModelsDir(upscalers: true).first(where: { $0.title == upscaler }) else {
            throw APIError.unprocessable("upscaler_1: unknown upscaler '\(upscaler)'")
        }
        let (sd, name) = try load(u.filename)
        let pipe = try UpscalePipeline(model: sd)
        let original = image.rgb8()
        var r = UpscaleRequest(prompt: "")
        r.scheduler = try sd.defaultSchedulerKind()
        control.beginImage(0)
        let padded = Compositing.padToMultiple(original, sd.vae.config.scaleFactor)
        let decoded = try pipe(image: padded.toTensor(), r) { done, total in control.step(done, of: total) }
        let out = Compositing.crop(Image(tensor: decoded), width: original.width * 4, height: original.height * 4)
        let text = Self.parameters(r.prompt, negative: nil, fields: [
            ("Steps", "\(r.steps)"), ("Sampler", Samplers.name(r.scheduler!)), ("CFG scale", "\(r.guidance)"),
            ("Seed", "\(r.seed)"), ("Size", "\(out.width)x\(out.height)"), ("Model", name),
            ("Noise level", "\(r.noiseLevel)"), ("Tile", r.tile.map { "\($0)" } ?? "off"),
            ("Precision", options.precision.rawValue), ("Version", options.version),
        ])
        return try out.encodePNG(text: [("parameters", text)])
    }

    public func loras() -> [(name: String, path: String)] {
        guard let dir = options.loraDir, let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        return names.sorted().filter { $0.lowercased().hasSuffix(".safetensors") }.map {
            (($0 as NSString).deletingPathExtension, (dir as NSString).appendingPathComponent($0))
        }
    }

    public func embeddings() -> [String] {
        guard let dir = options.embeddings, let list = try? TextualInversion.folder(dir) else { return [] }
        return list.map(\.name)
    }

    public func upscalers() -> [String] { ["None"] + scanModelsDir(upscalers: true).map(\.title) }

    // MARK: The generation loop

    /// Images seed, seed + 1, … (A1111's all_seeds; the CLI's --count), each with its parameters
    /// text as the commands write it, stopping between images on interrupt.
    func generate(_ s: GenerationSettings, _ sd: StableDiffusionModel, name: String, strength: Double, control: JobControl,
                  fields: (GenerationRequest, Image) -> [(String, String)],
                  run: (GenerationRequest, @escaping SDPipelines.Progress) throws -> Image) throws -> JobOutput {
        let loraField = try loraHashes(loraSpecs(s.prompt))
        let scheduler = try s.scheduler ?? sd.defaultSchedulerKind()
        let base = s.seed < 0 ? UInt64(UInt32.random(in: 0...UInt32.max)) : UInt64(s.seed)
        var out = JobOutput()
        out.modelName = name
        out.samplerName = Samplers.name(scheduler)
        for i in 0..<s.imageCount {
            if control.isInterrupted { break }
            control.beginImage(i)
            var r = GenerationRequest(prompt: s.prompt, strength: strength)
            r.negativePrompt = s.negativePrompt.isEmpty ? nil : s.negativePrompt
            r.steps = s.steps
            r.guidance = s.cfgScale
            r.seed = base &+ UInt64(i)
            r.scheduler = scheduler
            r.promptSyntax = .a1111
            _ = try sd.promptNotes(r.prompt, negative: r.negativePrompt, syntax: r.promptSyntax)
            let image = try run(r) { done, total in control.step(done, of: total) }
            let text = Self.parameters(r.prompt, negative: r.negativePrompt, fields: [
                ("Steps", "\(r.steps)"), ("Sampler", out.samplerName), ("CFG scale", "\(r.guidance)"),
                ("Seed", "\(r.seed)"), ("Size", "\(image.width)x\(image.height)"), ("Model", name),
            ] + fields(r, image) + [("Precision", options.precision.rawValue), ("Version", options.version)] + loraField)
            out.images.append(try image.encodePNG(text: [("parameters", text)]))
            out.seeds.append(r.seed)
            out.infotexts.append(text)
            out.width = image.width; out.height = image.height
        }
        return out
    }

    /// The prompt's `<lora:NAME:W>` tags as files of --lora-dir (NAME.safetensors; a name with a
    /// folder in it is refused). The text-encoder weight of a two-weight tag is used for both, as
    /// the commands do.
    func loraSpecs(_ prompt: String) throws -> [LoRASpec] {
        try ExtraNetworks.parse(prompt).loras.map {
            try LoRASpec.resolve(tag: $0.name, weight: Float($0.weight), directory: options.loraDir)
        }
    }

    /// A1111's `Lora hashes: "NAME: hash, …"` field (extensions-builtin/Lora/extra_networks_lora.py),
    /// none without LoRAs.
    func loraHashes(_ specs: [LoRASpec]) throws -> [(String, String)] {
        guard !specs.isEmpty else { return [] }
        let hashes = try specs.map { s -> String in
            let name = ((s.path as NSString).lastPathComponent as NSString).deletingPathExtension
            return name.replacingOccurrences(of: ":", with: "").replacingOccurrences(of: ",", with: "") + ": " + (try LoRAFile.shortHash(path: s.path))
        }
        return [("Lora hashes", "\"" + hashes.joined(separator: ", ") + "\"")]
    }

    /// The A1111 parameters text: prompt, "Negative prompt: …" when there is one, the fields line.
    static func parameters(_ prompt: String, negative: String?, fields: [(String, String)]) -> String {
        var s = prompt
        if let n = negative, !n.isEmpty { s += "\nNegative prompt: \(n)" }
        return s + "\n" + fields.map { "\($0.0): \($0.1)" }.joined(separator: ", ")
    }
}
