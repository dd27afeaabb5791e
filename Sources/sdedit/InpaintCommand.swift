// `sdedit inpaint IMAGE MASK PROMPT`: repaint the white part of MASK in IMAGE.
import ArgumentParser
import Foundation
import SDCore
import SDModels
import SDPipelines

struct Inpaint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Repaint the masked part of an image (stabilityai/stable-diffusion-2-inpainting).",
        discussion: """
        White in MASK = repaint, black = keep. The output keeps the input's exact size. By default the \
        original pixels are pasted back outside the mask with a feathered edge; --no-composite returns the \
        raw pipeline output (what diffusers returns for the same seed).
        Order of operations: the mask is binarised (--mask-channel, --invert-mask), grown or shrunk \
        (--mask-grow), then the area is chosen (--area): for a crop, the box around every masked pixel \
        plus --padding is widened to the working aspect inside the image (diffusers' padding_mask_crop), \
        cropped and resized to --work-size (LANCZOS), inpainted, resized back and pasted onto the untouched \
        original; finally the result is blended in through the mask feathered by --mask-blur (pixels \
        outside the grown mask keep their original values exactly). Several separate mask regions get \
        one crop around all of them.
        --model takes a diffusers folder or a hub id resolved offline in the Hugging Face cache \
        (HF_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub); \
        its default comes from SDEDIT_INPAINT_MODEL, else stabilityai/stable-diffusion-2-inpainting.
        """)

    @Argument(help: "Input image (PNG or JPEG; '-' for stdin).") var image: String
    @Argument(help: "Mask image, same size as IMAGE ('-' for stdin).") var mask: String
    @Argument(help: "What to paint into the masked area.") var prompt: String

    @Option(help: "Model folder or hub id.")
    var model: String?
    @OptionGroup var common: GenerationOptions
    @Option(help: "Denoising steps.") var steps: Int = 50
    @Option(help: "Classifier-free guidance scale (≤ 1 turns guidance off).") var guidance: Float = 7.5
    @Option(help: "How much of the masked area to re-noise (0…1; 1 = start from pure noise).") var strength: Double = 1.0
    @Option(help: "Feather radius (Gaussian σ, pixels) of the paste-back edge.") var maskBlur: Double = 4
    @Option(help: "Which mask channel says 'repaint': luminance or alpha.") var maskChannel: MaskChannel = .luminance
    @Flag(help: "Repaint the black part instead of the white.") var invertMask = false
    @Flag(help: "Resize a mask of another size to the image (Pillow LANCZOS) instead of failing.") var resizeMask = false
    @Flag(help: "Return the raw pipeline output without pasting the original back.") var noComposite = false
    @Option(help: "Where to inpaint: masked (a crop around the mask at --work-size), whole (the full image at its own size), auto (masked when the image is larger than --work-size).")
    var area: InpaintArea = .auto
    @Option(help: "Pixels of context around the mask's box when cropping.") var padding: Int = 32
    @Option(help: "Working size of a crop, longer side in pixels (default: the model's native size, at least 512).")
    var workSize: Int?
    @Option(help: "Grow (> 0) or shrink (< 0) the mask by this many pixels (square window) before inpainting.")
    var maskGrow: Int = 0

    func validate() throws {
        guard steps >= 1 && steps <= 1000 else { throw ValidationError("--steps must be 1…1000") }
        guard (0...1).contains(strength) else { throw ValidationError("--strength must be within 0…1") }
        guard guidance.isFinite && guidance >= 0 && guidance <= 100 else { throw ValidationError("--guidance must be 0…100") }
        guard maskBlur >= 0 && maskBlur <= 256 else { throw ValidationError("--mask-blur must be 0…256") }
        if image == "-" && mask == "-" { throw ValidationError("IMAGE and MASK cannot both be stdin") }
        guard (0...4096).contains(padding) else { throw ValidationError("--padding must be 0…4096") }
        guard (-1024...1024).contains(maskGrow) else { throw ValidationError("--mask-grow must be -1024…1024") }
        if let w = workSize { guard (64...4096).contains(w) else { throw ValidationError("--work-size must be 64…4096") } }
    }

    func run() throws {
        try runReportingErrors {
            let progress = ProgressReporter(quiet: common.quiet)
            let precision = try common.startBackend(progress)
            try common.checkOutputs(input: image, suffix: "inpaint", inputs: [image, mask])
            // 1. Inputs.
            let original = try common.readImage(image).rgb8()
            var maskImage = try common.readImage(mask)
            if maskImage.width != original.width || maskImage.height != original.height {
                guard resizeMask else {
                    throw SDError.invalidInput("\(mask): mask is \(maskImage.width)x\(maskImage.height) but the image is "
                                               + "\(original.width)x\(original.height) (pass --resize-mask to resize it)")
                }
                maskImage = maskImage.to8Bit().pillowResized(width: original.width, height: original.height, filter: .lanczos)
            }
            let binary = try MaskPreparation.binaryMask(maskImage, channel: maskChannel, invert: invertMask)

            // 2. Model.
            let folder = try ModelLocator.resolve(model ?? ProcessInfo.processInfo.environment["SDEDIT_INPAINT_MODEL"]
                                                  ?? "stabilityai/stable-diffusion-2-inpainting")
            progress.message("sdedit: loading \(folder)")
            let t0 = Stopwatch.now()
            let sd = try StableDiffusionModel(folder: folder, precision: precision)
            let pipe = try InpaintPipeline(model: sd)
            progress.message(String(format: "sdedit: loaded in %.1fs", Stopwatch.now() - t0))

            var options = InpaintImageOptions()
            options.area = area
            options.padding = padding
            options.workSize = workSize
            options.maskGrow = maskGrow
            options.maskBlur = maskBlur
            options.composite = !noComposite

            let base = common.baseSeed()
            let schedulerKind = try common.scheduler ?? sd.defaultSchedulerKind()
            for i in 0..<common.count {
                var r = InpaintRequest(prompt: prompt)
                r.negativePrompt = common.negativePrompt
                r.steps = steps
                r.guidance = guidance
                r.strength = strength
                r.seed = base &+ UInt64(i)
                r.scheduler = schedulerKind
                progress.message("sdedit: seed \(r.seed)")
                progress.begin(common.count > 1 ? "inpaint \(i + 1)/\(common.count)" : "inpaint")
                let result = try pipe(image: original, mask: binary, r, options: options, progress: progress.update)
                if let box = result.box, i == 0 {
                    progress.message("sdedit: inpainting the \(box) crop around the mask at \(result.workWidth)x\(result.workHeight)")
                }
                let out = result.image
                let params = a1111Parameters(prompt: prompt, negative: common.negativePrompt, fields: [
                    ("Steps", "\(steps)"), ("Sampler", samplerName(schedulerKind)), ("CFG scale", "\(guidance)"),
                    ("Seed", "\(r.seed)"), ("Size", "\(original.width)x\(original.height)"),
                    ("Model", ModelLocator.displayName(folder)), ("Denoising strength", "\(strength)"),
                    ("Mask blur", noComposite ? "0" : "\(maskBlur)"),
                    ("Inpaint area", result.box == nil ? "Whole picture" : "Only masked"),
                    ("Masked area padding", "\(padding)"), ("Mask grow", "\(maskGrow)"),
                    ("Precision", precision.rawValue), ("Version", "sdedit \(SDEdit.configuration.version)"),
                ])
                try common.write(out, input: image, suffix: "inpaint", index: i, parameters: params, progress: progress)
            }
        }
    }
}
