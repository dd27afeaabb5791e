// `sdedit depth2img IMAGE PROMPT`: re-imagine an image keeping its depth (stable-diffusion-2-depth),
// and `sdedit depth IMAGE`: only the MiDaS DPT-hybrid depth estimate.
import ArgumentParser
import Foundation
import SDCore
import SDModels
import SDJobs
import SDPipelines

struct Depth2Img: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "depth2img",
        abstract: "Re-imagine an image, keeping its depth (stabilityai/stable-diffusion-2-depth).",
        discussion: """
        The depth of IMAGE is estimated with the checkpoint's MiDaS DPT-hybrid (depth_estimator/), or \
        taken from --depth-map (then DPT is never loaded), and conditions every denoising step; --strength \
        says how much of the image is re-noised (1 = only the depth survives). The output keeps the input's \
        exact size: the image is padded with its edge pixels to a multiple of 8 and the padding is cropped \
        off afterwards (diffusers instead resizes down to the multiple; on sizes that are multiples of 8 \
        both are the same). The depth is estimated once per run, on the padded image.
        --model takes a diffusers folder, a single-file .safetensors or a hub id as for inpaint; its default \
        comes from SDEDIT_DEPTH_MODEL, else stabilityai/stable-diffusion-2-depth. A single file's depth \
        estimator is its own MiDaS (512-depth-ema.safetensors carries it under depth_model.*); a depth \
        file without one takes it from --config (stable-diffusion-2-depth's folder or hub id) unless \
        --depth-map is given.
        """)

    @Argument(help: ArgumentHelp("Input image (PNG or JPEG; '-' for stdin).", valueName: "image")) var imageArg: String?
    @Argument(help: ArgumentHelp("What the result should show.", valueName: "prompt")) var promptArg: String?
    @Option(help: "Run the jobs of a JSON Lines file with one model load (instead of IMAGE PROMPT): one object per line with image, prompt and optionally output, negative_prompt, seed, steps, guidance, strength, depth_map.")
    var batch: String?

    var image: String { imageArg ?? "" }
    var prompt: String { promptArg ?? "" }

    @OptionGroup var model: ModelOption
    @OptionGroup var vae: TinyVAEOptions
    @OptionGroup var common: GenerationOptions
    @Option(parsing: .unconditional, help: "Denoising steps (before --strength takes its share).") var steps: Int = 50
    @Option(parsing: .unconditional, help: "Classifier-free guidance scale (≤ 1 turns guidance off).") var guidance: Float = 7.5
    @Option(parsing: .unconditional, help: "How much of the image to re-noise (0…1).") var strength: Double = 0.8
    @Option(help: "Use this grayscale depth map (8- or 16-bit, white = near, any size) instead of estimating one.")
    var depthMap: String?
    @Option(help: "Also write the depth the run used (16-bit grayscale PNG at the input's size, white = near).")
    var saveDepth: String?

    func validate() throws {
        guard steps >= 1 && steps <= 1000 else { throw ValidationError("--steps must be 1…1000") }
        guard (0...1).contains(strength) else { throw ValidationError("--strength must be within 0…1") }
        guard guidance.isFinite && guidance >= 0 && guidance <= 100 else { throw ValidationError("--guidance must be 0…100") }
        if batch != nil {
            guard imageArg == nil else { throw ValidationError("--batch takes its images from the file: no IMAGE PROMPT") }
            guard common.output == nil, depthMap == nil, saveDepth == nil else {
                throw ValidationError("--batch: give each job's output and depth_map in the file, not -o / --depth-map / --save-depth")
            }
            return
        }
        guard imageArg != nil, promptArg != nil || common.paramsFrom != nil else { throw ValidationError("missing IMAGE PROMPT (or --batch FILE)") }
        if image == "-" && depthMap == "-" { throw ValidationError("IMAGE and --depth-map cannot both be stdin") }
        if saveDepth == "-" && (common.output == nil ? image == "-" : common.output == "-") {
            throw ValidationError("--save-depth and the output cannot both be stdout")
        }
    }

    func run() throws {
        try runReportingErrors {
            let progress = ProgressReporter(quiet: common.quiet)
            let precision = try common.startBackend(progress)
            let store = ModelStore()
            if let batch = batch { return try runBatch(batch, store: store, precision: precision, progress: progress) }
            let inputs = [image] + (depthMap.map { [$0] } ?? [])
            try common.checkOutputs(input: image, suffix: "depth2img", inputs: inputs)
            if let s = saveDepth { try common.refuseOverwrite(s, inputs: inputs) }
            // 1. Inputs.
            let original = try common.readInput(image, progress: progress).rgb8()
            let userMap = try depthMap.map { try readDepthMap($0) }
            // 2. Model; DPT only when no depth map was given. 3. Depth, once for every seed.
            let r = try common.settings(prompt: promptArg, steps: steps, guidance: guidance, strength: strength, fileStrength: true,
                                        progress: progress)
            let m = try store.model(spec(r.prompt, precision: precision), observer: progress)
            let estimated = userMap == nil && saveDepth != nil ? try m.depth2img(estimator: true).estimateDepth(original) : nil
            if let s = saveDepth, let d = userMap ?? estimated {
                let f = m.sd.vaeConfig.scaleFactor
                let full = DepthMap.image(d, width: (original.width + f - 1) / f * f, height: (original.height + f - 1) / f * f)
                try ImageIO.write(full.cropped(width: original.width, height: original.height), to: s)
                if s != "-" { progress.message("sdedit: wrote depth \(s)") }
            }
            let depth: DepthSource = userMap.map { .map($0) } ?? estimated.map { .estimated($0) } ?? .estimate
            try common.run(ImageJob(task: .depth2img(image: original, depth: depth), settings: r, count: common.count), on: m,
                           input: image, suffix: "depth2img", progress: progress)
        }
    }

    func spec(_ prompt: String, precision: Precision) throws -> ModelSpec {
        try model.spec(for: .depth, prompt: prompt, syntax: common.promptSyntax, precision: precision, vae: vae)
    }

    /// A --depth-map (or a job's depth_map) as depth [1, h, w], refused when flat: every pixel the
    /// same value leaves nothing to condition on (diffusers would divide by zero).
    func readDepthMap(_ path: String) throws -> Tensor {
        let depth = DepthMap.tensor(from: try common.readImage(path))
        guard depth.maximum() > depth.minimum() else {
            throw SDError.invalidInput("\(path == "-" ? "<stdin>" : path): the depth map is flat (every pixel the same value); "
                                       + "depth2img needs depth variation (white = near)")
        }
        return depth
    }

    struct Job: ImageBatchLine {
        let image: String, prompt: String
        let output: String?, negativePrompt: String?, seed: UInt64?, steps: Int?, guidance: Float?, strength: Double?
        let depthMap: String?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case image, prompt, output, seed, steps, guidance, strength
            case negativePrompt = "negative_prompt", depthMap = "depth_map"
        }
        static let shape = "a JSON object with image and prompt"
    }

    /// --batch: one model load (the DPT loaded with the first job without depth_map), then each line.
    func runBatch(_ path: String, store: ModelStore, precision: Precision, progress: ProgressReporter) throws {
        _ = try store.model(spec("", precision: precision), observer: progress)
        let base = common.baseSeed()
        try runJobLines(path, progress: progress) { (i: Int, count: Int, job: Job) in
            var r = common.request(job.prompt, steps: steps, guidance: guidance, strength: strength, seed: job.seed ?? base &+ UInt64(i))
            try applyOverrides(&r, negativePrompt: job.negativePrompt, steps: job.steps, guidance: job.guidance, strength: job.strength)
            let out = try batchOutput(job.output, image: job.image, suffix: "depth2img",
                                      inputs: [job.image, path] + (job.depthMap.map { [$0] } ?? []))
            let original = try common.readInput(job.image, progress: progress).rgb8()
            let depth = try job.depthMap.map { DepthSource.map(try readDepthMap($0)) } ?? .estimate
            let m = try store.model(spec(job.prompt, precision: precision), observer: progress)
            try writeBatchImage(ImageJob(task: .depth2img(image: original, depth: depth), settings: r, label: "job \(i + 1)/\(count)"),
                                on: m, to: out, common: common, progress: progress)
        }
    }
}

