// The real job side on the tiny fixture models (fixtures/models, written by scripts/make_fixtures.py):
// what --models-dir lists, a txt2img through the routes and SDJobs, the same job run directly through
// SDJobs (what `sdedit txt2img` runs) giving the same PNG bytes, and an interrupt between steps.
import Foundation
import SDCore
import SDJobs
import SDModels
import SDPipelines
@testable import SDServer
import SDTestSupport
import XCTest

final class PipelineJobsTests: XCTestCase {
    /// A --models-dir with links to a txt2img checkpoint, an x4 upscaler and a stray file.
    func modelsDir() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sdserve-models-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in ["tiny-sd-turbo-v", "tiny-sd2-x4-upscaler"] {
            try FileManager.default.createSymbolicLink(atPath: dir + "/" + name, withDestinationPath: Fixtures.root + "/models/" + name)
        }
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/notes.txt"))
        return dir
    }

    func jobs(_ dir: String) throws -> PipelineJobs {
        var o = PipelineJobsOptions()
        o.modelsDir = dir
        o.precision = .fp32
        return try PipelineJobs(options: o)
    }

    func testModelsDirListsCheckpointsAndUpscalers() throws {
        let dir = try modelsDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let j = try jobs(dir)
        XCTAssertEqual(j.checkpoints().map(\.title), ["tiny-sd-turbo-v"])
        XCTAssertEqual(j.upscalers(), ["None", "tiny-sd2-x4-upscaler"])
        XCTAssertEqual(j.currentCheckpoint, "tiny-sd-turbo-v")
        XCTAssertThrowsError(try j.selectCheckpoint("../tiny-sd-turbo-v"))
        XCTAssertThrowsError(try j.selectCheckpoint(Fixtures.root + "/models/tiny-sd21-base"))
    }

    func testTxt2ImgRequestGivesTheJobLayersBytes() async throws {
        let dir = try modelsDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = SDServer(config: ServerConfiguration(), jobs: try jobs(dir))
        try await withClient(server) { c in
            let a = try await c.send(.post, "/sdapi/v1/txt2img", json: [
                "prompt": "a red cube", "seed": 3, "steps": 2, "cfg_scale": 7.5, "width": 64, "height": 64, "sampler_name": "Euler a"])
            XCTAssertEqual(a.status, .ok, a.detail ?? "")
            let png = [UInt8](Data(base64Encoded: (a.json["images"] as? [String])?.first ?? "") ?? Data())
            // What `sdedit txt2img "a red cube" --seed 3 --steps 2 --guidance 7.5 --width 64 --height 64
            // --scheduler euler-a --precision fp32` runs and writes.
            let m = try ModelStore().model(ModelSpec(path: Fixtures.root + "/models/tiny-sd-turbo-v", precision: .fp32),
                                           observer: SilentObserver())
            var r = GenerationRequest(prompt: "a red cube", strength: 1)
            r.steps = 2; r.guidance = 7.5; r.seed = 3; r.scheduler = .eulerAncestral
            var expected: [UInt8] = []
            try m.run(ImageJob(task: .txt2img(width: 64, height: 64), settings: r), observer: SilentObserver()) {
                expected = try $0.image.encodePNG(text: [("parameters", $0.parameters)])
            }
            XCTAssertEqual(png, expected)
            XCTAssertEqual(info(a)["all_seeds"] as? [Int], [3])
        }
    }

    func testInterruptStopsARealJobBetweenSteps() async throws {
        let dir = try modelsDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = SDServer(config: ServerConfiguration(), jobs: try jobs(dir))
        try await withClient(server) { c in
            async let job = c.send(.post, "/sdapi/v1/txt2img", json: ["prompt": "x", "seed": 1, "steps": 1000, "n_iter": 3,
                                                                     "width": 64, "height": 64, "sampler_name": "Euler"])
            var step = 0
            for _ in 0..<2000 where step < 2 {
                try await Task.sleep(nanoseconds: 5_000_000)
                step = (try await c.send(.get, "/sdapi/v1/progress").json["state"] as? [String: Any])?["sampling_step"] as? Int ?? 0
            }
            _ = try await c.send(.post, "/sdapi/v1/interrupt")
            let a = try await job
            XCTAssertEqual(a.status, .ok)
            let i = info(a)
            XCTAssertEqual(i["interrupted"] as? Bool, true)
            XCTAssertEqual((a.json["images"] as? [String])?.count, 1)   // the image in progress, decoded where it stopped
        }
    }
}

