// Options shared by the generation commands (inpaint, and upscale/depth2img as they land).
import ArgumentParser
import Foundation
import SDCore
import SDModels
import SDJobs
import SDPipelines

extension SchedulerKind: ExpressibleByArgument {
    /// sdedit's names or A1111's ("Euler a", "DPM++ 2M Karras", "DDIM", "PLMS"), as painting clients send them.
    public init?(argument: String) {
        guard let k = SchedulerKind.parse(argument) else { return nil }
        self = k
    }
}
extension MaskChannel: ExpressibleByArgument {}
extension InpaintArea: ExpressibleByArgument {}
extension PromptSyntax: ExpressibleByArgument {}
extension MaskedContent: ExpressibleByArgument {}

/// The job a model is for: where --model's default comes from (environment, then the hub id).
enum ModelJob: String {
    case inpaint, depth, img2img, upscale, txt2img
    var environmentKey: String { "SDEDIT_\(rawValue.uppercased())_MODEL" }
    var hubID: String {
        switch self {
        case .inpaint: return "stabilityai/stable-diffusion-2-inpainting"
        case .depth: return "stabilityai/stable-diffusion-2-depth"
        case .img2img: return "stabilityai/stable-diffusion-2-1"
        case .upscale: return "stabilityai/stable-diffusion-x4-upscaler"
        case .txt2img: return "stabilityai/stable-diffusion-2-1"
        }
    }
}

/// --model, shared by every job: a diffusers folder, a single-file .safetensors checkpoint or a hub
/// id resolved offline; --config and --prediction-type for single files.
struct ModelOption: ParsableArguments {
    @Option(help: "Model: a diffusers folder, a single-file .safetensors checkpoint (A1111/ComfyUI), or a hub id (default: $SDEDIT_<JOB>_MODEL, else the job's Stability AI checkpoint).")
    var model: String?

    @Option(name: .customLong("config"), help: ArgumentHelp("For a single-file --model: a diffusers folder or hub id whose configs, tokenizer and schedulers (and depth estimator, for a depth file without its own MiDaS) are used with the file's weights (default: built-in configs of the detected checkpoint).", valueName: "dir|hub-id"))
    var configFolder: String?

    @Option(help: ArgumentHelp("Override the scheduler's prediction type: epsilon or v_prediction (for example epsilon for a 512 SD 2 base single file; the 768 v-prediction 2.1 is assumed).", valueName: "type"))
    var predictionType: String?

    @Option(name: .customLong("lora"), help: ArgumentHelp("A LoRA, LoCon, LoHa or LoKr .safetensors file merged into the UNet and text encoder at load, with its weight (default 1); repeatable.", valueName: "path[:weight]"))
    var loras: [String] = []

    @Option(help: ArgumentHelp("Folder of LoRA files that <lora:NAME:W> names (default: $SDEDIT_LORA_DIR).", valueName: "dir"))
    var loraDir: String?

    @Option(help: ArgumentHelp("Folder of textual-inversion embeddings: each NAME.safetensors (A1111 or diffusers layout) defines the prompt word NAME.", valueName: "dir"))
    var embeddings: String?

    /// The model with its LoRAs: --lora files, and in A1111 syntax the <lora:NAME:W> tags of `prompt`
    /// (NAME.safetensors in --lora-dir; the text-encoder weight of a two-weight tag is used for both).
    func source(for job: ModelJob, prompt: String = "", syntax: PromptSyntax = .diffusers) throws -> ModelSource {
        let s = try spec(for: job, prompt: prompt, syntax: syntax, precision: .fp32)
        let source = try ModelSource.open(s.path, config: s.config, predictionType: s.predictionType)
        if !s.loras.isEmpty { try source.addLoRAs(s.loras) }
        if let dir = s.embeddings { try source.addEmbeddings(TextualInversion.folder(dir)) }
        return source
    }

