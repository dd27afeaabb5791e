// `sdedit img2img IMAGE PROMPT`: re-imagine an image with a base model (SD 2.x base / 2.1).
import ArgumentParser
import Foundation
import SDCore
import SDModels
import SDJobs
import SDPipelines

struct Img2Img: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "img2img",
        abstract: "Re-imagine an image with a base model (SD 2.1, SD 2 base, SD 1.x).",
        discussion: """
        --strength says how much of the image is re-noised (0 keeps it, 1 only keeps its colours' \
        statistics); int(steps × strength) steps run, as in diffusers. v-prediction or epsilon comes from the \
        checkpoint's scheduler_config.json (single files: v-prediction for SD 2.x, epsilon for SD 1.x; \
        --prediction-type overrides). The output keeps the input's exact size (edge-padded to a multiple \
        of 8 and cropped back; diffusers resizes down).
        --model takes a diffusers folder, a single-file .safetensors or a hub id as for inpaint; its default comes \
        from SDEDIT_IMG2IMG_MODEL, else stabilityai/stable-diffusion-2-1.
        """)

    @Argument(help: ArgumentHelp("Input image (PNG or JPEG; '-' for stdin).", valueName: "image")) var imageArg: String?
    @Argument(help: ArgumentHelp("What the result should show.", valueName: "prompt")) var promptArg: String?
    @Option(help: "Run the jobs of a JSON Lines file with one model load (instead of IMAGE PROMPT): one object per line with image, prompt and optionally output, negative_prompt, seed, steps, guidance, strength.")
    var batch: String?
    var image: String { imageArg ?? "" }
    var prompt: String { promptArg ?? "" }
    @OptionGroup var model: ModelOption
    @OptionGroup var vae: TinyVAEOptions
    @OptionGroup var common: GenerationOptions
    @Option(parsing: .unconditional, help: "Denoising steps (before --strength takes its share).") var steps: Int = 50
    @Option(parsing: .unconditional, help: "Classifier-free guidance scale (≤ 1 turns guidance off).") var guidance: Float = 7.5
    @Option(parsing: .unconditional, help: "How much of the image to re-noise (0…1).") var strength: Double = 0.8

    func validate() throws {
        if batch != nil {
            guard imageArg == nil else { throw ValidationError("--batch takes its images from the file: no IMAGE PROMPT") }
            guard common.output == nil else { throw ValidationError("--batch: give each job's output in the file, not -o") }
        } else {
            guard imageArg != nil, promptArg != nil || common.paramsFrom != nil else { throw ValidationError("missing IMAGE PROMPT (or --batch FILE)") }
        }
        guard steps >= 1 && steps <= 1000 else { throw ValidationError("--steps must be 1…1000") }
        guard (0...1).contains(strength) else { throw ValidationError("--strength must be within 0…1") }
        guard guidance.isFinite && guidance >= 0 && guidance <= 100 else { throw ValidationError("--guidance must be 0…100") }
    }

    func run() throws {
        try runReportingErrors {
            let progress = ProgressReporter(quiet: common.quiet)
            let precision = try common.startBackend(progress)
            let store = ModelStore()
            if let batch = batch { return try runBatch(batch, store: store, precision: precision, progress: progress) }
            try common.checkOutputs(input: image, suffix: "img2img", inputs: [image])
            let original = try common.readInput(image, progress: progress).rgb8()
            let r = try common.settings(prompt: promptArg, steps: steps, guidance: guidance, strength: strength, fileStrength: true,
                                        progress: progress)
            let m = try store.model(spec(r.prompt, precision: precision), observer: progress)
            try common.run(ImageJob(task: .img2img(image: original), settings: r, count: common.count), on: m,
                           input: image, suffix: "img2img", progress: progress)
        }
    }

    func spec(_ prompt: String, precision: Precision) throws -> ModelSpec {
        try model.spec(for: .img2img, prompt: prompt, syntax: common.promptSyntax, precision: precision, vae: vae)
    }

    struct Job: ImageBatchLine {
        let image: String, prompt: String
        let output: String?, negativePrompt: String?, seed: UInt64?, steps: Int?, guidance: Float?, strength: Double?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case image, prompt, output, seed, steps, guidance, strength
            case negativePrompt = "negative_prompt"
        }
        static let shape = "a JSON object with image and prompt"
    }

    /// --batch: the model loads once before the first line (again only for a line whose <lora:…> tags
    /// ask for other LoRAs).
    func runBatch(_ path: String, store: ModelStore, precision: Precision, progress: ProgressReporter) throws {
        _ = try store.model(spec("", precision: precision), observer: progress)
        let base = common.baseSeed()
        try runJobLines(path, progress: progress) { (i: Int, count: Int, job: Job) in
            var r = common.request(job.prompt, steps: steps, guidance: guidance, strength: strength, seed: job.seed ?? base &+ UInt64(i))
            try applyOverrides(&r, negativePrompt: job.negativePrompt, steps: job.steps, guidance: job.guidance, strength: job.strength)
            let out = try batchOutput(job.output, image: job.image, suffix: "img2img", inputs: [job.image, path])
            let original = try common.readInput(job.image, progress: progress).rgb8()
            let m = try store.model(spec(job.prompt, precision: precision), observer: progress)
            try writeBatchImage(ImageJob(task: .img2img(image: original), settings: r, label: "job \(i + 1)/\(count)"),
                                on: m, to: out, common: common, progress: progress)
        }
    }
}
