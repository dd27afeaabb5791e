// `sdedit img2img IMAGE PROMPT`: re-imagine an image with a base model (SD 2.x base / 2.1).
import ArgumentParser
import Foundation
import SDCore
import SDModels
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

    @Argument(help: "Input image (PNG or JPEG; '-' for stdin).") var image: String
    @Argument(help: "What the result should show.") var prompt: String
    @OptionGroup var model: ModelOption
    @OptionGroup var common: GenerationOptions
    @Option(help: "Denoising steps (before --strength takes its share).") var steps: Int = 50
    @Option(help: "Classifier-free guidance scale (≤ 1 turns guidance off).") var guidance: Float = 7.5
    @Option(help: "How much of the image to re-noise (0…1).") var strength: Double = 0.8

    func validate() throws {
        guard steps >= 1 && steps <= 1000 else { throw ValidationError("--steps must be 1…1000") }
        guard (0...1).contains(strength) else { throw ValidationError("--strength must be within 0…1") }
        guard guidance.isFinite && guidance >= 0 && guidance <= 100 else { throw ValidationError("--guidance must be 0…100") }
    }

    func run() throws {
        try runReportingErrors {
            let progress = ProgressReporter(quiet: common.quiet)
            let precision = try common.startBackend(progress)
            try common.checkOutputs(input: image, suffix: "img2img", inputs: [image])
            let original = try common.readImage(image).rgb8()
            let source = try model.source(for: .img2img)
            progress.message("sdedit: loading \(source.path)")
            let t0 = Stopwatch.now()
            let sd = try StableDiffusionModel(source: source, precision: precision)
            let pipe = try Img2ImgPipeline(model: sd)
            progress.message(String(format: "sdedit: loaded in %.1fs", Stopwatch.now() - t0))
            let scheduler = try common.scheduler ?? sd.defaultSchedulerKind()
            let base = common.baseSeed()
            for i in 0..<common.count {
                let r = common.request(prompt, steps: steps, guidance: guidance, strength: strength, seed: base &+ UInt64(i),
                                       scheduler: scheduler)
                try notePrompt(sd, r.prompt, negative: r.negativePrompt, syntax: r.promptSyntax, progress: progress)
                progress.message("sdedit: seed \(r.seed)")
                progress.begin(common.count > 1 ? "img2img \(i + 1)/\(common.count)" : "img2img")
                let out = try pipe(image: original, r, progress: progress.update)
                let params = a1111Parameters(prompt: prompt, negative: common.negativePrompt, fields: [
                    ("Steps", "\(steps)"), ("Sampler", samplerName(scheduler)), ("CFG scale", "\(guidance)"),
                    ("Seed", "\(r.seed)"), ("Size", "\(out.width)x\(out.height)"), ("Model", source.displayName),
                    ("Denoising strength", "\(strength)"), ("Precision", precision.rawValue),
                    ("Version", "sdedit \(SDEdit.configuration.version)"),
                ])
                try common.write(out, input: image, suffix: "img2img", index: i, parameters: params, progress: progress)
            }
        }
    }
}