    /// What a job loads: the model resolved (--model, else $SDEDIT_<JOB>_MODEL, else the hub id), its
    /// configs, LoRAs (files, then the prompt's tags in A1111 syntax), embeddings and TAESD halves.
    func spec(for job: ModelJob, prompt: String, syntax: PromptSyntax, precision: Precision,
              vae: TinyVAEOptions? = nil) throws -> ModelSpec {
        let path = try ModelLocator.resolve(model ?? ProcessInfo.processInfo.environment[job.environmentKey] ?? job.hubID)
        var s = ModelSpec(path: path, config: try configFolder.map { try ModelLocator.resolve($0) },
                          predictionType: predictionType, precision: precision)
        s.loras = try loras.map(LoRASpec.init(argument:))
        if syntax == .a1111 {
            s.loras += try ExtraNetworks.parse(prompt).loras.map { try resolveLoRATag(name: $0.name, weight: Float($0.weight)) }
        }
        s.embeddings = embeddings
        s.tinyEncoder = vae?.vaeEncoder.map(TinyVAEOptions.path)
        s.tinyDecoder = vae?.vaeDecoder.map(TinyVAEOptions.path)
        return s
    }
}

/// --precision: auto (bf16 where the CPU has native bf16, else fp32), fp32 or bf16.
enum PrecisionChoice: String, CaseIterable, ExpressibleByArgument {
    case auto, fp32, bf16
    var resolved: Precision { Precision.resolve(rawValue) ?? .fp32 }
}

