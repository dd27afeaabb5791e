// `sdedit outpaint IMAGE PROMPT --extend L,T,R,B`: grow the canvas and paint the new area.
import ArgumentParser
import Foundation
import SDCore
import SDJobs
import SDPipelines

struct Outpaint: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Extend an image beyond its borders (with the inpainting model).",
        discussion: """
        The image is placed in a canvas grown by --extend (left,top,right,bottom pixels, or one number for \
        all sides); the new area starts as the nearest edge pixels repeated, and it is inpainted together \
        with --overlap pixels of the image along each extended side, then blended in with --mask-blur. \
        Everything else works as in `sdedit inpaint` (a large canvas is processed around the new area at \
        --work-size, --area auto).
        """)

    @Argument(help: ArgumentHelp("Input image (PNG or JPEG; '-' for stdin).", valueName: "image")) var imageArg: String?
    @Argument(help: ArgumentHelp("What to paint into the new area.", valueName: "prompt")) var promptArg: String?
    @Option(parsing: .unconditional, help: "Pixels to add: L,T,R,B, or one number for every side (with --batch: for jobs without \"extend\").")
    var extend: String?
    @Option(help: "Run the jobs of a JSON Lines file with one model load (instead of IMAGE PROMPT): one object per line with image, prompt and optionally extend, output, negative_prompt, seed, steps, guidance, strength.")
    var batch: String?
    var image: String { imageArg ?? "" }
    var prompt: String { promptArg ?? "" }
    @Option(parsing: .unconditional, help: "Pixels of the original along each extended side repainted with the new area.") var overlap: Int = 16

    @OptionGroup var inpaint: InpaintOptions
    @OptionGroup var common: GenerationOptions

    func parsedExtension() throws -> Extension { try Outpaint.parseExtension(extend ?? "") }

    static func parseExtension(_ extend: String) throws -> Extension {
        let parts = extend.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 1 || parts.count == 4, parts.allSatisfy({ $0 != nil && (0...8192).contains($0!) }) else {
            throw ValidationError("--extend takes L,T,R,B or one number, each 0…8192 pixels")
        }
        let v = parts.map { $0! }
        let e = v.count == 1 ? Extension(left: v[0], top: v[0], right: v[0], bottom: v[0])
                             : Extension(left: v[0], top: v[1], right: v[2], bottom: v[3])
        guard e.left + e.top + e.right + e.bottom > 0 else { throw ValidationError("--extend adds no pixels") }
        return e
    }

    func validate() throws {
        if batch != nil {
            guard imageArg == nil else { throw ValidationError("--batch takes its images from the file: no IMAGE PROMPT") }
            guard common.output == nil else { throw ValidationError("--batch: give each job's output in the file, not -o") }
            if extend != nil { _ = try parsedExtension() }
        } else {
            guard imageArg != nil, promptArg != nil || common.paramsFrom != nil else { throw ValidationError("missing IMAGE PROMPT (or --batch FILE)") }
            guard extend != nil else { throw ValidationError("missing --extend L,T,R,B") }
            _ = try parsedExtension()
        }
        guard (0...1024).contains(overlap) else { throw ValidationError("--overlap must be 0…1024") }
    }

    func run() throws {
        try runReportingErrors {
            let progress = ProgressReporter(quiet: common.quiet)
            let precision = try common.startBackend(progress)
            let store = ModelStore()
            if let batch = batch { return try runBatch(batch, store: store, precision: precision, progress: progress) }
            try common.checkOutputs(input: image, suffix: "outpaint", inputs: [image])
            let e = try parsedExtension()
            let (canvas, mask) = try self.canvas(image, e, progress: progress)
            try inpaint.generate(image: canvas, mask: mask, prompt: promptArg, input: image, suffix: "outpaint", common: common,
                                 store: store, precision: precision, progress: progress, fields: fields(e))
        }
    }

    /// The grown canvas of the image at `path` and its mask (the new area plus --overlap).
    func canvas(_ path: String, _ e: Extension, progress: ProgressReporter) throws -> (Image, Mask) {
        let original = try common.readInput(path, progress: progress).rgb8()
        guard (original.width + e.left + e.right) * (original.height + e.top + e.bottom) <= common.maxPixels else {
            throw SDError.invalidInput("\(path): the extended canvas would exceed --max-pixels \(common.maxPixels)")
        }
        return Outpainting.canvas(original, extend: e, overlap: min(overlap, original.width / 2, original.height / 2))
    }

    func fields(_ e: Extension) -> [(String, String)] {
        [("Outpaint extend", "\(e.left) \(e.top) \(e.right) \(e.bottom)"), ("Outpaint overlap", "\(overlap)")]
    }

    struct Job: ImageBatchLine {
        let image: String, prompt: String
        let extend: String?, output: String?, negativePrompt: String?, seed: UInt64?, steps: Int?, guidance: Float?
        let strength: Double?
        enum CodingKeys: String, CodingKey, CaseIterable {
            case image, prompt, extend, output, seed, steps, guidance, strength
            case negativePrompt = "negative_prompt"
        }
        static let shape = "a JSON object with image and prompt (and extend unless --extend is given)"
    }

    func runBatch(_ path: String, store: ModelStore, precision: Precision, progress: ProgressReporter) throws {
        _ = try store.model(inpaint.spec("", common: common, precision: precision), observer: progress)
        let base = common.baseSeed()
        try runJobLines(path, progress: progress) { (i: Int, count: Int, job: Job) in
            guard let spec = job.extend ?? extend else { throw SDError.invalidInput("no \"extend\" in the job and no --extend") }
            let e: Extension
            do { e = try Outpaint.parseExtension(spec) } catch let v as ValidationError { throw SDError.invalidInput(v.message) }
            var r = inpaint.request(prompt: job.prompt, common: common, seed: job.seed ?? base &+ UInt64(i))
            try applyOverrides(&r, negativePrompt: job.negativePrompt, steps: job.steps, guidance: job.guidance, strength: job.strength)
            let out = try batchOutput(job.output, image: job.image, suffix: "outpaint", inputs: [job.image, path])
            let (canvas, mask) = try self.canvas(job.image, e, progress: progress)
            let m = try store.model(inpaint.spec(job.prompt, common: common, precision: precision), observer: progress)
            try writeBatchImage(inpaint.job(image: canvas, mask: mask, settings: r, label: "job \(i + 1)/\(count)", fields: fields(e)),
                                on: m, to: out, common: common, progress: progress)
        }
    }
}
