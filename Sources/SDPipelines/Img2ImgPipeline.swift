// Image-to-image with a 4-channel base UNet (SD 2.x base / 2.1, v-prediction or epsilon as the
// scheduler config says): diffusers pipelines/stable_diffusion/pipeline_stable_diffusion_img2img.py
// (StableDiffusionImg2ImgPipeline.__call__) step for step, with its RNG order (VAE posterior sample,
// then noise), so a seed reproduces diffusers' torch.Generator("cpu").manual_seed(seed).
import SDCore
import SDModels

public struct Img2ImgPipeline {
    public let model: StableDiffusionModel

    public init(model: StableDiffusionModel) throws {
        guard model.unet.config.inChannels == model.vaeConfig.latentChannels else {
            throw SDError.invalidInput("\(model.source.path): not a base model — its UNet takes \(model.unet.config.inChannels) input "
                                       + "channels, img2img needs \(model.vaeConfig.latentChannels) (the latent only)")
        }
        self.model = model
    }

    /// Steps 4–8 on tensors: image [1, 3, H, W] in [−1, 1] (H, W multiples of the VAE factor).
    /// Returns the final latents (diffusers output_type="latent").
    public func latents(image: Tensor, _ r: Img2ImgRequest, progress: Progress? = nil) throws -> Tensor {
        let f = model.vaeConfig.scaleFactor
        // 1. Check inputs.
        guard image.dim(2) % f == 0, image.dim(3) % f == 0 else {
            throw SDError.invalidInput("image size \(image.dim(3))x\(image.dim(2)) is not a multiple of \(f)")
        }
        guard (0...1).contains(r.strength) else { throw SDError.invalidInput("strength must be within 0…1, got \(r.strength)") }
        let cfg = r.guidance > 1
        let g = TorchGenerator(seed: r.seed)
        // 3. Prompt embeddings ([uncond, cond] with guidance).
        let context = try model.encodePrompt(r.prompt, negative: r.negativePrompt, guidance: cfg, syntax: r.promptSyntax)
        // 5. Timesteps, cut by strength.
        let scheduler = try model.scheduler(r.scheduler)
        let timesteps = try scheduler.timesteps(steps: r.steps, strength: r.strength)
        let deepCache = try DeepCacheRun(interval: r.deepCache, scheduler: scheduler)
        // 6. Initial latents: the image's posterior sample (RNG ①), noised to the first timestep (RNG ②).
        let imageLatents = try model.encodeImage(image, g)
        let latents = scheduler.addNoise(imageLatents, noise: g.randn(imageLatents.shape), timestep: timesteps[0])
        // 8. Denoising loop: latents → UNet → guidance → step.
        return try model.denoise(latents, timesteps: timesteps, scheduler: scheduler, context: context,
                                 guidance: cfg ? r.guidance : nil, deepCache: deepCache, generator: g, stop: r.stop, onLatents: r.onLatents, progress: progress)
    }

    /// The image-level recipe (what `sdedit img2img` runs): padded to the VAE multiple with edge
    /// pixels and cropped back, so the output keeps the input's exact size (diffusers resizes down).
    public func callAsFunction(image original: Image, _ r: Img2ImgRequest, progress: Progress? = nil) throws -> Image {
        let padded = Compositing.padToMultiple(original.rgb8(), model.vaeConfig.scaleFactor)
        let z = try latents(image: padded.toTensor(), r, progress: progress)
        let decoded = Image(tensor: try model.decodeLatents(z))
        return decoded.cropped(width: original.width, height: original.height)
    }
}
