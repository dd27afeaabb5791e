// `sdedit upscale IMAGE [PROMPT]`: 4× super-resolution with the x4 latent upscaler.
import ArgumentParser
import Foundation
import SDCore
import SDModels
import SDJobs
import SDPipelines

struct Upscale: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Upscale an image 4× (stabilityai/stable-diffusion-x4-upscaler).",
        discussion: """
        The output is exactly 4× the input in each dimension. Inputs larger than --tile low-res pixels are \
        processed in overlapping tiles (the UNet's predictions are blended at every step, the VAE decode is \
        tiled too), so memory stays bounded; --tile 0 turns tiling off (what diffusers computes).
        --model defaults to $SDEDIT_UPSCALE_MODEL, else stabilityai/stable-diffusion-x4-upscaler, resolved \
        offline as for inpaint.
        """)

    @Argument(help: ArgumentHelp("Input image (PNG or JPEG; '-' for stdin).", valueName: "image")) var imageArg: String?
    @Argument(help: "What the image shows (optional; guides the upscaler).") var prompt: String = ""
    @Option(help: "Run the jobs of a JSON Lines file with one model load (instead of IMAGE [PROMPT]): one object per line with image and optionally prompt, output, negative_prompt, seed, steps, guidance, noise_level.")
    var batch: String?

    var image: String { imageArg ?? "" }

    @OptionGroup var model: ModelOption
    @OptionGroup var common: GenerationOptions
    @Option(parsing: .unconditional, help: "Denoising steps.") var steps: Int = 75
    @Option(parsing: .unconditional, help: "Classifier-free guidance scale (≤ 1 turns guidance off).") var guidance: Float = 9.0
    @Option(parsing: .unconditional, help: "Noise added to the low-res input, 0…350 (also the UNet's class label).") var noiseLevel: Int = 20
    @Option(parsing: .unconditional, help: "Tile size in input pixels (0 = no tiling).") var tile: Int = 128
    @Option(parsing: .unconditional, help: "Overlap between tiles in input pixels.") var tileOverlap: Int = 32

    func validate() throws {
        guard steps >= 1 && steps <= 1000 else { throw ValidationError("--steps must be 1…1000") }
        guard guidance.isFinite && guidance >= 0 && guidance <= 100 else { throw ValidationError("--guidance must be 0…100") }
        guard (0...350).contains(noiseLevel) else { throw ValidationError("--noise-level must be 0…350") }
        guard tile == 0 || (tile >= 16 && tile <= 4096) else { throw ValidationError("--tile must be 0 or 16…4096") }
        guard tileOverlap >= 0 && (tile == 0 || tileOverlap < tile / 2) else { throw ValidationError("--tile-overlap must be below half the tile") }
        if batch != nil {
            guard imageArg == nil else { throw ValidationError("--batch takes its images from the file: no IMAGE [PROMPT]") }
            guard common.output == nil else { throw ValidationError("--batch: give each job's output in the file, not -o") }
        } else if imageArg == nil {
            throw ValidationError("missing IMAGE (or --batch FILE)")
        }
    }

    func run() throws {
        try runReportingErrors {
            let progress = ProgressReporter(quiet: common.quiet)
            let precision = try common.startBackend(progress)
            let store = ModelStore()
            if let batch = batch { return try runBatch(batch, store: store, precision: precision, progress: progress) }
            try common.checkOutputs(input: image, suffix: "x4", inputs: [image])
            // 1. Input; 2. model.
            let original = try common.readInput(image, progress: progress).rgb8()
            let r = try common.settings(prompt: prompt.isEmpty && common.paramsFrom != nil ? nil : prompt, steps: steps, guidance: guidance, strength: 1,
                                        fileStrength: false, progress: progress)
            let m = try store.model(spec(r.prompt, precision: precision), observer: progress)
            try common.run(job(original, settings: r, noiseLevel: noiseLevel, count: common.count, label: "upscale"), on: m,
                           input: image, suffix: "x4", progress: progress)
        }
    }

    func spec(_ prompt: String, precision: Precision) throws -> ModelSpec {
        try model.spec(for: .upscale, prompt: prompt, syntax: common.promptSyntax, precision: precision)
    }

    func job(_ image: Image, settings: GenerationRequest, noiseLevel: Int, count: Int = 1, label: String) -> ImageJob {
        ImageJob(task: .upscale(image: image, noiseLevel: noiseLevel, tile: tile == 0 ? nil : tile, tileOverlap: tileOverlap),
                 settings: settings, count: count, label: label)
    }

    struct Job: ImageBatchLine {
        let image: String
        let prompt: String?, output: String?, negativePrompt: String?, seed: UInt64?, steps: Int?, guidance: Float?
        let noiseLevel: Int?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case image, prompt, output, seed, steps, guidance
            case negativePrompt = "negative_prompt", noiseLevel = "noise_level"
        }
        static let shape = "a JSON object with image"
    }

    func runBatch(_ path: String, store: ModelStore, precision: Precision, progress: ProgressReporter) throws {
        let first = try store.model(spec(prompt, precision: precision), observer: progress)
        let maxNoiseLevel = try first.upscalePipeline().maxNoiseLevel
        let base = common.baseSeed()
        try runJobLines(path, progress: progress) { (i: Int, count: Int, job: Job) in
            let prompt = job.prompt ?? self.prompt
            var r = common.request(prompt, steps: steps, guidance: guidance, strength: 1, seed: job.seed ?? base &+ UInt64(i))
            try applyOverrides(&r, negativePrompt: job.negativePrompt, steps: job.steps, guidance: job.guidance, strength: nil)
            if let v = job.noiseLevel, !(0...maxNoiseLevel).contains(v) {
                throw SDError.invalidInput("noise_level must be 0…\(maxNoiseLevel)")
            }
            let out = try batchOutput(job.output, image: job.image, suffix: "x4", inputs: [job.image, path])
            let original = try common.readInput(job.image, progress: progress).rgb8()
            let m = try store.model(spec(prompt, precision: precision), observer: progress)
            try writeBatchImage(self.job(original, settings: r, noiseLevel: job.noiseLevel ?? noiseLevel, label: "job \(i + 1)/\(count)"),
                                on: m, to: out, common: common, progress: progress)
        }
    }
}
