// `sdedit upscale IMAGE [PROMPT]`: 4× super-resolution with the x4 latent upscaler.
import ArgumentParser
import Foundation
import SDCore
import SDModels
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
            if let batch = batch { return try runBatch(batch, precision: precision, progress: progress) }
            try common.checkOutputs(input: image, suffix: "x4", inputs: [image])
            // 1. Input; 2. model.
            let original = try common.readImage(image).rgb8()
            let m = try load(precision: precision, progress: progress)
            let base = common.baseSeed()
            for i in 0..<common.count {
                let r = request(prompt: prompt, seed: base &+ UInt64(i))
                let (out, params) = try upscale(m, original, r, precision: precision,
                                                label: common.count > 1 ? "upscale \(i + 1)/\(common.count)" : "upscale", progress: progress)
                try common.write(out, input: image, suffix: "x4", index: i, parameters: params, progress: progress)
            }
        }
    }

    struct Loaded { let pipe: UpscalePipeline, name: String, scheduler: SchedulerKind }

    func load(precision: Precision, progress: ProgressReporter) throws -> Loaded {
        let source = try model.source(for: .upscale, prompt: prompt, syntax: common.promptSyntax)
        progress.message("sdedit: loading \(source.path)")
        let t0 = Stopwatch.now()
        let pipe = try UpscalePipeline(model: StableDiffusionModel(source: source, precision: precision))
        progress.message(String(format: "sdedit: loaded in %.1fs", Stopwatch.now() - t0))
        return Loaded(pipe: pipe, name: source.displayName, scheduler: try common.scheduler ?? pipe.model.defaultSchedulerKind())
    }

    func request(prompt: String, seed: UInt64) -> UpscaleRequest {
        var r = UpscaleRequest(prompt: prompt)
        r.negativePrompt = common.negativePrompt
        r.promptSyntax = common.promptSyntax
        r.steps = steps
        r.guidance = guidance
        r.noiseLevel = noiseLevel
        r.seed = seed
        r.tile = tile == 0 ? nil : tile
        r.tileOverlap = tileOverlap
        r.deepCache = common.deepCache
        return r
    }

    /// One image, padded to the VAE's multiple and cropped back to exactly 4×, with its A1111 text.
    func upscale(_ m: Loaded, _ original: Image, _ request: UpscaleRequest, precision: Precision, label: String,
                 progress: ProgressReporter) throws -> (Image, String) {
        var r = request
        r.scheduler = m.scheduler
        let padded = Compositing.padToMultiple(original, m.pipe.model.vae.config.scaleFactor)
        try notePrompt(m.pipe.model, r.prompt, negative: r.negativePrompt, syntax: r.promptSyntax, progress: progress)
        progress.message("sdedit: seed \(r.seed)")
        progress.begin(label)
        let decoded = try m.pipe(image: padded.toTensor(), r, progress: progress.update)
        let out = Compositing.crop(Image(tensor: decoded), width: original.width * 4, height: original.height * 4)
        let params = a1111Parameters(prompt: r.prompt, negative: r.negativePrompt, fields: [
            ("Steps", "\(r.steps)"), ("Sampler", samplerName(m.scheduler)), ("CFG scale", "\(r.guidance)"),
            ("Seed", "\(r.seed)"), ("Size", "\(out.width)x\(out.height)"), ("Model", m.name),
            ("Noise level", "\(r.noiseLevel)"), ("Tile", tile == 0 ? "off" : "\(tile)"),
        ] + deepCacheFields(r.deepCache) + [
            ("Precision", precision.rawValue), ("Version", "sdedit \(SDEdit.configuration.version)"),
        ])
        return (out, params)
    }

    struct Job: BatchLine {
        let image: String
        let prompt: String?, output: String?, negativePrompt: String?, seed: UInt64?, steps: Int?, guidance: Float?
        let noiseLevel: Int?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case image, prompt, output, seed, steps, guidance
            case negativePrompt = "negative_prompt", noiseLevel = "noise_level"
        }
        static let shape = "a JSON object with image"
    }

    func runBatch(_ path: String, precision: Precision, progress: ProgressReporter) throws {
        let m = try load(precision: precision, progress: progress)
        let base = common.baseSeed()
        try runJobLines(path, progress: progress) { (i: Int, count: Int, job: Job) in
            var r = request(prompt: job.prompt ?? prompt, seed: job.seed ?? base &+ UInt64(i))
            if let v = job.negativePrompt { r.negativePrompt = v }
            if let v = try checkedSteps(job.steps) { r.steps = v }
            if let v = try checkedGuidance(job.guidance) { r.guidance = v }
            if let v = job.noiseLevel {
                guard (0...m.pipe.maxNoiseLevel).contains(v) else { throw SDError.invalidInput("noise_level must be 0…\(m.pipe.maxNoiseLevel)") }
                r.noiseLevel = v
            }
            let out = try batchOutput(job.output, image: job.image, suffix: "x4", inputs: [job.image, path])
            let (image, params) = try upscale(m, try common.readImage(job.image).rgb8(), r, precision: precision,
                                              label: "job \(i + 1)/\(count)", progress: progress)
            try ImageIO.write(image, to: out, text: [("parameters", params)], jpegQuality: common.jpegQuality)
            progress.message("sdedit: wrote \(out)")
        }
    }
}