struct Depth: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Estimate an image's depth with MiDaS DPT-hybrid (the depth model's depth_estimator/).",
        discussion: """
        Writes a 16-bit grayscale PNG at the input's size: relative inverse depth, min–max normalised, \
        white = near (what depth2img conditions on, and what --depth-map reads back). The estimate is \
        computed at the estimator's own square size (384×384 for stable-diffusion-2-depth) and resized \
        with bicubic interpolation. --model as for depth2img; only depth_estimator/ and \
        feature_extractor/ (or a single file's depth_model.*) are loaded.
        """)

    @Argument(help: "Input image (PNG or JPEG; '-' for stdin).") var image: String
    @OptionGroup var model: ModelOption
    @Option(name: .shortAndLong, help: "Output PNG; '-' for stdout. Default: <input>-depth.png beside the input.")
    var output: String?
    @Option(parsing: .unconditional, help: "Threads for all numeric work (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Numeric precision: auto, fp32 or bf16 (as for depth2img).") var precision: PrecisionChoice = .auto
    @Option(parsing: .unconditional, help: "Refuse input images with more pixels than this, from the header, before decoding.")
    var maxPixels: Int = Image.defaultMaxPixels
    @Flag(name: .shortAndLong, help: "No messages on stderr (errors still print).") var quiet = false

    func validate() throws {
        guard threads >= 1 && threads <= 1024 else { throw ValidationError("--threads must be at least 1") }
        guard (1...(1 << 30)).contains(maxPixels) else { throw ValidationError("--max-pixels must be 1…\(1 << 30)") }
    }

    func run() throws {
        try runReportingErrors {
            let progress = ProgressReporter(quiet: quiet)
            for w in try Backend.start(threads: threads) { progress.message("sdedit: warning: \(w)") }
            let out = output ?? (image == "-" ? "-" : (image as NSString).deletingPathExtension + "-depth.png")
            try refuseOverwritingInput(out, inputs: [image])
            let original = try ImageIO.read(image, maxPixels: maxPixels).rgb8()
            let source = try model.source(for: .depth)
            progress.message("sdedit: loading \(source.path) (depth estimator)")
            let estimator = try DepthEstimator(source: source, precision: precision.resolved)
            let t0 = Stopwatch.now()
            let depth = try estimator(original)
            progress.message(String(format: "sdedit: depth estimated in %.2fs", Stopwatch.now() - t0))
            try ImageIO.write(DepthMap.image(depth, width: original.width, height: original.height), to: out)
            if out != "-" { progress.message("sdedit: wrote \(out)") }
        }
    }
}
