// Inpainting with the 9-channel SD2 UNet: diffusers pipelines/stable_diffusion/
// pipeline_stable_diffusion_inpaint.py (StableDiffusionInpaintPipeline.__call__), step for step, with
// the same RNG draw order so a seed reproduces diffusers' torch.Generator("cpu").manual_seed(seed).
import SDCore
import SDModels

public struct InpaintPipeline {
    public let model: StableDiffusionModel

    public init(model: StableDiffusionModel) throws {
        guard model.unet.config.inChannels == 2 * model.vae.config.latentChannels + 1 else {
            throw SDError.invalidInput("\(model.folder): not an inpainting model — its UNet takes \(model.unet.config.inChannels) "
                                       + "input channels, inpainting needs 9 (4 latent + 1 mask + 4 masked-image latent)")
        }
        self.model = model
    }

    /// image: RGB [1, 3, H, W] in [−1, 1]; mask: [1, 1, H, W], 1 = repaint (already binarised).
    /// H and W must be multiples of the VAE factor. Returns the decoded image in [−1, 1].
    public func callAsFunction(image: Tensor, mask: Tensor, _ r: InpaintRequest, progress: Progress? = nil) throws -> Tensor {
        // 11. Decode.
        model.vae.decode(try latents(image: image, mask: mask, r, progress: progress) / model.vae.config.scalingFactor)
    }

    /// Steps 1–10: the final latents (diffusers output_type="latent").
    public func latents(image: Tensor, mask: Tensor, _ r: InpaintRequest, progress: Progress? = nil) throws -> Tensor {
        let vae = model.vae, unet = model.unet
        let f = vae.config.scaleFactor
        let h = image.dim(2), w = image.dim(3)
        // 1. Check inputs.
        guard h % f == 0, w % f == 0 else { throw SDError.invalidInput("image size \(w)x\(h) is not a multiple of \(f)") }
        guard (0...1).contains(r.strength) else { throw SDError.invalidInput("strength must be within 0…1, got \(r.strength)") }
        guard mask.dim(2) == h, mask.dim(3) == w else { throw SDError.invalidInput("mask and image sizes differ") }
        let cfg = r.guidance > 1
        let g = TorchGenerator(seed: r.seed)

        // 2. Encode the prompt ([uncond, cond] with guidance).
        let context = model.encodePrompt(r.prompt, negative: r.negativePrompt, guidance: cfg)

        // 3. Timesteps, cut by strength.
        let scheduler = try model.scheduler(r.scheduler)
        let timesteps = try scheduler.timesteps(steps: r.steps, strength: r.strength)
        let firstT = timesteps[0]
        let strengthIsMax = r.strength == 1

        // 4.–5. Initial latents: RNG draws (strength < 1) image posterior, then noise.
        let scaling = vae.config.scalingFactor
        let latentShape = [1, vae.config.latentChannels, h / f, w / f]
        var latents: Tensor
        if strengthIsMax {
            latents = g.randn(latentShape) * scheduler.initNoiseSigma
        } else {
            let imageLatents = vae.encode(image).sample(g) * scaling
            let noise = g.randn(latentShape)
            latents = scheduler.addNoise(imageLatents, noise: noise, timestep: firstT)
        }

        // 6.–8. Mask at latent size (nearest) and the masked image's latents (one more RNG draw).
        let keep = mask.map { v in Vec(repeating: 1).replacing(with: 0, where: v .>= 0.5) }   // mask < 0.5
        let maskedImage = image * keep
        var maskLatent = mask.interpolated(height: h / f, width: w / f, mode: .nearest)
        var maskedLatents = vae.encode(maskedImage).sample(g) * scaling
        if cfg {
            maskLatent = maskLatent.repeatedBatch(2)
            maskedLatents = maskedLatents.repeatedBatch(2)
        }

        // 9.–10. Denoising loop: [latents | mask | masked-image latents] → UNet → guidance → step.
        for (i, t) in timesteps.enumerated() {
            var input = cfg ? latents.repeatedBatch(2) : latents
            input = scheduler.scaleModelInput(input, timestep: t)
            input = Tensor.concat([input, maskLatent, maskedLatents], dim: 1)      // [B, 4 + 1 + 4, h, w]
            var pred = unet(input, timestep: t, context: context)
            if cfg { pred = applyGuidance(pred, scale: r.guidance) }
            latents = scheduler.step(pred, timestep: t, sample: latents, generator: g)
            try checkFinite(latents, step: i, of: timesteps.count, model: model.folder)
            progress?(i + 1, timesteps.count)
        }
        return latents
    }
}