extension PipelineJobsTests {
    /// GET embeddings lists A1111's embedding database: the --embeddings files until a model is
    /// loaded, then that model's, which a prompt's LoRA joins with the embeddings it bundles (a
    /// name an --embeddings file already has is skipped), with each one's width and vector count.
    func testEmbeddingsListTheLoadedModelsDatabase() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sdserve-emb-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = Fixtures.root + "/models/tiny-sd21-base"
        try FileManager.default.createSymbolicLink(atPath: dir + "/tiny-sd21-base", withDestinationPath: base)
        var o = PipelineJobsOptions()
        o.modelsDir = dir
        o.precision = .fp32
        o.loraDir = Fixtures.path("lora")
        o.embeddings = Fixtures.path("lora/embeddings")
        let j = try PipelineJobs(options: o)
        let files = try TextualInversion.folder(o.embeddings!)
        XCTAssertEqual(j.embeddings().loaded.map(\.name), files.map(\.name))
        XCTAssertEqual(j.embeddings().skipped, [])
        _ = try j.model(nil, prompt: "a house <lora:bundled:1>", observer: SilentObserver())
        let (loaded, skipped) = j.embeddings()
        let expected = ModelSource(folder: base)
        try expected.addLoRAs([LoRASpec(path: Fixtures.path("lora/bundled.safetensors"))])
        try expected.addEmbeddings(files)
        XCTAssertEqual(loaded.map(\.name), expected.embeddings.map(\.name))
        XCTAssertEqual(skipped.map(\.name), expected.skippedBundled.map(\.name))
        XCTAssertGreaterThan(loaded.count, files.count, "the LoRA's bundled embeddings are listed")
        for e in expected.embeddings {
            let listed = try XCTUnwrap(loaded.first { $0.name == e.name })
            XCTAssertEqual(listed.width, 32)
            XCTAssertEqual(listed.vectors, e.vectors.shape[0])
        }
    }
}

extension PipelineJobsTests {
    /// A command's one-image job gives back its text encoder's mapped pages once the prompts are
    /// encoded, and kept Winograd filters get as much more budget, once; a later encoding reads the
    /// weights again (the pages fault back in) and gives the same image.
    func testOneImageJobGivesBackTheTextEncoderPages() throws {
        let saved = KernelPlan.current
        defer { KernelPlan.current = saved }
        // The tiny model with its text encoder in fp32, read in place from the mapping (fp16 is converted).
        let base = Fixtures.root + "/models/tiny-sd21-base"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sdjobs-te-\(UUID())").path
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir + "/text_encoder", withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: dir) }
        for part in try fm.contentsOfDirectory(atPath: base) where part != "text_encoder" {
            try fm.createSymbolicLink(atPath: dir + "/" + part, withDestinationPath: base + "/" + part)
        }
        try fm.copyItem(atPath: base + "/text_encoder/config.json", toPath: dir + "/text_encoder/config.json")
        let half = try SafetensorsFile(path: base + "/text_encoder/model.fp16.safetensors")
        var tensors: [String: Tensor] = [:]
        for k in half.keys { tensors[k] = try half.tensor(k) }
        try writeSafetensors(tensors, to: dir + "/text_encoder/model.safetensors")
        let bytes = tensors.values.reduce(0) { $0 + $1.count * 4 }

        let m = try ModelStore().model(ModelSpec(path: dir, precision: .fp32), observer: SilentObserver())
        var r = GenerationRequest(prompt: "a red cube", strength: 1)
        r.steps = 2; r.seed = 5; r.guidance = 7.5
        let job = ImageJob(task: .txt2img(width: 64, height: 64), settings: r)
        let budget = Winograd.cacheBudget
        var pngs: [[UInt8]] = []
        try m.run(job, observer: SilentObserver(), lastJob: true) { pngs.append(try $0.image.encodePNG()) }
        XCTAssertEqual(Winograd.cacheBudget - budget, bytes)
        XCTAssertFalse(m.sd.releasesTextEncoderAfterUse)
        try m.run(job, observer: SilentObserver()) { pngs.append(try $0.image.encodePNG()) }
        XCTAssertEqual(Winograd.cacheBudget - budget, bytes, "granted once")
        XCTAssertEqual(pngs[0], pngs[1])
        // A job of two images encodes its prompts twice: nothing is given back.
        let twice = ImageJob(task: .txt2img(width: 64, height: 64), settings: r, count: 2)
        try m.run(twice, observer: SilentObserver(), lastJob: true) { _ in }
        XCTAssertEqual(Winograd.cacheBudget - budget, bytes)
    }
}
