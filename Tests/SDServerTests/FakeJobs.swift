// A stand-in for the model side: tiny PNGs whose pixels and parameters text come from the request,
// so the routing, limits and queue are tested without loading a model.
import Foundation
import SDCore
@testable import SDServer

final class FakeJobs: ServerJobs, @unchecked Sendable {
    let lock = NSLock()
    var current = "tiny-a"
    /// Steps that sleep `stepSeconds` each, reporting progress and honouring interrupt/skip.
    var stepSeconds = 0.0
    var running = 0, maxRunning = 0, selected: [String] = []
    var lastSettings: GenerationSettings?
    var lastEdit: EditSettings?

    func txt2img(_ s: GenerationSettings, control: JobControl) throws -> JobOutput {
        try generate(s, control: control)
    }

    func img2img(_ s: GenerationSettings, _ e: EditSettings, control: JobControl) throws -> JobOutput {
        lock.withLock { lastEdit = e }
        return try generate(s, control: control)
    }

    func depth2img(_ s: GenerationSettings, _ e: EditSettings, control: JobControl) throws -> JobOutput {
        try img2img(s, e, control: control)
    }

    func upscale(_ image: Image, upscaler: String, control: JobControl) throws -> [UInt8] {
        try Image(width: image.width * 4, height: image.height * 4, channels: 3,
                  samples8: [UInt8](repeating: 7, count: image.width * image.height * 48)).encodePNG()
    }

    func generate(_ s: GenerationSettings, control: JobControl) throws -> JobOutput {
        lock.withLock { running += 1; maxRunning = max(maxRunning, running); lastSettings = s }
        defer { lock.withLock { running -= 1 } }
        var out = JobOutput()
        out.modelName = s.checkpoint ?? current
        out.samplerName = s.scheduler.map { Samplers.name($0) } ?? "Euler"
        out.width = s.width; out.height = s.height
        let base = s.seed < 0 ? UInt64(UInt32.random(in: 0...UInt32.max)) : UInt64(s.seed)
        for i in 0..<s.imageCount {
            if control.isInterrupted { break }
            control.beginImage(i)
            var stopped = false
            for step in 0..<(stepSeconds > 0 ? s.steps : 0) {
                Thread.sleep(forTimeInterval: stepSeconds)
                control.step(step + 1, of: s.steps)
                if control.isStopRequested { stopped = true; break }
            }
            if stopped && control.isInterrupted { out.interrupted = true; break }
            let seed = base &+ UInt64(i)
            let text = "\(s.prompt)\nSteps: \(s.steps), Seed: \(seed), Size: \(s.width)x\(s.height), Model: \(out.modelName)"
            let img = Image(width: 8, height: 8, channels: 3, samples8: [UInt8](repeating: UInt8(seed % 256), count: 192))
            out.images.append(try img.encodePNG(text: [("parameters", text)]))
            out.seeds.append(seed)
            out.infotexts.append(text)
        }
        return out
    }

    func checkpoints() -> [Checkpoint] {
        [Checkpoint(title: "tiny-a", modelName: "tiny-a", filename: "/models/tiny-a"),
         Checkpoint(title: "tiny-b.safetensors", modelName: "tiny-b", filename: "/models/tiny-b.safetensors")]
    }

    var currentCheckpoint: String { lock.withLock { current } }

    func selectCheckpoint(_ title: String) throws {
        lock.withLock { current = title; selected.append(title) }
    }

    func loras() -> [(name: String, path: String)] { [("detail", "/loras/detail.safetensors")] }
    func embeddings() -> (loaded: [EmbeddingEntry], skipped: [EmbeddingEntry]) {
        ([EmbeddingEntry(name: "myword", width: 1024, vectors: 2)], [EmbeddingEntry(name: "other")])
    }
    func upscalers() -> [String] { ["None", "sd-x4-upscaler"] }
}
