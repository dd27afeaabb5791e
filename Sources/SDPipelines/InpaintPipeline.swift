// Inpainting: diffusers pipelines/stable_diffusion/pipeline_stable_diffusion_inpaint.py
// (StableDiffusionInpaintPipeline.__call__), step for step, with the same RNG draw order so a seed
// reproduces diffusers' torch.Generator("cpu").manual_seed(seed). Two kinds of UNet, as there:
// the 9-channel inpainting UNet (latent | mask | masked-image latent), and any 4-channel base UNet,
// whose latents are replaced outside the mask after every step by the original's, re-noised to the
// next timestep (num_channels_unet == 4).
import SDCore
import SDModels

public struct InpaintPipeline {
    public let model: StableDiffusionModel
    /// A 4-channel base UNet (blended latents) rather than the 9-channel inpainting one.
    public let baseModel: Bool

    public init(model: StableDiffusionModel) throws {
        let c = model.unet.config.inChannels, l = model.vaeConfig.latentChannels
        guard c == 2 * l + 1 || c == l else {
            throw SDError.invalidInput("\(model.source.path): cannot inpaint with it — its UNet takes \(c) input channels; inpainting "
                                       + "needs 9 (4 latent + 1 mask + 4 masked-image latent) or a 4-channel base model")
        }
        self.model = model
        baseModel = c == l
    }

    /// image: RGB [1, 3, H, W] in [−1, 1]; mask: [1, 1, H, W], 1 = repaint (already binarised).
    /// H and W must be multiples of the VAE factor. Returns the decoded image in [−1, 1].
    /// `content`: A1111's masked content (MaskedContent.swift); `.original` is diffusers' pipeline.
    public func callAsFunction(image: Tensor, mask: Tensor, _ r: InpaintRequest, content: MaskedContent = .original,
                               progress: Progress? = nil) throws -> Tensor {
        // 11. Decode.
        try model.decodeLatents(try latents(image: image, mask: mask, r, content: content, progress: progress))
    }

    /// Steps 1–10: the final latents (diffusers output_type="latent").
    public func latents(image: Tensor, mask: Tensor, _ r: InpaintRequest, content: MaskedContent = .original,
                        progress: Progress? = nil) throws -> Tensor {
        let vae = model.vaeConfig, unet = model.unet
        let f = vae.scaleFactor
        let h = image.dim(2), w = image.dim(3)
        // 1. Check inputs.
        guard h % f == 0, w % f == 0 else { throw SDError.invalidInput("image size \(w)x\(h) is not a multiple of \(f)") }
        guard (0...1).contains(r.strength) else { throw SDError.invalidInput("strength must be within 0…1, got \(r.strength)") }
        guard mask.dim(2) == h, mask.dim(3) == w else { throw SDError.invalidInput("mask and image sizes differ") }
        let cfg = r.guidance > 1
        let g = TorchGenerator(seed: r.seed)

        // 2. Encode the prompt ([uncond, cond] with guidance).
        let context = try model.encodePrompt(r.prompt, negative: r.negativePrompt, guidance: cfg, syntax: r.promptSyntax)

        // 3. Timesteps, cut by strength.
        let scheduler = try model.scheduler(r.scheduler)
        let timesteps = try scheduler.timesteps(steps: r.steps, strength: r.strength)
        let deepCache = try DeepCacheRun(interval: r.deepCache, scheduler: scheduler)
        let firstT = timesteps[0]
        let strengthIsMax = r.strength == 1

        // 4.–5. Initial latents. RNG draws: the image's posterior (strength < 1, or always for a base
        //    UNet, which needs the image latents for its blend), then the noise.
        let latentShape = [1, vae.latentChannels, h / f, w / f]
        //    The masked content shapes the start below strength 1: `fill` encodes the filled image (also
        //    for a base UNet's blend, as A1111's init_latent), the latent modes edit the start only.
        let encoded = content == .fill ? Image(tensor: image).filledLikeA1111(mask: mask).toTensor() : image
        let imageLatents = !strengthIsMax || baseModel ? try model.encodeImage(encoded, g) : nil
        let noise = g.randn(latentShape)
        var latents = noise * scheduler.initNoiseSigma
        if !strengthIsMax, let z = imageLatents {
            let start = MaskFill.latentContent(z, mask: mask, content, seed: r.seed)
            latents = scheduler.addNoise(start, noise: noise, timestep: firstT)
        }

        // 6.–8. Mask at latent size (nearest) and the masked image's latents (one more RNG draw). A base
        //    UNet never reads the latter: only its draw is kept, so the generator advances as diffusers'
        //    (a TAESD encoder draws nothing).
        let keep = mask.map { v in Vec(repeating: 1).replacing(with: 0, where: v .>= 0.5) }   // mask < 0.5
        let maskLatent = mask.interpolated(height: h / f, width: w / f, mode: .nearest)
        var maskedLatents: Tensor? = nil
        if baseModel {
            if model.tinyEncoder == nil { _ = g.randn(latentShape) }
        } else {
            maskedLatents = try model.encodeImage(image * keep, g)
        }
        let maskIn = cfg ? maskLatent.repeatedBatch(2) : maskLatent
        if cfg { maskedLatents = maskedLatents?.repeatedBatch(2) }

        // 9.–10. Denoising loop: [latents | mask | masked-image latents] (or the latents alone) → UNet →
        //    guidance → step; a base UNet's latents then take the re-noised original outside the mask.
        for (i, t) in timesteps.enumerated() {
            var input = cfg ? latents.repeatedBatch(2) : latents
            input = scheduler.scaleModelInput(input, timestep: t)
            if let m = maskedLatents { input = Tensor.concat([input, maskIn, m], dim: 1) }   // [B, 4 + 1 + 4, h, w]
            var pred = deepCache.step(t).predict(unet, input, timestep: t, context: context)
            if cfg { pred = applyGuidance(pred, scale: r.guidance) }
            latents = scheduler.step(pred, timestep: t, sample: latents, generator: g)
            if baseModel, let original = imageLatents {
                let proper = i + 1 < timesteps.count ? scheduler.addNoise(original, noise: noise, timestep: timesteps[i + 1]) : original
                latents = (-maskLatent + 1) * proper + maskLatent * latents
            }
            try checkFinite(latents, step: i, of: timesteps.count, model: model.source.path)
            reportProgress(progress, scheduler, call: i, of: timesteps.count)
            r.onLatents?(latents)
            if r.stop?.isRequested == true { break }
        }
        return latents
    }
}
