// The parts every SD2 editing pipeline shares: the loaded components of a diffusers folder,
// prompt encoding with classifier-free guidance, and guidance itself.
import Foundation
import SDCore
import SDModels

/// Components of a diffusers Stable Diffusion folder (tokenizer, text encoder, VAE, UNet, scheduler config).
public final class StableDiffusionModel {
    public let folder: String
    public let tokenizer: CLIPTokenizer
    public let textEncoder: CLIPTextModel
    public let vae: AutoencoderKL
    public let unet: UNet2DConditionModel
    public let schedulerConfig: ConfigReader
    public let precision: Precision

    public init(folder: String, precision: Precision = .fp32) throws {
        self.folder = folder
        self.precision = precision
        tokenizer = try CLIPTokenizer(folder: folder + "/tokenizer")
        textEncoder = try Component.loadTextEncoder(folder + "/text_encoder", precision: precision)
        vae = try Component.loadVAE(folder + "/vae", precision: precision)
        unet = try Component.loadUNet(folder + "/unet", precision: precision)
        schedulerConfig = try Component.config(in: folder + "/scheduler", name: "scheduler_config.json")
        guard textEncoder.config.hiddenSize == unet.config.crossAttentionDim else {
            throw SDError.badFile(path: folder, message: "text encoder width \(textEncoder.config.hiddenSize) does not match "
                                  + "the UNet's cross_attention_dim \(unet.config.crossAttentionDim)")
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

    /// Prompt embeddings, [uncond, cond] when guidance is on (diffusers encode_prompt).
    public func encodePrompt(_ prompt: String, negative: String?, guidance: Bool) -> Tensor {
        var ids = [tokenizer.encode(prompt)]
        if guidance { ids.insert(tokenizer.encode(negative ?? ""), at: 0) }
        return textEncoder(ids)
    }
}

/// Classifier-free guidance on a [2B, …] prediction: u + g·(c − u).
public func applyGuidance(_ pred: Tensor, scale: Float) -> Tensor {
    let parts = pred.chunked(2, dim: 0)
    return parts[0] + scale * (parts[1] - parts[0])
}

/// diffusers get_timesteps: the slice of the schedule that strength keeps, and its start index.
public func timestepsForStrength(_ scheduler: Scheduler, steps: Int, strength: Double) -> (timesteps: [Float], start: Int) {
    let initTimestep = min(Int(Double(steps) * strength), steps)   // Python: int(N * strength), in double
    let tStart = max(steps - initTimestep, 0)
    let from = min(tStart * scheduler.order, scheduler.timesteps.count)
    return (Array(scheduler.timesteps[from...]), from)
}

/// Progress of the denoising loop: (step done, total steps).
public typealias Progress = (Int, Int) -> Void

/// A NaN or Inf in the latents would decode to a black (or garbage) image with exit 0; stop with a
/// message instead. With finite weights (checked at load) only a degenerate schedule gets here.
func checkFinite(_ latents: Tensor, step i: Int, of n: Int) throws {
    if latents.nonFiniteCount > 0 {
        throw SDError.invalidInput("denoising step \(i + 1) of \(n) produced NaN/Inf latents; "
                                   + "try fewer --steps or another --scheduler")
    }
}

