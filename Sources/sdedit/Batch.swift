// `--batch jobs.jsonl` (inpaint, depth2img, upscale): many edits, one model load. One JSON object
// per line, e.g. for inpaint
//   {"image": "a.png", "mask": "a-mask.png", "prompt": "…", "output": "a-out.png",
//    "negative_prompt": "…", "seed": 1, "steps": 30, "guidance": 7.5, "strength": 1.0}
// Each command's required fields are its positional arguments; the rest fall back to the command line
// (output: <image>-<job>.png). Each output is written atomically as its job finishes; a bad line is
// reported with its number and the others still run; the exit status is that of the first failed job
// (0 when all succeeded).
import ArgumentParser
import Foundation
import SDCore
import SDPipelines

struct BatchJob: BatchLine {
    let image: String, mask: String, prompt: String
    let output: String?, negativePrompt: String?, seed: UInt64?, steps: Int?, guidance: Float?, strength: Double?
    enum CodingKeys: String, CodingKey {
        case image, mask, prompt, output, seed, steps, guidance, strength
        case negativePrompt = "negative_prompt"
    }
    static let shape = "a JSON object with image, mask and prompt"
}

extension Inpaint {
    func runBatch(_ path: String, common: GenerationOptions, precision: Precision, progress: ProgressReporter) throws {
        let m = try inpaint.load(common: common, precision: precision, progress: progress)
        let base = common.baseSeed()
        try runJobLines(path, progress: progress) { (i: Int, count: Int, job: BatchJob) in
            var r = inpaint.request(prompt: job.prompt, common: common, seed: job.seed ?? base &+ UInt64(i), scheduler: m.scheduler)
            if let v = job.negativePrompt { r.negativePrompt = v }
            if let v = try checkedSteps(job.steps) { r.steps = v }
            if let v = try checkedGuidance(job.guidance) { r.guidance = v }
            if let v = try checkedStrength(job.strength) { r.strength = v }
            let out = try batchOutput(job.output, image: job.image, suffix: "inpaint", inputs: [job.image, job.mask, path])
            let original = try common.readImage(job.image).rgb8()
            let maskImage = try common.readImage(job.mask)
            guard maskImage.width == original.width && maskImage.height == original.height else {
                throw SDError.invalidInput("\(job.mask): mask is \(maskImage.width)x\(maskImage.height) but the image is \(original.width)x\(original.height)")
            }
            let binary = try MaskPreparation.binaryMask(maskImage, channel: maskChannel, invert: invertMask)
            let (image, params) = try inpaint.paint(m, image: original, mask: binary, r, precision: precision,
                                                    label: "job \(i + 1)/\(count)", progress: progress)
            try ImageIO.write(image, to: out, text: [("parameters", params)], jpegQuality: common.jpegQuality)
            progress.message("sdedit: wrote \(out)")
        }
    }
}

/// One line of a jobs file: which image it works on (for progress) and what a line must look like.
protocol BatchLine: Decodable {
    var image: String { get }
    static var shape: String { get }
}

/// The driver every --batch shares: read the file (bounded), decode each non-empty line, run
/// `body(index, count, job)`, report failures as `path:LINE: …`, and throw the first failure's code.
func runJobLines<Job: BatchLine>(_ path: String, progress: ProgressReporter,
                                 _ body: (Int, Int, Job) throws -> Void) throws {
    let bytes = try FileInput.read(path, limit: 64 << 20)
    let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
    let jobs = lines.enumerated().filter { !$0.element.trimmingCharacters(in: .whitespaces).isEmpty }
    guard !jobs.isEmpty else { throw SDError.badFile(path: path, message: "no jobs") }
    var firstFailure: ExitCode? = nil
    var failed = 0
    for (i, (n, line)) in jobs.enumerated() {
        do {
            guard let job = try? JSONDecoder().decode(Job.self, from: Data(line.utf8)) else {
                throw SDError.badFile(path: "\(path):\(n + 1)", message: "not a job object (\(Job.shape))")
            }
            progress.message("sdedit: job \(i + 1)/\(jobs.count) (line \(n + 1)): \(job.image)")
            do { try body(i, jobs.count, job) } catch { throw BatchLineError(path: path, line: n + 1, error: error) }
        } catch {
            failed += 1
            let code = fail(error)
            if firstFailure == nil { firstFailure = code }
        }
    }
    if failed > 0 {
        progress.message("sdedit: \(failed) of \(jobs.count) jobs failed")
        throw firstFailure!
    }
}

/// Per-job overrides, range-checked as the command-line options are.
func checkedSteps(_ v: Int?) throws -> Int? {
    if let v = v, !(1...1000).contains(v) { throw SDError.invalidInput("steps must be 1…1000") }
    return v
}
func checkedGuidance(_ v: Float?) throws -> Float? {
    if let v = v, !(v.isFinite && (0...100).contains(v)) { throw SDError.invalidInput("guidance must be 0…100") }
    return v
}
func checkedStrength(_ v: Double?) throws -> Double? {
    if let v = v, !(0...1).contains(v) { throw SDError.invalidInput("strength must be 0…1") }
    return v
}

/// A job's output path (default <image>-<suffix>.png), never stdout and never one of its inputs.
func batchOutput(_ given: String?, image: String, suffix: String, inputs: [String]) throws -> String {
    let out = given ?? ((image as NSString).deletingPathExtension + "-\(suffix).png")
    guard out != "-" else { throw SDError.invalidInput("a batch job cannot write to stdout") }
    try refuseOverwritingInput(out, inputs: inputs)
    return out
}

/// A job's error with its line: "jobs.jsonl:3: photo.png: cannot read file". Keeps the job error's exit code.
struct BatchLineError: Error, CustomStringConvertible {
    let path: String, line: Int, error: Error
    var description: String { "\(path):\(line): \(error)" }
}
