// What a job runs on: a model spec (checkpoint, configs, precision, LoRAs, embeddings, TAESD halves),
// the model loaded from it, and a store that keeps the loaded model between jobs — one load per CLI
// run or `--batch` file, and for the server one model kept across requests (A1111 keeps one
// checkpoint loaded by default too: `sd_checkpoints_limit` 1).
import Foundation
import SDCore
import SDModels
import SDPipelines

/// Everything that decides which weights are loaded. Two equal specs share one loaded model.
public struct ModelSpec: Equatable {
    /// The model folder or single file, already resolved (ModelLocator).
    public var path: String
    /// A diffusers folder whose configs and tokenizer a single file uses (--config), resolved.
    public var config: String?
    public var predictionType: String?
    public var precision: Precision
    /// --lora files and the prompt's `<lora:NAME:W>` tags, in that order.
    public var loras: [LoRASpec] = []
    /// Folder of textual-inversion embeddings.
    public var embeddings: String?
    /// TAESD halves as given (`taesd:PATH` without the prefix): folder, file or hub id.
    public var tinyEncoder: String?, tinyDecoder: String?

    public init(path: String, config: String? = nil, predictionType: String? = nil, precision: Precision) {
        self.path = path
        self.config = config
        self.predictionType = predictionType
        self.precision = precision
    }

    /// The infotext fields of the TAESD halves (none when the VAE does both).
    public var tinyVAEFields: [(String, String)] {
        [("VAE encoder", tinyEncoder), ("VAE decoder", tinyDecoder)].compactMap { k, v in
            v.map { (k, "taesd " + ($0 as NSString).lastPathComponent) }
        }
    }
}

/// A merged LoRA as A1111 records it: `<lora:NAME:W>` and its short hash.
public struct LoRAUse: Equatable, Sendable {
    public let name: String, weight: Float, hash: String
}

/// A loaded model and the pipelines built on it (each made when first used).
public final class LoadedModel {
    public let spec: ModelSpec
    public let source: ModelSource
    public let sd: StableDiffusionModel
    public let loras: [LoRAUse]
    public let loadSeconds: Double
    private var depthPipe: Depth2ImgPipeline?
    private var inpaintPipe: InpaintPipeline?
    private var upscalePipe: UpscalePipeline?

    /// The name infotexts carry (`Model: …`).
    public var name: String { source.displayName }
    public var precision: Precision { spec.precision }

    /// Load `spec`: the source with its LoRAs and embeddings (headers first, so a bad file fails
    /// before any weight is read), the TAESD halves, then the model.
    public init(_ spec: ModelSpec, observer: JobObserver) throws {
        self.spec = spec
        source = try ModelSource.open(spec.path, config: spec.config, predictionType: spec.predictionType)
        if !spec.loras.isEmpty { try source.addLoRAs(spec.loras) }
        loras = try spec.loras.map { s in
            LoRAUse(name: ((s.path as NSString).lastPathComponent as NSString).deletingPathExtension, weight: s.weight,
                    hash: try LoRAFile.shortHash(path: s.path))
        }
        if let dir = spec.embeddings { try source.addEmbeddings(TextualInversion.folder(dir)) }
        for skipped in source.skippedBundledEmbeddings {
            observer.message("sdedit: warning: the bundled embedding \(skipped) is skipped: an --embeddings file or an earlier LoRA has its name")
        }
        var tiny: [String: AutoencoderTiny] = [:], halves: [(AutoencoderTiny, String, Bool)] = []
        for (given, encoder) in [(spec.tinyEncoder, true), (spec.tinyDecoder, false)] {
            guard let given = given else { continue }
            let path = try ModelLocator.resolve(given, pipeline: false)
            let t = try tiny[path] ?? TinyAutoencoderSource.load(path, precision: spec.precision)
            tiny[path] = t
            halves.append((t, path, encoder))
        }
        observer.message("sdedit: loading \(source.path)")
        let t0 = Stopwatch.now()
        sd = try StableDiffusionModel(source: source, precision: spec.precision,
                                     fullVAE: spec.tinyEncoder == nil || spec.tinyDecoder == nil)
        for (t, path, encoder) in halves {
            try sd.useTinyAutoencoder(t, path: path, encoder: encoder, decoder: !encoder)
            observer.message("sdedit: \(encoder ? "encoding" : "decoding") with TAESD \(path)")
        }
        loadSeconds = Stopwatch.now() - t0
        observer.message(String(format: "sdedit: loaded in %.1fs", loadSeconds))
    }

    /// The depth pipeline; its MiDaS estimator is loaded the first time a job needs one.
    public func depth2img(estimator: Bool) throws -> Depth2ImgPipeline {
        if let p = depthPipe, p.estimator != nil || !estimator { return p }
        try Depth2ImgPipeline.checkIsDepthModel(sd)
        let p = try Depth2ImgPipeline(model: sd, estimator: estimator ? DepthEstimator(source: source, precision: spec.precision) : nil)
        depthPipe = p
        return p
    }

    public func inpaintPipeline() throws -> InpaintPipeline {
        if let p = inpaintPipe { return p }
        let p = try InpaintPipeline(model: sd)
        inpaintPipe = p
        return p
    }

    public func upscalePipeline() throws -> UpscalePipeline {
        if let p = upscalePipe { return p }
        let p = try UpscalePipeline(model: sd)
        upscalePipe = p
        return p
    }

    /// The scheduler a job without `--scheduler` uses: the checkpoint's own.
    public func defaultScheduler() throws -> SchedulerKind { try sd.defaultSchedulerKind() }
}

/// Keeps the last loaded model: a job whose spec equals it runs without a load; another spec
/// releases it before loading (one model in memory at a time).
public final class ModelStore {
    public private(set) var current: LoadedModel?

    public init() {}

    public func model(_ spec: ModelSpec, observer: JobObserver) throws -> LoadedModel {
        if let m = current, m.spec == spec { return m }
        current = nil
        let m = try LoadedModel(spec, observer: observer)
        current = m
        return m
    }

    /// Forget the loaded model (its memory is released when no job holds it).
    public func unload() { current = nil }
}
