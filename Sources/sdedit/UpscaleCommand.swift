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

    @Argument(help: "Input image (PNG or JPEG; '-' for stdin).") var image: String
    @Argument(help: "What the image shows (optional; guides the upscaler).") var prompt: String = ""

    @Option(help: "Model folder or hub id.") var model: String?
    @OptionGroup var common: GenerationOptions
    @Option(help: "Denoising steps.") var steps: Int = 75
    @Option(help: "Classifier-free guidance scale (≤ 1 turns guidance off).") var guidance: Float = 9.0
    @Option(help: "Noise added to the low-res input, 0…350 (also the UNet's class label).") var noiseLevel: Int = 20
    @Option(help: "Tile size in input pixels (0 = no tiling).") var tile: Int = 128
    @Option(help: "Overlap between tiles in input pixels.") var tileOverlap: Int = 32

    func validate() throws {
        guard steps >= 1 && steps <= 1000 else { throw ValidationError("--steps must be 1…1000") }
        guard guidance.isFinite && guidance >= 0 && guidance <= 100 else { throw ValidationError("--guidance must be 0…100") }
        guard (0...350).contains(noiseLevel) else { throw ValidationError("--noise-level must be 0…350") }
        guard tile == 0 || (tile >= 16 && tile <= 4096) else { throw ValidationError("--tile must be 0 or 16…4096") }
        guard tileOverlap >= 0 && (tile == 0 || tileOverlap < tile / 2) else { throw ValidationError("--tile-overlap must be below half the tile") }
    }

    func run() throws {
        try runReportingErrors {
            let progress = ProgressReporter(quiet: common.quiet)
            let precision = try common.startBackend(progress)
            try common.checkOutputs(input: image, suffix: "x4", inputs: [image])
            // 1. Input, padded to the VAE's multiple (cropped back to exactly 4× after decoding).
            let original = try common.readImage(image).rgb8()
            // 2. Model.
            let folder = try ModelLocator.resolve(model ?? ProcessInfo.processInfo.environment["SDEDIT_UPSCALE_MODEL"]
                                                  ?? "stabilityai/stable-diffusion-x4-upscaler")
            progress.message("sdedit: loading \(folder)")
            let t0 = Stopwatch.now()
            let pipe = try UpscalePipeline(model: StableDiffusionModel(folder: folder, precision: precision))
            progress.message(String(format: "sdedit: loaded in %.1fs", Stopwatch.now() - t0))
            let f = pipe.model.vae.config.scaleFactor
            let padded = Compositing.padToMultiple(original, f)
            let input = padded.toTensor()
            let schedulerKind = try common.scheduler ?? pipe.model.defaultSchedulerKind()
            let base = common.baseSeed()
            for i in 0..<common.count {
                var r = UpscaleRequest(prompt: prompt)
                r.negativePrompt = common.negativePrompt
                r.steps = steps
                r.guidance = guidance
                r.noiseLevel = noiseLevel
                r.seed = base &+ UInt64(i)
                r.scheduler = schedulerKind
                r.tile = tile == 0 ? nil : tile
                r.tileOverlap = tileOverlap
                progress.message("sdedit: seed \(r.seed)")
                progress.begin(common.count > 1 ? "upscale \(i + 1)/\(common.count)" : "upscale")
                let decoded = try pipe(image: input, r, progress: progress.update)
                let out = Compositing.crop(Image(tensor: decoded), width: original.width * 4, height: original.height * 4)
                let params = a1111Parameters(prompt: prompt, negative: common.negativePrompt, fields: [
                    ("Steps", "\(steps)"), ("Sampler", samplerName(schedulerKind)), ("CFG scale", "\(guidance)"),
                    ("Seed", "\(r.seed)"), ("Size", "\(out.width)x\(out.height)"), ("Model", ModelLocator.displayName(folder)),
                    ("Noise level", "\(noiseLevel)"), ("Tile", tile == 0 ? "off" : "\(tile)"),
                    ("Precision", precision.rawValue), ("Version", "sdedit \(SDEdit.configuration.version)"),
                ])
                try common.write(out, input: image, suffix: "x4", index: i, parameters: params, progress: progress)
            }
        }
    }
}
