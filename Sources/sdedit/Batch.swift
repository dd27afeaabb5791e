// `--batch jobs.jsonl` (every command that takes a prompt): many jobs, one model load. One JSON object
// per line, e.g. for inpaint
//   {"image": "a.png", "mask": "a-mask.png", "prompt": "…", "output": "a-out.png",
//    "negative_prompt": "…", "seed": 1, "steps": 30, "guidance": 7.5, "strength": 1.0}
// Each command's required fields are its positional arguments; the rest fall back to the command line
// (output: <image>-<job>.png; txt2img-<job number>.png for txt2img). Relative paths resolve against
// the jobs file's folder. Each output is written atomically as its job finishes; a bad line is
// reported with its number and the others still run; the exit status is that of the first failed job
// (0 when all succeeded).
import ArgumentParser
import Foundation
import SDCore
import SDJobs
import SDPipelines

struct BatchJob: ImageBatchLine {
    let image: String, mask: String, prompt: String
    let output: String?, negativePrompt: String?, seed: UInt64?, steps: Int?, guidance: Float?, strength: Double?
    enum CodingKeys: String, CodingKey, CaseIterable {
        case image, mask, prompt, output, seed, steps, guidance, strength
        case negativePrompt = "negative_prompt"
    }
    static let shape = "a JSON object with image, mask and prompt"
}

extension Inpaint {
    func runBatch(_ path: String, store: ModelStore, precision: Precision, progress: ProgressReporter) throws {
        _ = try store.model(inpaint.spec("", common: common, precision: precision), observer: progress)
        let base = common.baseSeed()
        try runJobLines(path, progress: progress) { (i: Int, count: Int, job: BatchJob) in
            var r = inpaint.request(prompt: job.prompt, common: common, seed: job.seed ?? base &+ UInt64(i))
            try applyOverrides(&r, negativePrompt: job.negativePrompt, steps: job.steps, guidance: job.guidance, strength: job.strength)
            let out = try batchOutput(job.output, image: job.image, suffix: "inpaint", inputs: [job.image, job.mask, path])
            let original = try common.readInput(job.image, progress: progress).rgb8()
            let binary = try maskReading.mask(at: job.mask, for: original, common: common, progress: progress)
            let m = try store.model(inpaint.spec(job.prompt, common: common, precision: precision), observer: progress)
            try writeBatchImage(inpaint.job(image: original, mask: binary, settings: r, label: "job \(i + 1)/\(count)"),
                                on: m, to: out, common: common, progress: progress)
        }
    }
}

/// One line of a jobs file: what its progress line names and what a line must look like.
/// `CodingKeys` lists every key a line may have: any other is refused by name.
protocol BatchLine: Decodable {
    associatedtype CodingKeys: CodingKey & CaseIterable
    /// What "job i/n (line k): …" names: the input image, or txt2img's prompt.
    var label: String { get }
    static var shape: String { get }
}

/// A job line that edits an image: its progress names the image.
protocol ImageBatchLine: BatchLine {
    var image: String { get }
}
extension ImageBatchLine {
    var label: String { image }
}

/// The keys of a job line that name files: relative ones resolve against the jobs file's folder.
let batchPathKeys = ["image", "mask", "depth_map", "output"]

/// One line of `path` as a `Job`: JSON syntax errors as JSON reports them (with the column), unknown
/// keys by name, missing or mistyped fields by key; relative file names made relative to `path`'s
/// folder (the working directory for a jobs file on stdin).
func decodeJobLine<Job: BatchLine>(_ line: Substring, file path: String, number: Int, as: Job.Type) throws -> Job {
    let here = "\(path):\(number)"
    let object: Any
    do { object = try JSONSerialization.jsonObject(with: Data(line.utf8)) } catch {
        let said = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? "\(error)"
        // Foundation says "… around character N." (0-based, on this one line).
        let offset = said.range(of: "character ").flatMap { Int(said[$0.upperBound...].prefix(while: \.isNumber)) }
        let column = offset.map { " at column \($0 + 1)" } ?? ""
        throw SDError.badFile(path: here, message: "not valid JSON\(column): \(said)")
    }
    guard var fields = object as? [String: Any] else {
        throw SDError.badFile(path: here, message: "not a job object (\(Job.shape))")
    }
    let known = Job.CodingKeys.allCases.map(\.stringValue)
    let unknown = fields.keys.filter { !known.contains($0) }.sorted()
    guard unknown.isEmpty else {
        throw SDError.badFile(path: here, message: "unknown key\(unknown.count > 1 ? "s" : "") \(unknown.map { "\"\($0)\"" }.joined(separator: ", ")); "
                              + "a job has \(known.map { "\"\($0)\"" }.joined(separator: ", "))")
    }
    let folder = (path == "-" ? "" : (path as NSString).deletingLastPathComponent)
    for key in batchPathKeys {
        if let v = fields[key] as? String, !folder.isEmpty, v != "-", !v.hasPrefix("/") {
            fields[key] = (folder as NSString).appendingPathComponent(v)
        }
    }
    do {
        return try JSONDecoder().decode(Job.self, from: JSONSerialization.data(withJSONObject: fields))
    } catch let DecodingError.keyNotFound(key, _) {
        throw SDError.badFile(path: here, message: "missing \"\(key.stringValue)\" (\(Job.shape))")
    } catch let DecodingError.typeMismatch(_, c), let DecodingError.valueNotFound(_, c) {
        throw SDError.badFile(path: here, message: "\"\(c.codingPath.map(\.stringValue).joined(separator: "."))\": \(c.debugDescription)")
    } catch {
        throw SDError.badFile(path: here, message: "not a job object (\(Job.shape))")
    }
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
            let job = try decodeJobLine(line, file: path, number: n + 1, as: Job.self)
            progress.message("sdedit: job \(i + 1)/\(jobs.count) (line \(n + 1)): \(job.label)")
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

/// A job line's negative_prompt, steps, guidance and strength over the command line's, range-checked
/// as the command-line options are.
func applyOverrides(_ r: inout GenerationRequest, negativePrompt: String?, steps: Int?, guidance: Float?,
                    strength: Double?) throws {
    if let v = negativePrompt { r.negativePrompt = v }
    if let v = try checkedSteps(steps) { r.steps = v }
    if let v = try checkedGuidance(guidance) { r.guidance = v }
    if let v = try checkedStrength(strength) { r.strength = v }
}

/// Run one job line's job (one image) and write it to `out`.
func writeBatchImage(_ job: ImageJob, on model: LoadedModel, to out: String, common: GenerationOptions,
                     progress: ProgressReporter) throws {
    try model.run(job, observer: progress) { image in
        try ImageIO.write(image.image, to: out, text: [("parameters", image.parameters)], jpegQuality: common.jpegQuality)
        progress.message("sdedit: wrote \(out)")
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