struct GenerationOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "Output image (.png or .jpg); '-' writes PNG to stdout. Default: derived from the input name. With --count N, NAME-1.png, NAME-2.png, ...: existing files of those names are overwritten without asking.")
    var output: String?

    @Option(help: "Negative prompt (what to steer away from).")
    var negativePrompt: String?

    @Option(help: "Seed (torch.Generator(\"cpu\").manual_seed semantics); random when absent, always printed.")
    var seed: UInt64?

    @Option(help: "Scheduler: \(SchedulerKind.allCases.map(\.rawValue).joined(separator: ", ")), or A1111's sampler names (\"Euler a\", \"DPM++ 2M Karras\", DDIM, PLMS, LCM). Default: the checkpoint's own.")
    var scheduler: SchedulerKind?

    @Option(help: ArgumentHelp("Take the prompt (when none is given), negative prompt, seed, steps, CFG scale and sampler — and txt2img's size, the edits' denoising strength — from an image's A1111 parameters text (PNG chunk or JPEG EXIF). Options given on the command line win.", valueName: "image"))
    var paramsFrom: String?

    @Option(parsing: .unconditional, help: "Number of images; image i uses seed + i.")
    var count: Int = 1

    @Option(parsing: .unconditional, help: "Threads for all numeric work (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Numeric precision: auto (bf16 where it is faster than fp32: AMX, or AVX512-BF16 on AMD Zen 4+; else fp32), fp32 (diffusers parity) or bf16 (half the weight memory).")
    var precision: PrecisionChoice = .auto

    @Option(help: ArgumentHelp("DeepCache: run the whole UNet every N-th step and, between, only its last layer on the deep features cached at the last whole step (the DeepCache package's cache_interval N, branch 0). Faster, not the same image; 1 = off.", valueName: "N"))
    var deepCache: Int = 1

    @Option(parsing: .unconditional, help: "Refuse input images with more pixels than this, from the header, before decoding (default: Pillow's bomb threshold).")
    var maxPixels: Int = Image.defaultMaxPixels

    @Option(parsing: .unconditional, help: "JPEG quality for .jpg outputs.")
    var jpegQuality: Int = 95

    @Flag(name: .shortAndLong, help: "No progress or messages on stderr (errors still print).")
    var quiet = false

    @Option(help: ArgumentHelp("How prompts are read: a1111 (AUTOMATIC1111's (word:1.3), (word), [word], \\( escapes, BREAK, <lora:NAME:W> tags, prompts past 75 tokens encoded in chunks) or diffusers (literal text, cut at 77 tokens).", valueName: "a1111|diffusers"))
    var promptSyntax: PromptSyntax = .a1111

    func validate() throws {
        guard count >= 1 && count <= 1000 else { throw ValidationError("--count must be 1…1000") }
        guard threads >= 1 && threads <= 1024 else { throw ValidationError("--threads must be at least 1") }
        guard (1...1000).contains(deepCache) else { throw ValidationError("--deep-cache must be 1…1000 (1 = off)") }
        guard (1...100).contains(jpegQuality) else { throw ValidationError("--jpeg-quality must be 1…100") }
        guard (1...(1 << 30)).contains(maxPixels) else { throw ValidationError("--max-pixels must be 1…\(1 << 30)") }
        if output == "-" && count > 1 { throw ValidationError("--count > 1 cannot write to stdout ('-o -')") }
    }

    /// Output path for image `index` of `count`: "-o" as given (numbered when count > 1), else
    /// <input stem>-<suffix>[-n].png beside the input, or stdout when the input came from stdin.
    func outputPath(input: String, suffix: String, index: Int) -> String {
        func numbered(_ p: String) -> String {
            guard count > 1 else { return p }
            let ext = (p as NSString).pathExtension
            let stem = ext.isEmpty ? p : String(p.dropLast(ext.count + 1))
            return "\(stem)-\(index + 1)" + (ext.isEmpty ? "" : ".\(ext)")
        }
        if let o = output { return o == "-" ? "-" : numbered(o) }
        if input == "-" { return "-" }
        let stem = (input as NSString).deletingPathExtension
        return numbered("\(stem)-\(suffix).png")
    }

    /// Thread budget and BLAS; any fallback-kernel or thread-cap warning goes to stderr.
    /// Returns the precision the run uses.
    @discardableResult
    func startBackend(_ progress: ProgressReporter) throws -> Precision {
        for w in try Backend.start(threads: threads) { progress.message("sdedit: warning: \(w)") }
        let p = precision.resolved
        if p == .bf16 && !BF16GEMM.isNative {
            progress.message("sdedit: note: this CPU has no native bf16 in use; --precision bf16 halves weight memory but runs slower than fp32")
        }
        return p
    }

    /// Refuse, before any work, an output that is the same file as an input (device and inode, not
    /// names: `-o ./photo.png`, a hard link or a symlink to the input all count).
    func checkOutputs(input: String, suffix: String, inputs: [String]) throws {
        for i in 0..<count { try refuseOverwrite(outputPath(input: input, suffix: suffix, index: i), inputs: inputs) }
    }

    /// `out` must not be the same file as any of `inputs`.
    func refuseOverwrite(_ out: String, inputs: [String]) throws { try refuseOverwritingInput(out, inputs: inputs) }

    /// An input image, refused from its header when it has more than --max-pixels pixels.
    func readImage(_ path: String) throws -> Image { try ImageIO.read(path, maxPixels: maxPixels) }

    /// The image a job edits, with a note on stderr when it has 16 bits per sample: the pipelines
    /// work in 8 bits (diffusers' VaeImageProcessor converts to 8-bit RGB, A1111 too), so the output
    /// is 8-bit.
    func readInput(_ path: String, progress: ProgressReporter) throws -> Image {
        let image = try readImage(path)
        if image.bitDepth == 16 {
            progress.message("sdedit: note: \(path == "-" ? "<stdin>" : path) has 16 bits per sample; sdedit works in 8 bits, "
                             + "so the output is 8-bit")
        }
        return image
    }

    /// A run of `prompt` with this command's sampling numbers and --negative-prompt.
    func request(_ prompt: String, steps: Int, guidance: Float, strength: Double, seed: UInt64) -> GenerationRequest {
        var r = GenerationRequest(prompt: prompt, strength: strength)
        r.negativePrompt = negativePrompt
        r.steps = steps
        r.guidance = guidance
        r.seed = seed
        r.scheduler = self.scheduler
        r.deepCache = deepCache
        r.promptSyntax = promptSyntax
        return r
    }

    /// --params-from's values, read and checked (nil without the option).
    func paramsFile(_ progress: ProgressReporter) throws -> InfotextSettings? {
        guard let path = paramsFrom else { return nil }
        guard let text = try ImageIO.readParameters(path: path) else {
            throw SDError.invalidInput("\(path): no A1111 parameters text (PNG \"parameters\" chunk or EXIF UserComment)")
        }
        let s = try Infotext.parse(text).settings(source: path)
        var said: [String] = []
        if let v = s.seed { said.append("seed \(v)") }
        if let v = s.steps { said.append("\(v) steps") }
        if let v = s.cfgScale { said.append("CFG \(v)") }
        if let v = s.scheduler { said.append(v.a1111Name) }
        if let w = s.width, let h = s.height { said.append("\(w)x\(h)") }
        progress.message("sdedit: from \(path): " + (said.isEmpty ? "prompt only" : said.joined(separator: ", ")))
        return s
    }

    /// Whether an option was given on the command line (so it wins over --params-from).
    static func given(_ flag: String) -> Bool {
        CommandLine.arguments.dropFirst().contains { $0 == flag || $0.hasPrefix(flag + "=") }
    }

    /// A command-line job's settings: `prompt` (nil = the file's) and the command's numbers, with
    /// --params-from's values where the option was not given; `strength` is taken from the file only
    /// for the edits (in a txt2img infotext it belongs to A1111's hires fix).
    func settings(prompt: String?, steps: Int, guidance: Float, strength: Double, fileStrength: Bool,
                  progress: ProgressReporter) throws -> GenerationRequest {
        let f = try paramsFile(progress)
        guard let text = prompt ?? f?.prompt else { throw ValidationError("missing PROMPT (or --params-from IMAGE)") }
        var r = request(text, steps: steps, guidance: guidance, strength: strength, seed: baseSeed())
        guard let f = f else { return r }
        if !Self.given("--negative-prompt"), let v = f.negativePrompt { r.negativePrompt = v }
        if !Self.given("--seed"), let v = f.seed { r.seed = v }
        if !Self.given("--steps"), let v = try checkedSteps(f.steps) { r.steps = v }
        if !Self.given("--guidance"), let v = try checkedGuidance(f.cfgScale.map { Float($0) }) { r.guidance = v }
        if !Self.given("--scheduler"), let v = f.scheduler { r.scheduler = v }
        if fileStrength, !Self.given("--strength"), let v = try checkedStrength(f.denoisingStrength) { r.strength = v }
        return r
    }

    /// The effective seed: --seed or a random 32-bit one.
    func baseSeed() -> UInt64 { seed ?? UInt64(UInt32.random(in: 0...UInt32.max)) }
}

