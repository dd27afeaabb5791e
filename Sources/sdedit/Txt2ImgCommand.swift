// `sdedit txt2img PROMPT`: generate an image from text (diffusers' StableDiffusionPipeline).
import ArgumentParser
import Foundation
import SDCore
import SDModels
import SDJobs
import SDPipelines

struct Txt2Img: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "txt2img",
        abstract: "Generate an image from a prompt (SD 2.1, SD 2 base, SD 1.x, SD-Turbo, or an inpainting model).",
        discussion: """
        The size defaults to the UNet's sample_size × 8 (768 for SD 2.1, 512 for SD 1.x, SD 2.1-base and \
        SD-Turbo); --width and --height take any multiple of 8. --guidance ≤ 1 turns classifier-free guidance \
        off (SD-Turbo: --steps 1 --guidance 0). v-prediction or epsilon and the scheduler's settings come from \
        the checkpoint's scheduler_config.json; --scheduler keeps those settings (timestep spacing, prediction \
        type, betas) as diffusers' from_config does. A 9-channel inpainting model runs as AUTOMATIC1111 runs it: \
        an all-ones mask over a grey image. The output defaults to txt2img.png (txt2img-N.png with --count).
        --model takes a diffusers folder, a single-file .safetensors or a hub id as for inpaint; its default comes \
        from SDEDIT_TXT2IMG_MODEL, else stabilityai/stable-diffusion-2-1.
        """)

    @Argument(help: "What the image should show (optional with --params-from).") var prompt: String?
    @Option(help: "Run the jobs of a JSON Lines file with one model load (instead of PROMPT): one object per line with prompt and optionally output (default txt2img-N.png, N the job's number, beside the file), negative_prompt, seed, steps, guidance, width, height.")
    var batch: String?
    @OptionGroup var model: ModelOption
    @OptionGroup var vae: TinyVAEOptions
    @OptionGroup var common: GenerationOptions
    @Option(help: "Width in pixels, a multiple of 8 (default: the model's native size).") var width: Int?
    @Option(help: "Height in pixels, a multiple of 8 (default: the model's native size).") var height: Int?
    @Option(help: "Denoising steps.") var steps: Int = 50
    @Option(help: "Classifier-free guidance scale (≤ 1 turns guidance off).") var guidance: Float = 7.5

    func validate() throws {
        if batch != nil {
            guard prompt == nil else { throw ValidationError("--batch takes its prompts from the file: no PROMPT") }
            guard common.output == nil else { throw ValidationError("--batch: give each job's output in the file, not -o") }
            guard common.paramsFrom == nil else { throw ValidationError("--batch: give each job's settings in the file, not --params-from") }
        }
        guard steps >= 1 && steps <= 1000 else { throw ValidationError("--steps must be 1…1000") }
        guard guidance.isFinite && guidance >= 0 && guidance <= 100 else { throw ValidationError("--guidance must be 0…100") }
        for (name, v) in [("--width", width), ("--height", height)] {
            if let v = v, !(8...8192).contains(v) || v % 8 != 0 { throw ValidationError("\(name) must be a multiple of 8 within 8…8192") }
        }
    }

    func run() throws {
        try runReportingErrors {
            let progress = ProgressReporter(quiet: common.quiet)
            let precision = try common.startBackend(progress)
            if let batch = batch { return try runBatch(batch, precision: precision, progress: progress) }
            var out = common
            if out.output == nil { out.output = "txt2img.png" }
            let r = try common.settings(prompt: prompt, steps: steps, guidance: guidance, strength: 1, fileStrength: false,
                                        progress: progress)
            let file = try common.paramsFile(.init(quiet: true))
            let spec = try model.spec(for: .txt2img, prompt: r.prompt, syntax: common.promptSyntax, precision: precision, vae: vae)
            let m = try ModelStore().model(spec, observer: progress)
            let native = try Txt2ImgPipeline(model: m.sd).defaultSize
            let w = width ?? file?.width ?? native, h = height ?? file?.height ?? native
            try checkSize(w, h, from: "\(common.paramsFrom ?? "") gives")
            try out.run(ImageJob(task: .txt2img(width: w, height: h), settings: r, count: common.count), on: m,
                        input: "", suffix: "txt2img", progress: progress)
        }
    }

    /// A size from a file (--params-from, a jobs line): a multiple of 8 within 8…8192, within --max-pixels.
    func checkSize(_ w: Int, _ h: Int, from source: String) throws {
        for (name, v) in [("width", w), ("height", h)] where !(8...8192).contains(v) || v % 8 != 0 {
            throw SDError.invalidInput("\(source) \(name) \(v): txt2img takes a multiple of 8 within 8…8192")
        }
        guard w * h <= common.maxPixels else {
            throw SDError.invalidInput("\(w)x\(h) exceeds --max-pixels \(common.maxPixels)")
        }
    }

    struct Job: BatchLine {
        let prompt: String
        let output: String?, negativePrompt: String?, seed: UInt64?, steps: Int?, guidance: Float?, width: Int?, height: Int?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case prompt, output, seed, steps, guidance, width, height
            case negativePrompt = "negative_prompt"
        }
        static let shape = "a JSON object with prompt"
        var label: String { "\"" + (prompt.count > 60 ? prompt.prefix(57) + "..." : prompt) + "\"" }
    }

    /// --batch: the model loads once before the first line (again only for a line whose <lora:…> tags
    /// ask for other LoRAs); each line makes one image, at the line's size, else --width/--height,
    /// else the model's native size.
    func runBatch(_ path: String, precision: Precision, progress: ProgressReporter) throws {
        let store = ModelStore()
        let spec = { (prompt: String) in
            try model.spec(for: .txt2img, prompt: prompt, syntax: common.promptSyntax, precision: precision, vae: vae)
        }
        let native = try Txt2ImgPipeline(model: store.model(spec(""), observer: progress).sd).defaultSize
        let base = common.baseSeed()
        let folder = path == "-" ? "" : (path as NSString).deletingLastPathComponent
        try runJobLines(path, progress: progress) { (i: Int, count: Int, job: Job) in
            var r = common.request(job.prompt, steps: steps, guidance: guidance, strength: 1, seed: job.seed ?? base &+ UInt64(i))
            try applyOverrides(&r, negativePrompt: job.negativePrompt, steps: job.steps, guidance: job.guidance, strength: nil)
            let w = job.width ?? width ?? native, h = job.height ?? height ?? native
            try checkSize(w, h, from: "the job's")
            let out = job.output ?? (folder as NSString).appendingPathComponent("txt2img-\(i + 1).png")
            guard out != "-" else { throw SDError.invalidInput("a batch job cannot write to stdout") }
            try refuseOverwritingInput(out, inputs: [path])
            let m = try store.model(spec(job.prompt), observer: progress)
            try writeBatchImage(ImageJob(task: .txt2img(width: w, height: h), settings: r, label: "job \(i + 1)/\(count)"),
                                on: m, to: out, common: common, progress: progress)
        }
    }
}
