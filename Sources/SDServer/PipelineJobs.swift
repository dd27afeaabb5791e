// ServerJobs on SDJobs: a request becomes the same ImageJob the commands build (Sources/sdedit/
// Txt2ImgCommand.swift, Img2ImgCommand.swift, InpaintOptions.swift, Depth2ImgCommand.swift,
// UpscaleCommand.swift) and runs through the same generation loop, so a request and the equivalent
// command line give the same PNG bytes. What is left here: which checkpoints a request may name,
// and turning the run into PNGs and progress.
import Foundation
import SDCore
import SDJobs
import SDModels
import SDPipelines

public struct PipelineJobsOptions {
    /// --model: the default checkpoint (a path or hub id from the command line, never from a request).
    public var model: String?
    public var modelsDir: String?
    public var loraDir: String?
    public var embeddings: String?
    public var precision: Precision = .fp32
    /// --vae-encoder / --vae-decoder: TAESD halves (the path after `taesd:`), for every checkpoint.
    public var tinyEncoder: String?, tinyDecoder: String?
    public init() {}
}

public final class PipelineJobs: ServerJobs, @unchecked Sendable {
    let options: PipelineJobsOptions
    private let lock = NSLock()
    private var current: String
    /// The embedding database of the model the last request loaded (nil before the first): what GET
    /// embeddings lists, read without touching the store, which belongs to the job queue.
    private var database: (loaded: [EmbeddingEntry], skipped: [EmbeddingEntry])?
    /// One loaded model kept between requests (A1111's sd_checkpoints_limit 1); used on the job queue only.
    private let store = ModelStore()

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
        _ = try model(title, prompt: "", observer: SilentObserver())
        lock.withLock { current = title }
    }

    /// The loaded model of a listed checkpoint (title or model name; nil = the current one) with the
    /// prompt's `<lora:NAME:W>` tags (NAME.safetensors in --lora-dir) merged, as the commands' spec.
    func model(_ title: String?, prompt: String, observer: JobObserver) throws -> LoadedModel {
        let t = title ?? currentCheckpoint
        guard let c = checkpoints().first(where: { $0.title == t || $0.modelName == t }) else {
            throw APIError.notFound("sd_model_checkpoint: no checkpoint '\(t)'")
        }
        return try load(c.filename, prompt: prompt, observer: observer)
    }

    /// `tiny`: with the TAESD halves (not for the x4 upscaler, whose VAE has its own latent space).
    func load(_ path: String, prompt: String, tiny: Bool = true, observer: JobObserver) throws -> LoadedModel {
        var spec = ModelSpec(path: path, precision: options.precision)
        spec.loras = try ExtraNetworks.parse(prompt).loras.map {
            try LoRASpec.resolve(tag: $0.name, weight: Float($0.weight), directory: options.loraDir)
        }
        spec.embeddings = options.embeddings
        if tiny {
            spec.tinyEncoder = options.tinyEncoder
            spec.tinyDecoder = options.tinyDecoder
        }
        let m = try store.model(spec, observer: observer)
        let listed = (m.source.embeddings.map(EmbeddingEntry.init), m.source.skippedBundled.map(EmbeddingEntry.init))
        lock.withLock { database = listed }
        return m
    }

    // MARK: Jobs

    public func txt2img(_ s: GenerationSettings, control: JobControl) throws -> JobOutput {
        try run(.txt2img(width: s.width, height: s.height), s, strength: 1, control: control)
    }

    public func img2img(_ s: GenerationSettings, _ e: EditSettings, control: JobControl) throws -> JobOutput {
        let original = e.image.rgb8()
        guard let maskImage = e.mask else {
            return try run(.img2img(image: original), s, strength: e.denoisingStrength, control: control)
        }
        let mask = try Mask(binarising: maskImage, channel: .luminance, invert: e.invertMask)
        guard !mask.isEmpty else {
            throw APIError.unprocessable("mask: nothing to repaint (white = repaint, black = keep)")
        }
        var o = InpaintImageOptions()
        o.area = e.inpaintFullRes ? .masked : .whole
        o.padding = e.inpaintFullResPadding
        o.maskBlur = Double(e.maskBlur)
        o.content = [MaskedContent.fill, .original, .latentNoise, .latentNothing][e.inpaintingFill]
        return try run(.inpaint(image: original, mask: mask, options: o, fields: []), s, strength: e.denoisingStrength, control: control)
    }

    public func depth2img(_ s: GenerationSettings, _ e: EditSettings, control: JobControl) throws -> JobOutput {
        try run(.depth2img(image: e.image.rgb8(), depth: .estimate), s, strength: e.denoisingStrength, control: control)
    }

    /// `sdedit upscale IMAGE --seed 0` with its defaults (A1111's extras have no seed or prompt).
    public func upscale(_ image: Image, upscaler: String, control: JobControl) throws -> [UInt8] {
        guard let u = scanModelsDir(upscalers: true).first(where: { $0.title == upscaler }) else {
            throw APIError.unprocessable("upscaler_1: unknown upscaler '\(upscaler)'")
        }
        var s = GenerationSettings()
        s.steps = 75
        s.cfgScale = 9
        s.seed = 0
        let out = try run(.upscale(image: image.rgb8(), noiseLevel: 20, tile: 128, tileOverlap: 32), s, strength: 1,
                          control: control, modelPath: u.filename)
        guard let png = out.images.first else { throw APIError(.serviceUnavailable, "interrupted") }
        return png
    }

    public func loras() -> [(name: String, path: String)] {
        guard let dir = options.loraDir, let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return [] }
        return names.sorted().filter { $0.lowercased().hasSuffix(".safetensors") }.map {
            (($0 as NSString).deletingPathExtension, (dir as NSString).appendingPathComponent($0))
        }
    }

    /// The loaded model's embeddings (A1111 lists its embedding database, which a LoRA's bundled
    /// embeddings join when the LoRA is loaded: extensions-builtin/Lora/networks.py); before any
    /// model is loaded, the --embeddings files by name.
    public func embeddings() -> (loaded: [EmbeddingEntry], skipped: [EmbeddingEntry]) {
        if let d = lock.withLock({ database }) { return d }
        guard let dir = options.embeddings, let list = try? TextualInversion.folder(dir) else { return ([], []) }
        return (list.map(EmbeddingEntry.init), [])
    }

    public func upscalers() -> [String] { ["None"] + scanModelsDir(upscalers: true).map(\.title) }

    // MARK: The run

    /// The request as the commands' ImageJob (seed, seed + 1, … over batch_size × n_iter), run with
    /// interrupt/skip between steps; every image encoded as the commands write it.
    func run(_ task: JobTask, _ s: GenerationSettings, strength: Double, control: JobControl,
             modelPath: String? = nil) throws -> JobOutput {
        let observer = ControlObserver(control)
        let m = try modelPath.map { try load($0, prompt: "", tiny: false, observer: observer) }
            ?? model(s.checkpoint, prompt: s.prompt, observer: observer)
        var r = GenerationRequest(prompt: s.prompt, strength: strength)
        r.negativePrompt = s.negativePrompt.isEmpty ? nil : s.negativePrompt
        r.steps = s.steps
        r.guidance = s.cfgScale
        r.seed = s.seed < 0 ? UInt64(UInt32.random(in: 0...UInt32.max)) : UInt64(s.seed)
        r.scheduler = s.scheduler
        r.promptSyntax = .a1111
        let stop = StopSignal()
        control.attach(stop)
        var out = JobOutput()
        out.modelName = m.name
        out.samplerName = Samplers.name(try s.scheduler ?? m.defaultScheduler())
        let record = try m.run(ImageJob(task: task, settings: r, count: s.imageCount), observer: observer, stop: stop) { image in
            out.images.append(try image.image.encodePNG(text: [("parameters", image.parameters)]))
            out.width = image.image.width
            out.height = image.image.height
        }
        out.seeds = record.seeds
        out.infotexts = record.infotexts
        out.interrupted = record.interrupted
        return out
    }
}

/// Progress of a run into the server's JobControl (GET progress); messages are dropped.
final class ControlObserver: JobObserver {
    let control: JobControl
    private var images = 0
    init(_ control: JobControl) { self.control = control }
    func message(_ s: String) {}
    func begin(_ label: String) { control.beginImage(images); images += 1 }
    func update(_ done: Int, _ total: Int) { control.step(done, of: total) }
    func latents(_ z: Tensor) { control.latest(z) }
}

extension EmbeddingEntry {
    /// An embedding as A1111's /sdapi/v1/embeddings lists it: shape is the width, vectors the count.
    init(_ e: TextualInversion) { self.init(name: e.name, width: e.vectors.shape.last, vectors: e.vectors.shape.first) }
}
