// Options and the generation loop shared by `inpaint` and `outpaint` (both run InpaintPipeline's
// image-level recipe on an image and a 0/1 mask).
import ArgumentParser
import Foundation
import SDCore
import SDModels
import SDPipelines

struct InpaintOptions: ParsableArguments {
    @OptionGroup var model: ModelOption
    @OptionGroup var vae: TinyVAEOptions
    @Option(parsing: .unconditional, help: "Denoising steps.") var steps: Int = 50
    @Option(parsing: .unconditional, help: "Classifier-free guidance scale (≤ 1 turns guidance off).") var guidance: Float = 7.5
    @Option(parsing: .unconditional, help: "How much of the masked area to re-noise (0…1; 1 = start from pure noise).") var strength: Double = 1.0
    @Option(parsing: .unconditional, help: "Feather radius (Gaussian σ, pixels) of the paste-back edge.") var maskBlur: Double = 4
    @Flag(help: "Return the raw pipeline output without pasting the original back.") var noComposite = false
    @Option(help: "Where to inpaint: masked (a crop around the mask at --work-size), whole (the full image at its own size), auto (masked when the image is larger than --work-size).")
    var area: InpaintArea = .auto
    @Option(parsing: .unconditional, help: "Pixels of context around the mask's box when cropping.") var padding: Int = 32
    @Option(parsing: .unconditional, help: "Working size of a crop, longer side in pixels (default: the model's native size, at least 512).")
    var workSize: Int?
    @Option(parsing: .unconditional, help: "Grow (> 0) or shrink (< 0) the mask by this many pixels (square window) before inpainting.")
    var maskGrow: Int = 0
    @Option(help: "Masked content before denoising, as A1111's: original (the image), fill (the colours around the mask blurred into it), latent-noise (seeded noise), latent-nothing (zeros). Matters below --strength 1.")
    var fill: MaskedContent = .original

    func validate() throws {
        guard steps >= 1 && steps <= 1000 else { throw ValidationError("--steps must be 1…1000") }
        guard (0...1).contains(strength) else { throw ValidationError("--strength must be within 0…1") }
        guard guidance.isFinite && guidance >= 0 && guidance <= 100 else { throw ValidationError("--guidance must be 0…100") }
        guard maskBlur >= 0 && maskBlur <= 256 else { throw ValidationError("--mask-blur must be 0…256") }
        guard (0...4096).contains(padding) else { throw ValidationError("--padding must be 0…4096") }
        guard (-1024...1024).contains(maskGrow) else { throw ValidationError("--mask-grow must be -1024…1024") }
        if let w = workSize { guard (64...4096).contains(w) else { throw ValidationError("--work-size must be 64…4096") } }
    }

    var imageOptions: InpaintImageOptions {
        var o = InpaintImageOptions()
        o.area = area
        o.padding = padding
        o.workSize = workSize
        o.maskGrow = maskGrow
        o.maskBlur = maskBlur
        o.composite = !noComposite
        o.content = fill
        return o
    }

    /// The loaded model and what every job of a run shares.
    struct Loaded {
        let pipe: InpaintPipeline
        let name: String
        let scheduler: SchedulerKind
    }

    func load(common: GenerationOptions, precision: Precision, progress: ProgressReporter, prompt: String = "") throws -> Loaded {
        let source = try model.source(for: .inpaint, prompt: prompt, syntax: common.promptSyntax)
        let tiny = try vae.load(precision: precision)
        progress.message("sdedit: loading \(source.path)")
        let t0 = Stopwatch.now()
        let sd = try StableDiffusionModel(source: source, precision: precision)
        try vae.attach(tiny, to: sd, progress: progress)
        let pipe = try InpaintPipeline(model: sd)
        progress.message(String(format: "sdedit: loaded in %.1fs", Stopwatch.now() - t0))
        return Loaded(pipe: pipe, name: source.displayName, scheduler: try common.scheduler ?? sd.defaultSchedulerKind())
    }

    /// One image: the request (prompt, seed and the per-job numbers) run on `image` and `mask`, with
    /// its A1111 parameters text.
    func paint(_ m: Loaded, image: Image, mask: Tensor, _ r: InpaintRequest, precision: Precision, label: String,
               progress: ProgressReporter, fields extra: [(String, String)] = []) throws -> (Image, String) {
        try notePrompt(m.pipe.model, r.prompt, negative: r.negativePrompt, syntax: r.promptSyntax, progress: progress)
        progress.message("sdedit: seed \(r.seed)")
        progress.begin(label)
        let result = try m.pipe(image: image, mask: mask, r, options: imageOptions, progress: progress.update)
        if let box = result.box {
            progress.message("sdedit: inpainting the \(box) crop around the mask at \(result.workWidth)x\(result.workHeight)")
        }
        let params = a1111Parameters(prompt: r.prompt, negative: r.negativePrompt, fields: [
            ("Steps", "\(r.steps)"), ("Sampler", samplerName(m.scheduler)), ("CFG scale", "\(r.guidance)"),
            ("Seed", "\(r.seed)"), ("Size", "\(image.width)x\(image.height)"),
            ("Model", m.name), ("Denoising strength", "\(r.strength)"),
            ("Mask blur", noComposite ? "0" : "\(maskBlur)"),
            ("Inpaint area", result.box == nil ? "Whole picture" : "Only masked"),
            ("Masked area padding", "\(padding)"), ("Mask grow", "\(maskGrow)"),
        ] + (fill == .original ? [] : [("Masked content", fill.a1111Name)]) + extra + deepCacheFields(r.deepCache) + vae.fields + [("Precision", precision.rawValue), ("Version", "sdedit \(SDEdit.configuration.version)")])
        return (result.image, params)
    }

    func request(prompt: String, common: GenerationOptions, seed: UInt64, scheduler: SchedulerKind) -> InpaintRequest {
        common.request(prompt, steps: steps, guidance: guidance, strength: strength, seed: seed, scheduler: scheduler)
    }

    /// Load the model, then for each of --count seeds inpaint `mask` in `image` and write it.
    /// `fields`: extra A1111 parameters of the command (outpaint's extension).
    func generate(image: Image, mask: Tensor, prompt: String, input: String, suffix: String, common: GenerationOptions,
                  precision: Precision, progress: ProgressReporter, fields extra: [(String, String)] = []) throws {
        let m = try load(common: common, precision: precision, progress: progress, prompt: prompt)
        let base = common.baseSeed()
        for i in 0..<common.count {
            let r = request(prompt: prompt, common: common, seed: base &+ UInt64(i), scheduler: m.scheduler)
            let (out, params) = try paint(m, image: image, mask: mask, r, precision: precision,
                                          label: common.count > 1 ? "\(suffix) \(i + 1)/\(common.count)" : suffix,
                                          progress: progress, fields: extra)
            try common.write(out, input: input, suffix: suffix, index: i, parameters: params, progress: progress)
        }
    }
}
