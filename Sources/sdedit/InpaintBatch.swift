// `sdedit inpaint --batch jobs.jsonl`: many edits, one model load. One JSON object per line:
//   {"image": "a.png", "mask": "a-mask.png", "prompt": "…", "output": "a-out.png",
//    "negative_prompt": "…", "seed": 1, "steps": 30, "guidance": 7.5, "strength": 1.0}
// image, mask and prompt are required; the rest fall back to the command line (output: <image>-inpaint.png).
// Each output is written atomically as its job finishes; a bad line is reported with its number and
// the others still run; the exit status is that of the first failed job (0 when all succeeded).
import ArgumentParser
import Foundation
import SDCore
import SDPipelines

struct BatchJob: Decodable {
    let image: String, mask: String, prompt: String
    let output: String?, negativePrompt: String?, seed: UInt64?, steps: Int?, guidance: Float?, strength: Double?
    enum CodingKeys: String, CodingKey {
        case image, mask, prompt, output, seed, steps, guidance, strength
        case negativePrompt = "negative_prompt"
    }
}

extension Inpaint {
    func runBatch(_ path: String, common: GenerationOptions, precision: Precision, progress: ProgressReporter) throws {
        let bytes = try FileInput.read(path, limit: 64 << 20)
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        let jobs = lines.enumerated().filter { !$0.element.trimmingCharacters(in: .whitespaces).isEmpty }
        guard !jobs.isEmpty else { throw SDError.badFile(path: path, message: "no jobs") }
        let m = try inpaint.load(common: common, precision: precision, progress: progress)
        let base = common.baseSeed()
        var firstFailure: ExitCode? = nil
        var failed = 0
        for (i, (n, line)) in jobs.enumerated() {
            guard let job = try? JSONDecoder().decode(BatchJob.self, from: Data(line.utf8)) else {
                failed += 1
                let code = fail(SDError.badFile(path: "\(path):\(n + 1)", message: "not a job object (a JSON object with image, mask and prompt)"))
                if firstFailure == nil { firstFailure = code }
                continue
            }
            progress.message("sdedit: job \(i + 1)/\(jobs.count) (line \(n + 1)): \(job.image)")
            do {
                var r = inpaint.request(prompt: job.prompt, common: common, seed: job.seed ?? base &+ UInt64(i), scheduler: m.scheduler)
                if let v = job.negativePrompt { r.negativePrompt = v }
                if let v = job.steps { guard (1...1000).contains(v) else { throw SDError.invalidInput("steps must be 1…1000") }; r.steps = v }
                if let v = job.guidance { guard v.isFinite && (0...100).contains(v) else { throw SDError.invalidInput("guidance must be 0…100") }; r.guidance = v }
                if let v = job.strength { guard (0...1).contains(v) else { throw SDError.invalidInput("strength must be 0…1") }; r.strength = v }
                let out = job.output ?? ((job.image as NSString).deletingPathExtension + "-inpaint.png")
                guard out != "-" else { throw SDError.invalidInput("a batch job cannot write to stdout") }
                try common.refuseOverwrite(out, inputs: [job.image, job.mask, path])
                let original = try common.readImage(job.image).rgb8()
                let maskImage = try common.readImage(job.mask)
                guard maskImage.width == original.width && maskImage.height == original.height else {
                    throw SDError.invalidInput("\(job.mask): mask is \(maskImage.width)x\(maskImage.height) but the image is \(original.width)x\(original.height)")
                }
                let binary = try MaskPreparation.binaryMask(maskImage, channel: maskChannel, invert: invertMask)
                let (image, params) = try inpaint.paint(m, image: original, mask: binary, r, precision: precision,
                                                        label: "job \(i + 1)/\(jobs.count)", progress: progress)
                try ImageIO.write(image, to: out, text: [("parameters", params)], jpegQuality: common.jpegQuality)
                progress.message("sdedit: wrote \(out)")
            } catch {
                failed += 1
                let code = fail(BatchLineError(path: path, line: n + 1, error: error))
                if firstFailure == nil { firstFailure = code }
            }
        }
        if failed > 0 {
            progress.message("sdedit: \(failed) of \(jobs.count) jobs failed")
            throw firstFailure!
        }
    }
}

/// A job's error with its line: "jobs.jsonl:3: photo.png: cannot read file". Keeps the job error's exit code.
struct BatchLineError: Error, CustomStringConvertible {
    let path: String, line: Int, error: Error
    var description: String { "\(path):\(line): \(error)" }
}
