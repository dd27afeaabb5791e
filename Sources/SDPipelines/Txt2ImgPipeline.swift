// Text-to-image: diffusers pipelines/stable_diffusion/pipeline_stable_diffusion.py
// (StableDiffusionPipeline.__call__) step for step, with its RNG order (the initial noise, then the
// scheduler's own draws), so a seed reproduces diffusers' torch.Generator("cpu").manual_seed(seed).
// A 9-channel inpainting UNet runs the way AUTOMATIC1111 runs it for txt2img
// (modules/processing.py txt2img_image_conditioning): an all-ones mask and the latents of a 0.5-grey
// image (0 in [−1, 1]), the VAE posterior *sample* × scaling factor drawn after the initial noise —
// what diffusers' StableDiffusionInpaintPipeline computes for any image under an all-white mask at
// strength 1 (its masked image is image · (mask < 0.5) = 0).
import SDCore
import SDModels

public struct Txt2ImgPipeline {
    public let model: StableDiffusionModel
    /// A 9-channel inpainting UNet (latent | mask | masked-image latent) rather than a base one.
    public let inpaintingModel: Bool

    public init(model: StableDiffusionModel) throws {
        let c = model.unet.config.inChannels, l = model.vaeConfig.latentChannels
        guard c == l || c == 2 * l + 1 else {
            throw SDError.invalidInput("\(model.source.path): cannot generate with it — its UNet takes \(c) input channels; "
                                       + "txt2img needs \(l) (a base model) or \(2 * l + 1) (an inpainting model)")
        }
        self.model = model
        inpaintingModel = c == 2 * l + 1
    }

    /// diffusers' default size: the UNet's sample_size × the VAE factor (768 for SD 2.1, 512 for SD 1.x,
    /// SD 2.1-base and SD-Turbo).
    public var defaultSize: Int { model.unet.config.sampleSize * model.vaeConfig.scaleFactor }

    /// The final latents [1, 4, H/f, W/f] (diffusers output_type="latent"). `r.strength` is not read.
    public func latents(width: Int, height: Int, _ r: GenerationRequest, progress: Progress? = nil) throws -> Tensor {
        let vae = model.vaeConfig
        let f = vae.scaleFactor
        // 1. Check inputs.
        guard width > 0, height > 0, width % f == 0, height % f == 0 else {
            throw SDError.invalidInput("size \(width)x\(height) is not a multiple of \(f)")
        }
        let cfg = r.guidance > 1
        let g = TorchGenerator(seed: r.seed)
        // 3. Prompt embeddings ([uncond, cond] with guidance).
        let context = try model.encodePrompt(r.prompt, negative: r.negativePrompt, guidance: cfg, syntax: r.promptSyntax)
        // 4. Timesteps (retrieve_timesteps: set_timesteps only; no begin index, as diffusers).
        let scheduler = try model.scheduler(r.scheduler)
        try scheduler.setTimesteps(r.steps)
        let timesteps = scheduler.timesteps
        // 5. Initial latents: noise (RNG ①) × init_noise_sigma.
        let shape = [1, vae.latentChannels, height / f, width / f]
        let latents = g.randn(shape) * scheduler.initNoiseSigma
        // The inpainting UNet's conditioning (RNG ②): all-ones mask, the grey image's latents.
        var conditioning: Tensor? = nil
        if inpaintingModel {
            let grey = try model.requireVAE().encode(Tensor(repeating: 0, shape: [1, 3, height, width])).sample(g) * vae.scalingFactor
            let c = Tensor.concat([Tensor(repeating: 1, shape: [1, 1, height / f, width / f]), grey], dim: 1)
            conditioning = cfg ? c.repeatedBatch(2) : c
        }
        // 7. Denoising loop: [latents (| mask | grey latents)] → UNet → guidance → step.
        return try model.denoise(latents, timesteps: timesteps, scheduler: scheduler, context: context,
                                 guidance: cfg ? r.guidance : nil,
                                 deepCache: try DeepCacheRun(interval: r.deepCache, scheduler: scheduler), conditioning: conditioning, generator: g, stop: r.stop, onLatents: r.onLatents, progress: progress)
    }

    /// The decoded image (diffusers output_type="pil").
    public func callAsFunction(width: Int, height: Int, _ r: GenerationRequest, progress: Progress? = nil) throws -> Image {
        let z = try latents(width: width, height: height, r, progress: progress)
        return Image(tensor: try model.decodeLatents(z))
    }
}
