// The parts every editing pipeline shares: the loaded components of a model source (diffusers
// folder or single file), prompt encoding with classifier-free guidance, and guidance itself.
import Foundation
import SDCore
import SDModels

/// Components of a Stable Diffusion checkpoint (tokenizer, text encoder, VAE, UNet, scheduler config).
public final class StableDiffusionModel {
    public let source: ModelSource
    public let tokenizer: CLIPTokenizer
    public let textEncoder: CLIPTextModel
    public let vaeConfig: VAEConfig
    private var loadedVAE: AutoencoderKL?
    public let unet: UNet2DConditionModel
    public let schedulerConfig: ConfigReader
    public let precision: Precision
    /// Set by a job that encodes its prompts once (one image): after that encoding the text encoder's
    /// mapped pages leave the resident set, and kept Winograd filters may use as much memory
    /// (Winograd.grant), so the run's peak RSS does not grow. A later encoding faults them back in.
    public var releasesTextEncoderAfterUse = false
    /// TAESD halves used in place of the VAE's encoder / decoder (--vae-encoder / --vae-decoder taesd:PATH).
    public private(set) var tinyEncoder: TinyEncoder?, tinyDecoder: TinyDecoder?
    private var tinyEncoderScaling: Float = 1, tinyDecoderScaling: Float = 1

    public convenience init(folder: String, precision: Precision = .fp32) throws {
        try self.init(source: ModelSource(folder: folder), precision: precision)
    }

    /// `fullVAE: false` leaves the VAE's weights unread until `requireVAE()`: for a job whose TAESD
    /// halves replace both the encoder and the decoder (the VAE's finite check and its mapped pages
    /// would otherwise be paid for nothing).
    public init(source: ModelSource, precision: Precision = .fp32, fullVAE: Bool = true) throws {
        self.source = source
        self.precision = precision
        // Every config first, checked against the others, then the weights.
        tokenizer = try source.tokenizer()
        let te = try CLIPTextConfig(source.config("text_encoder"))
        let v = try VAEConfig(source.config("vae"))
        let u = try UNetConfig(source.config("unet"))
        schedulerConfig = try source.config("scheduler", file: "scheduler_config.json")
        try StableDiffusionModel.checkAgreement(source.configFolder ?? source.path, tokenizer, te, v, u)
        vaeConfig = v
        textEncoder = try source.loadTextEncoder(te, precision: precision)
        if fullVAE { loadedVAE = try source.loadVAE(v, precision: precision) }
        unet = try source.loadUNet(u, precision: precision)
    }

    /// The full VAE (AutoencoderKL), loaded now if it was left out at init (`fullVAE: false`).
    @discardableResult
    public func requireVAE() throws -> AutoencoderKL {
        if let v = loadedVAE { return v }
        let v = try source.loadVAE(vaeConfig, precision: precision)
        loadedVAE = v
        return v
    }

    /// Encode (and/or decode) with a TAESD instead of the VAE. Its latents must be the VAE's: same
    /// channels and spatial factor (the SD 1.x/2.x taesd; taesdxl and taesd3 are other latent spaces).
    public func useTinyAutoencoder(_ tiny: AutoencoderTiny, path: String, encoder: Bool, decoder: Bool) throws {
        let c = tiny.config
        guard c.latentChannels == vaeConfig.latentChannels, c.encoderScale == vaeConfig.scaleFactor,
              c.decoderScale == vaeConfig.scaleFactor, c.inChannels == 3, c.outChannels == 3 else {
            throw SDError.invalidInput("\(path): this TAESD (latent_channels \(c.latentChannels), factor \(c.encoderScale)) does not "
                + "match \(name)'s VAE (latent_channels \(vaeConfig.latentChannels), factor \(vaeConfig.scaleFactor))")
        }
        if encoder {
            guard let e = tiny.encoder else { throw SDError.invalidInput("\(path): holds a TAESD decoder only, not an encoder") }
            tinyEncoder = e
            tinyEncoderScaling = c.scalingFactor
        }
        if decoder {
            guard let d = tiny.decoder else { throw SDError.invalidInput("\(path): holds a TAESD encoder only, not a decoder") }
            tinyDecoder = d
            tinyDecoderScaling = c.scalingFactor
        }
    }

    /// Scaled latents of images [B, 3, H, W] in [−1, 1] (diffusers retrieve_latents · scaling_factor):
    /// the VAE's posterior sample draws from `g`; a TAESD's latents draw nothing.
    public func encodeImage(_ image: Tensor, _ g: TorchGenerator) throws -> Tensor {
        if let e = tinyEncoder { return e(image) * tinyEncoderScaling }
        return try requireVAE().encode(image).sample(g) * vaeConfig.scalingFactor
    }

    /// Images [B, 3, H, W] in [−1, 1] from scaled latents (vae.decode(latents / scaling_factor)).
    public func decodeLatents(_ latents: Tensor) throws -> Tensor {
        if let d = tinyDecoder { return d(latents / tinyDecoderScaling) }
        return try requireVAE().decode(latents / vaeConfig.scalingFactor)
    }

