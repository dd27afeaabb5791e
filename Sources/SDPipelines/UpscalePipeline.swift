// x4 latent upscaling: diffusers pipelines/stable_diffusion/pipeline_stable_diffusion_upscale.py
// (StableDiffusionUpscalePipeline.__call__). The low-res image is noised once with the low_res_scheduler's
// DDPM add_noise at `noise_level`, which is also the UNet's class label; RNG draws: low-res noise, then
// latents. Large inputs run tiled (per-step blending of the UNet's predictions, tiled VAE decode).
import Foundation
import SDCore
import SDModels

/// An x4 upscale: the settings every generation job has (prompts, steps, guidance, seed, scheduler,
/// DeepCache, stop; read through as `r.steps`; strength is not used: the upscaler starts from noise) and
/// the upscaler's own.
@dynamicMemberLookup
public struct UpscaleRequest {
    public var generation: GenerationRequest
    public var noiseLevel = 20
    /// Low-res tile size for the UNet (nil: never tile) and the overlap between tiles.
    public var tile: Int? = 128
    public var tileOverlap = 32

    /// diffusers' StableDiffusionUpscalePipeline defaults: 75 steps, guidance 9.
    public init(prompt: String) {
        generation = GenerationRequest(prompt: prompt, strength: 1)
        generation.steps = 75
        generation.guidance = 9.0
    }

    public init(_ generation: GenerationRequest) { self.generation = generation }

    public subscript<T>(dynamicMember key: WritableKeyPath<GenerationRequest, T>) -> T {
        get { generation[keyPath: key] }
        set { generation[keyPath: key] = newValue }
    }
}

public struct UpscalePipeline {
    public let model: StableDiffusionModel
    let lowRes: NoiseSchedule
    let vae: AutoencoderKL
    public let maxNoiseLevel: Int
    /// The pipeline's constructor forces this whatever vae/config.json says.
    public let scalingFactor: Float = 0.08333

    public init(model: StableDiffusionModel) throws {
        let unet = model.unet.config
        guard unet.inChannels == model.vaeConfig.latentChannels + 3, unet.numClassEmbeds != nil else {
            throw SDError.invalidInput("\(model.source.path): not an x4 upscaler — its UNet takes \(unet.inChannels) input channels "
                                       + "\(unet.numClassEmbeds == nil ? "and has no class embedding" : ""); upscaling needs 7 and a noise-level class embedding")
        }
        self.model = model
        vae = try model.requireVAE()
        lowRes = try NoiseSchedule(model.source.config("low_res_scheduler", file: "scheduler_config.json"), defaultSpacing: .leading)
        let index = try model.source.modelIndex()
        maxNoiseLevel = try index?.int("max_noise_level", default: 350, range: 0...10_000) ?? 350
        // The noise level indexes the low-res schedule's ᾱ and the UNet's class embedding table.
        let limit = min(lowRes.alphasCumprod.count, unet.numClassEmbeds!)
        guard maxNoiseLevel < limit else {
            throw SDError.badFile(path: index?.path ?? model.source.path, message: "max_noise_level \(maxNoiseLevel) needs "
                                  + "low_res_scheduler num_train_timesteps (\(lowRes.alphasCumprod.count)) and unet num_class_embeds "
                                  + "(\(unet.numClassEmbeds!)) above it")
        }
    }

    /// The image upscaled exactly 4×: padded on the right and bottom to the VAE's multiple (edge
    /// pixels), upscaled, and the padding's 4× cropped off.
    public func callAsFunction(image: Image, _ r: UpscaleRequest, progress: Progress? = nil) throws -> Image {
        let padded = Compositing.padToMultiple(image.rgb8(), model.vaeConfig.scaleFactor)
        let decoded = try self(image: padded.toTensor(), r, progress: progress)
        return Image(tensor: decoded).cropped(width: image.width * 4, height: image.height * 4)
    }

    /// image: RGB [1, 3, h, w] in [−1, 1] (h, w multiples of the VAE factor). Returns [1, 3, 4h, 4w] in [−1, 1].
    public func callAsFunction(image: Tensor, _ r: UpscaleRequest, progress: Progress? = nil) throws -> Tensor {
        // 8. Decode, tiled when the latent is larger than a tile.
        let z = try latents(image: image, r, progress: progress) / scalingFactor
        let f = model.vaeConfig.scaleFactor
        guard let tile = r.tile else { return vae.decode(z) }
        return Tiling.blend(z, size: max(8, tile / 2), overlap: max(2, r.tileOverlap / 4), scale: f) { vae.decode($0) }
    }

    /// Steps 1–7: the final latents (diffusers output_type="latent").
    public func latents(image: Tensor, _ r: UpscaleRequest, progress: Progress? = nil) throws -> Tensor {
        let unet = model.unet
        // 1. Check inputs and encode the prompt.
        guard (0...maxNoiseLevel).contains(r.noiseLevel) else {
            throw SDError.invalidInput("noise level \(r.noiseLevel) is outside 0…\(maxNoiseLevel)")
        }
        let cfg = r.guidance > 1
        let g = TorchGenerator(seed: r.seed)
        let context = try model.encodePrompt(r.prompt, negative: r.negativePrompt, guidance: cfg, syntax: r.promptSyntax)

        // 3. Timesteps.
        let scheduler = try model.scheduler(r.scheduler)
        let timesteps = try scheduler.timesteps(steps: r.steps)
        let deepCache = try DeepCacheRun(interval: r.deepCache, scheduler: scheduler)

        // 4.–5. Noise-augment the low-res image once (RNG ①) and duplicate it for guidance.
        let a = lowRes.alphasCumprod[r.noiseLevel]
        var lowResImage = a.squareRoot() * image + (1 - a).squareRoot() * g.randn(image.shape)
        if cfg { lowResImage = lowResImage.repeatedBatch(2) }

        // 6. Initial latents at the low-res size (RNG ②).
        var latents = g.randn([1, model.vaeConfig.latentChannels, image.dim(2), image.dim(3)]) * scheduler.initNoiseSigma

        // 7. Denoising loop: [latents | noisy low-res RGB] → UNet (class label = noise level) → guidance → step.
        for (i, t) in timesteps.enumerated() {
            var input = cfg ? latents.repeatedBatch(2) : latents
            input = scheduler.scaleModelInput(input, timestep: t)
            input = Tensor.concat([input, lowResImage], dim: 1)                  // [B, 4 + 3, h, w]
            // Tiles run in order, each with its own DeepCache slot.
            let step = deepCache.step(t)
            var slot = 0
            let predict = { (x: Tensor) -> Tensor in
                defer { slot += 1 }
                return step.predict(unet, x, timestep: t, context: context, classLabel: r.noiseLevel, slot: slot)
            }
            var pred = r.tile.map { Tiling.blend(input, size: $0, overlap: r.tileOverlap, predict) } ?? predict(input)
            if cfg { pred = applyGuidance(pred, scale: r.guidance) }
            latents = scheduler.step(pred, timestep: t, sample: latents, generator: g)
            try checkFinite(latents, step: i, of: timesteps.count, model: model.source.path)
            reportProgress(progress, scheduler, call: i, of: timesteps.count)
            if r.stop?.isRequested == true { break }
        }
        return latents
    }
}
