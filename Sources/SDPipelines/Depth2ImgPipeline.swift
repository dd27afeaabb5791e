// Depth-conditioned image-to-image with the 5-channel SD2 depth UNet: diffusers pipelines/
// stable_diffusion/pipeline_stable_diffusion_depth2img.py (StableDiffusionDepth2ImgPipeline.__call__)
// step for step, with its RNG order (VAE posterior sample, then noise), so a seed reproduces
// diffusers' torch.Generator("cpu").manual_seed(seed).
import SDCore
import SDModels

public struct Depth2ImgPipeline {
    public let model: StableDiffusionModel
    /// The checkpoint's DPT; nil when every run brings its own depth map (then it is never loaded).
    public let estimator: DepthEstimator?

    public init(model: StableDiffusionModel, estimator: DepthEstimator?) throws {
        try Depth2ImgPipeline.checkIsDepthModel(model)
        self.model = model
        self.estimator = estimator
    }

    /// The UNet must take the latent plus one depth channel (5 for SD2-depth).
    public static func checkIsDepthModel(_ model: StableDiffusionModel) throws {
        guard model.unet.config.inChannels == model.vaeConfig.latentChannels + 1 else {
            throw SDError.invalidInput("\(model.source.path): not a depth model — its UNet takes \(model.unet.config.inChannels) input "
                                       + "channels, depth2img needs \(model.vaeConfig.latentChannels + 1) (latent + depth)")
        }
    }

    /// prepare_depth_map: the conditioning [1, 1, H/f, W/f] in [−1, 1] for an RGB image of H×W, from
    /// the estimator or from `depthMap` ([1, h, w], any size; diffusers' depth_map= argument).
    public func depthConditioning(image: Image, depthMap: Tensor?) throws -> Tensor {
        let f = model.vaeConfig.scaleFactor
        let depth = try depthMap ?? estimate(padded: image)
        return try DepthMap.conditioning(depth, height: image.height / f, width: image.width / f)
    }

    /// Steps 5–9 on tensors: image [1, 3, H, W] in [−1, 1] (H, W multiples of the VAE factor), depth
    /// [1, 1, H/f, W/f]. Returns the final latents (diffusers output_type="latent").
    public func latents(image: Tensor, depth: Tensor, _ r: Depth2ImgRequest, progress: Progress? = nil) throws -> Tensor {
        let vae = model.vaeConfig
        let f = vae.scaleFactor
        let h = image.dim(2), w = image.dim(3)
        // 1. Check inputs.
        guard h % f == 0, w % f == 0 else { throw SDError.invalidInput("image size \(w)x\(h) is not a multiple of \(f)") }
        guard depth.shape == [1, 1, h / f, w / f] else { throw SDError.invalidInput("depth \(depth.shape) does not match the latent size") }
        guard (0...1).contains(r.strength) else { throw SDError.invalidInput("strength must be within 0…1, got \(r.strength)") }
        let cfg = r.guidance > 1
        let g = TorchGenerator(seed: r.seed)

        // 2.–4. Prompt embeddings ([uncond, cond] with guidance) and the depth, duplicated alike.
        let context = try model.encodePrompt(r.prompt, negative: r.negativePrompt, guidance: cfg, syntax: r.promptSyntax)
        let depthIn = cfg ? depth.repeatedBatch(2) : depth

        // 6. Timesteps, cut by strength.
        let scheduler = try model.scheduler(r.scheduler)
        let timesteps = try scheduler.timesteps(steps: r.steps, strength: r.strength)
        let deepCache = try DeepCacheRun(interval: r.deepCache, scheduler: scheduler)
        let firstT = timesteps[0]

        // 7. Initial latents: the image's posterior sample (RNG ①), noised to the first timestep (RNG ②).
        let imageLatents = try model.encodeImage(image, g)
        let latents = scheduler.addNoise(imageLatents, noise: g.randn(imageLatents.shape), timestep: firstT)

        // 9. Denoising loop: [latents | depth] → UNet → guidance → step.
        return try model.denoise(latents, timesteps: timesteps, scheduler: scheduler, context: context,
                                 guidance: cfg ? r.guidance : nil, deepCache: deepCache, conditioning: depthIn, generator: g, stop: r.stop, onLatents: r.onLatents, progress: progress)
    }

    /// The estimated depth ([1, h, w], the estimator's output size) the image-level call conditions
    /// on: DPT on the image padded to the VAE multiple. Estimate once, run many seeds.
    public func estimateDepth(_ original: Image) throws -> Tensor {
        try estimate(padded: Compositing.padToMultiple(original.rgb8(), model.vaeConfig.scaleFactor))
    }

    func estimate(padded: Image) throws -> Tensor {
        guard let e = estimator else { throw SDError.invalidInput("\(model.source.path): no depth_estimator loaded") }
        return try e(padded)
    }

    /// The image-level recipe (what `sdedit depth2img` runs): the edited image at the input's exact
    /// size. `depth`: a depth map [1, h, w] of any size (the user's, or estimateDepth's); nil
    /// estimates it here.
    public func callAsFunction(image original: Image, depth given: Tensor?, _ r: Depth2ImgRequest,
                               progress: Progress? = nil) throws -> Image {
        // 1. Pad to the VAE multiple with edge pixels (diffusers instead resizes down to it), so the
        //    exact size survives; an estimated depth comes from the padded image, aligned with its pixels.
        let f = model.vaeConfig.scaleFactor
        let padded = Compositing.padToMultiple(original.rgb8(), f)
        // 2. Depth conditioning; 3.–9. the latents; 10. decode, crop the padding off.
        let depth = try depthConditioning(image: padded, depthMap: given ?? estimate(padded: padded))
        let z = try latents(image: padded.toTensor(), depth: depth, r, progress: progress)
        let decoded = Image(tensor: try model.decodeLatents(z))
        return decoded.cropped(width: original.width, height: original.height)
    }
}