    /// The model's name for messages and metadata.
    public var name: String { source.displayName }

    /// Values in one component's files that another relies on, checked before any weight loads or
    /// kernel runs (each would otherwise index past a table or mis-shape a tensor deep inside a step).
    static func checkAgreement(_ folder: String, _ tokenizer: CLIPTokenizer, _ te: CLIPTextConfig, _ v: VAEConfig,
                               _ u: UNetConfig) throws {
        func bad(_ file: String, _ message: String) -> SDError { .badFile(path: folder + "/" + file, message: message) }
        guard te.hiddenSize == u.crossAttentionDim else {
            throw bad("unet/config.json", "cross_attention_dim \(u.crossAttentionDim) does not match the text encoder's "
                      + "hidden_size \(te.hiddenSize) (text_encoder/config.json)")
        }
        guard tokenizer.maxLength <= te.maxPositions else {
            throw bad("tokenizer/tokenizer_config.json", "model_max_length \(tokenizer.maxLength) exceeds the text encoder's "
                      + "max_position_embeddings \(te.maxPositions) (text_encoder/config.json)")
        }
        if let top = tokenizer.vocab.values.max(), top >= te.vocabSize || tokenizer.vocab.values.contains(where: { $0 < 0 }) {
            throw bad("tokenizer/vocab.json", "token ids reach \(top), outside the text encoder's vocab_size \(te.vocabSize) "
                      + "(text_encoder/config.json)")
        }
        guard v.inChannels == 3, v.outChannels == 3 else {
            throw bad("vae/config.json", "in_channels \(v.inChannels) / out_channels \(v.outChannels): images are RGB, both must be 3")
        }
        guard u.outChannels == v.latentChannels else {
            throw bad("unet/config.json", "out_channels \(u.outChannels) does not match the VAE's latent_channels "
                      + "\(v.latentChannels) (vae/config.json)")
        }
    }

    /// The checkpoint's own scheduler, or `kind` configured from its scheduler_config.json.
    /// Pipelines force steps_offset = 1 and skip_prk_steps = true as diffusers' constructors do.
    public func scheduler(_ kind: SchedulerKind?) throws -> Scheduler {
        var dict = schedulerConfig.dict
        if dict["steps_offset"] as? Int != 1 { dict["steps_offset"] = 1 }
        dict["skip_prk_steps"] = true
        let reader = ConfigReader(dict: dict, path: schedulerConfig.path)
        return try (kind ?? defaultSchedulerKind()).make(config: reader)
    }

    /// The scheduler the checkpoint ships (scheduler_config.json's _class_name).
    public func defaultSchedulerKind() throws -> SchedulerKind {
        let name = try schedulerConfig.string("_class_name", default: "PNDMScheduler")
        guard let k = SchedulerKind.fromClassName(name) else {
            throw SDError.badFile(path: schedulerConfig.path, message: "scheduler \(name) is not supported")
        }
        return k
    }

    /// Prompt embeddings, [uncond, cond] when guidance is on (diffusers encode_prompt): one
    /// 77-token sequence each, the text after 75 tokens dropped.
    public func encodePrompt(_ prompt: String, negative: String?, guidance: Bool) -> Tensor {
        // One text-encoder call per prompt, as diffusers' encode_prompt does (and the A1111 syntax):
        // a batch-2 call can round differently from two batch-1 calls (OpenBLAS picks its kernels by
        // the GEMM's row count), so a plain prompt would not give the same image in both syntaxes.
        let cond = textEncoder([tokenizer.encode(prompt)])
        guard guidance else { return cond }
        return Tensor.concat([textEncoder([tokenizer.encode(negative ?? "")]), cond], dim: 0)
    }
}

/// One run of an editing pipeline that starts from an image: prompt, sampling numbers and seed.
/// The strength is explicit because the jobs' defaults differ (diffusers: inpaint 1.0, img2img and
/// depth2img 0.8); steps 50 and guidance 7.5 are all three's.
public struct GenerationRequest {
    public var prompt: String
    public var negativePrompt: String?
    public var steps = 50
    public var guidance: Float = 7.5
    public var strength: Double
    public var seed: UInt64 = 0
    public var scheduler: SchedulerKind?
    /// DeepCache interval N (full UNet every N-th step, the shallow branch between); 1 = off.
    public var deepCache = 1
    /// How the prompts are read: A1111's syntax (the CLI's default) or diffusers' literal text.
    public var promptSyntax: PromptSyntax = .a1111
    /// Asked between steps whether to stop early (A1111's interrupt and skip): the loop ends and the
    /// latents reached so far are decoded.
    public var stop: StopSignal?
    /// Handed the latents after each denoising step (a live preview, e.g. A1111's progress image).
    public var onLatents: ((Tensor) -> Void)?

