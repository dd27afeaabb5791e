// Options shared by `inpaint` and `outpaint` (both run the inpaint job, InpaintPipeline's image-level
// recipe, on an image and a Mask).
import ArgumentParser
import Foundation
import SDCore
import SDModels
import SDJobs
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

    func spec(_ prompt: String, common: GenerationOptions, precision: Precision) throws -> ModelSpec {
        try model.spec(for: .inpaint, prompt: prompt, syntax: common.promptSyntax, precision: precision, vae: vae)
    }

    func request(prompt: String, common: GenerationOptions, seed: UInt64) -> InpaintRequest {
        common.request(prompt, steps: steps, guidance: guidance, strength: strength, seed: seed)
    }

    /// The job of `mask` in `image`; `fields`: extra infotext fields of the command (outpaint's extension).
    func job(image: Image, mask: Mask, settings: InpaintRequest, count: Int = 1, label: String,
             fields: [(String, String)] = []) -> ImageJob {
        ImageJob(task: .inpaint(image: image, mask: mask, options: imageOptions, fields: fields), settings: settings,
                 count: count, label: label)
    }

    /// Load the model, then for each of --count seeds inpaint `mask` in `image` and write it.
    func generate(image: Image, mask: Mask, prompt: String?, input: String, suffix: String, common: GenerationOptions,
                  store: ModelStore, precision: Precision, progress: ProgressReporter, fields: [(String, String)] = []) throws {
        let r = try common.settings(prompt: prompt, steps: steps, guidance: guidance, strength: strength, fileStrength: true,
                                    progress: progress)
        let m = try store.model(spec(r.prompt, common: common, precision: precision), observer: progress)
        try common.run(job(image: image, mask: mask, settings: r, count: common.count, label: suffix, fields: fields),
                       on: m, input: input, suffix: suffix, progress: progress)
    }
}