/// Refuse, before any work, an output that cannot be written or is the same file (device and
/// inode) as one of `inputs`.
func refuseOverwritingInput(_ out: String, inputs: [String]) throws {
    try checkOutputPath(out)
    func identity(_ p: String) -> (UInt64, UInt64)? {
        var st = stat()
        guard p != "-", stat(p, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }
    guard let o = identity(out) else { return }
    if let p = inputs.first(where: { identity($0).map { $0 == o } ?? false }) {
        throw SDError.invalidInput("\(out): is the input \(p); refusing to overwrite an input")
    }
}

/// An output sdedit can create: "-", an existing device or pipe (written in place, as PNG), or a
/// file named .png/.jpg/.jpeg (the format written) in a folder that exists and is writable.
func checkOutputPath(_ out: String) throws {
    guard out != "-" else { return }
    var st = stat()
    if stat(out, &st) == 0 {
        if (st.st_mode & S_IFMT) == S_IFDIR { throw SDError.ioWrite(path: out, message: "is a directory") }
        if (st.st_mode & S_IFMT) != S_IFREG { return }
    }
    let ext = (out as NSString).pathExtension.lowercased()
    guard ["png", "jpg", "jpeg"].contains(ext) else {
        throw SDError.invalidInput("\(out): name the output .png, .jpg or .jpeg (the format written); "
                                   + (ext.isEmpty ? "it has no extension" : ".\(ext) is not written"))
    }
    let parent = (out as NSString).deletingLastPathComponent
    let folder = parent.isEmpty ? "." : parent
    guard stat(folder, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
        throw SDError.ioWrite(path: out, message: "no such folder \(folder)")
    }
    guard access(folder, W_OK) == 0 else {
        throw SDError.ioWrite(path: out, message: "cannot write in \(folder): \(String(cString: strerror(errno)))")
    }
}

extension GenerationOptions {
    /// Write image `index` with its A1111 parameters text; reports the path unless it is stdout.
    func write(_ image: Image, input: String, suffix: String, index: Int, parameters: String, progress: ProgressReporter) throws {
        let path = outputPath(input: input, suffix: suffix, index: index)
        try ImageIO.write(image, to: path, text: [("parameters", parameters)], jpegQuality: jpegQuality)
        if path != "-" { progress.message("sdedit: wrote \(path)") }
    }

    /// Run `job` on `model`, writing each image as it is made (numbered outputs for --count).
    /// With SDEDIT_PROFILE set, the job ends with where its time went, by op family (stderr).
    func run(_ job: ImageJob, on model: LoadedModel, input: String, suffix: String, progress: ProgressReporter) throws {
        defer { printProfile() }
        try model.run(job, observer: progress, lastJob: true) { out in
            try write(out.image, input: input, suffix: suffix, index: out.index, parameters: out.parameters, progress: progress)
        }
    }
}

/// Run a command body, turning errors into the documented exit codes with a one-line message.
func runReportingErrors(_ body: () throws -> Void) throws {
    do { try body() } catch let e as ExitCode { throw e } catch let e as ValidationError { throw e } catch {
        throw fail(error)
    }
}