    public init(prompt: String, strength: Double) {
        self.prompt = prompt
        self.strength = strength
    }
}
public typealias InpaintRequest = GenerationRequest
public typealias Img2ImgRequest = GenerationRequest
public typealias Depth2ImgRequest = GenerationRequest

/// Classifier-free guidance on a [2B, …] prediction: u + g·(c − u).
public func applyGuidance(_ pred: Tensor, scale: Float) -> Tensor {
    let parts = pred.chunked(2, dim: 0)
    return parts[0] + scale * (parts[1] - parts[0])
}

extension Scheduler {
    /// The timesteps a run visits: set_timesteps(steps), then diffusers' get_timesteps(steps,
    /// strength) — the tail that strength keeps, with set_begin_index at its start. Throws when
    /// nothing is left to denoise (strength too small for the step count).
    public func timesteps(steps: Int, strength: Double = 1) throws -> [Float] {
        try setTimesteps(steps)
        let initTimestep = min(Int(Double(steps) * strength), steps)   // Python: int(N * strength), in double
        let tStart = max(steps - initTimestep, 0)
        let from = min(tStart * order, timesteps.count)
        setBeginIndex(from)
        let kept = Array(timesteps[from...])
        if kept.isEmpty { throw SDError.invalidInput("strength \(strength) with \(steps) steps leaves no denoising step") }
        return kept
    }
}

extension StableDiffusionModel {
    /// diffusers' denoising loop, as every StableDiffusion*Pipeline.__call__ writes it: the latents
    /// (doubled with guidance) → scale_model_input → the conditioning channels appended (already
    /// batched) → UNet → guidance → scheduler step, stopping on NaN/Inf.
    func denoise(_ start: Tensor, timesteps: [Float], scheduler: Scheduler, context: Tensor, guidance: Float?,
                 deepCache: DeepCacheRun? = nil, conditioning: Tensor? = nil, generator g: TorchGenerator,
                 stop: StopSignal? = nil, onLatents: ((Tensor) -> Void)? = nil, progress: Progress?) throws -> Tensor {
        var latents = start
        for (i, t) in timesteps.enumerated() {
            var input = guidance != nil ? latents.repeatedBatch(2) : latents
            input = scheduler.scaleModelInput(input, timestep: t)
            if let c = conditioning { input = Tensor.concat([input, c], dim: 1) }   // [B, 4 + extra, h, w]
            var pred = deepCache.map { $0.step(t).predict(unet, input, timestep: t, context: context) }
                ?? unet(input, timestep: t, context: context)
            if let scale = guidance { pred = applyGuidance(pred, scale: scale) }
            latents = scheduler.step(pred, timestep: t, sample: latents, generator: g)
            try checkFinite(latents, step: i, of: timesteps.count, model: source.path)
            reportProgress(progress, scheduler, call: i, of: timesteps.count)
            onLatents?(latents)
            if stop?.isRequested == true { break }
        }
        return latents
    }
}

/// Progress of the denoising loop: (step done, total steps).
public typealias Progress = (Int, Int) -> Void

/// Report UNet call `i` of `calls` in the steps the user asked for (Scheduler.progressStep: PNDM
/// makes one call more than its steps).
func reportProgress(_ progress: Progress?, _ scheduler: Scheduler, call i: Int, of calls: Int) {
    guard let progress = progress else { return }
    let step = scheduler.progressStep(afterCall: i, of: calls)
    progress(step.done, step.total)
}

/// A request to end a run between denoising steps, set from another thread (an HTTP request's
/// interrupt or skip, SIGTERM). `interrupt` ends the whole job, `skip` only the image in progress:
/// A1111's `state.interrupted` / `state.skipped` (modules/shared_state.py), which its samplers check
/// between steps before the latents are decoded.
public final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var interrupted = false, skipped = false

    public init() {}

    public func interrupt() { lock.withLock { interrupted = true } }
    public func skip() { lock.withLock { skipped = true } }
    /// Clear a skip once the image it ended is done (an interrupt stays until `reset`).
    public func clearSkip() { lock.withLock { skipped = false } }
    public func reset() { lock.withLock { interrupted = false; skipped = false } }

    public var isInterrupted: Bool { lock.withLock { interrupted } }
    public var isSkipped: Bool { lock.withLock { skipped } }
    /// Whether the image in progress should stop after this step.
    public var isRequested: Bool { lock.withLock { interrupted || skipped } }
}

/// A NaN or Inf in the latents would decode to a black (or garbage) image with exit 0; stop with a
/// message instead. With finite weights (checked at load) only a degenerate schedule gets here.
func checkFinite(_ latents: Tensor, step i: Int, of n: Int, model: String) throws {
    if latents.nonFiniteCount > 0 {
        throw SDError.nonFinite("\(model): denoising step \(i + 1) of \(n) produced NaN/Inf latents; "
                                   + "try fewer --steps or another --scheduler")
    }
}

