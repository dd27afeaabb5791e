// `sdedit inpaint IMAGE MASK PROMPT`: repaint the white part of MASK in IMAGE.
import ArgumentParser
import Foundation
import SDCore
import SDModels
import SDJobs
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
        --model takes a diffusers folder, a single-file .safetensors checkpoint (its kind, configs and \
        tokenizer are built in; --config DIR uses a diffusers folder's instead), or a hub id resolved \
        offline in the Hugging Face cache (HF_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME/huggingface/hub, \
        ~/.cache/huggingface/hub); its default comes from SDEDIT_INPAINT_MODEL, else \
        stabilityai/stable-diffusion-2-inpainting.
        """)

    @Argument(help: ArgumentHelp("Input image (PNG or JPEG; '-' for stdin).", valueName: "image")) var imageArg: String?
    @Argument(help: ArgumentHelp("Mask image, same size as IMAGE ('-' for stdin).", valueName: "mask")) var maskArg: String?
    @Argument(help: ArgumentHelp("What to paint into the masked area.", valueName: "prompt")) var promptArg: String?
    @Option(help: "Run the jobs of a JSON Lines file with one model load (instead of IMAGE MASK PROMPT): one object per line with image, mask, prompt and optionally output, negative_prompt, seed, steps, guidance, strength.")
    var batch: String?

    var image: String { imageArg ?? "" }
    var mask: String { maskArg ?? "" }
    var prompt: String { promptArg ?? "" }

    @OptionGroup var inpaint: InpaintOptions
    @OptionGroup var common: GenerationOptions
    @Option(help: "Which mask channel says 'repaint': luminance or alpha.") var maskChannel: MaskChannel = .luminance
    @Flag(help: "Repaint the black part instead of the white.") var invertMask = false
    @Flag(help: "Resize a mask of another size to the image (Pillow LANCZOS) instead of failing (--batch jobs too).") var resizeMask = false

    var maskReading: MaskReading { MaskReading(channel: maskChannel, invert: invertMask, resize: resizeMask) }

    func validate() throws {
        if batch != nil {
            guard imageArg == nil else { throw ValidationError("--batch takes its images from the file: no IMAGE MASK PROMPT") }
            guard common.output == nil else { throw ValidationError("--batch: give each job's output in the file, not -o") }
            return
        }
        guard imageArg != nil, maskArg != nil, promptArg != nil || common.paramsFrom != nil else { throw ValidationError("missing IMAGE MASK PROMPT (or --batch FILE)") }
        if image == "-" && mask == "-" { throw ValidationError("IMAGE and MASK cannot both be stdin") }
    }

    func run() throws {
        try runReportingErrors {
            let progress = ProgressReporter(quiet: common.quiet)
            let precision = try common.startBackend(progress)
            let store = ModelStore()
            if let batch = batch { return try runBatch(batch, store: store, precision: precision, progress: progress) }
            try common.checkOutputs(input: image, suffix: "inpaint", inputs: [image, mask])
            // 1. Inputs.
            let original = try common.readInput(image, progress: progress).rgb8()
            let binary = try maskReading.mask(at: mask, for: original, common: common, progress: progress)

            // 2. Model and generation.
            try inpaint.generate(image: original, mask: binary, prompt: promptArg, input: image, suffix: "inpaint",
                                 common: common, store: store, precision: precision, progress: progress)
        }
    }
}
