// `sdedit outpaint IMAGE PROMPT --extend L,T,R,B`: grow the canvas and paint the new area.
import ArgumentParser
import Foundation
import SDCore
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

    @Argument(help: "Input image (PNG or JPEG; '-' for stdin).") var image: String
    @Argument(help: "What to paint into the new area.") var prompt: String
    @Option(parsing: .unconditional, help: "Pixels to add: L,T,R,B, or one number for every side.") var extend: String
    @Option(parsing: .unconditional, help: "Pixels of the original along each extended side repainted with the new area.") var overlap: Int = 16

    @OptionGroup var inpaint: InpaintOptions
    @OptionGroup var common: GenerationOptions

    func parsedExtension() throws -> Extension {
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
        _ = try parsedExtension()
        guard (0...1024).contains(overlap) else { throw ValidationError("--overlap must be 0…1024") }
    }

    func run() throws {
        try runReportingErrors {
            let progress = ProgressReporter(quiet: common.quiet)
            let precision = try common.startBackend(progress)
            try common.checkOutputs(input: image, suffix: "outpaint", inputs: [image])
            let e = try parsedExtension()
            let original = try common.readImage(image).rgb8()
            guard (original.width + e.left + e.right) * (original.height + e.top + e.bottom) <= common.maxPixels else {
                throw SDError.invalidInput("\(image): the extended canvas would exceed --max-pixels \(common.maxPixels)")
            }
            let (canvas, mask) = Outpainting.canvas(original, extend: e, overlap: min(overlap, original.width / 2, original.height / 2))
            try inpaint.generate(image: canvas, mask: mask, prompt: prompt, input: image, suffix: "outpaint", common: common,
                                 precision: precision, progress: progress,
                                 fields: [("Outpaint extend", "\(e.left) \(e.top) \(e.right) \(e.bottom)"), ("Outpaint overlap", "\(overlap)")])
        }
    }
}
