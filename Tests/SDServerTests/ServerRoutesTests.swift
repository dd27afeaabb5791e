// The A1111 routes on FakeJobs: shapes of answers (modules/api/models.py), trailing slashes, the
// options/checkpoint switch, progress and interrupt while a job runs, and the serial queue.
import Foundation
import SDCore
import Hummingbird
@testable import SDServer
import XCTest

final class ServerRoutesTests: XCTestCase {
    func testTxt2ImgAnswersImagesParametersAndInfoWithSeeds() async throws {
        let jobs = FakeJobs()
        try await withClient(testServer(jobs: jobs)) { c in
            let a = try await c.send(.post, "/sdapi/v1/txt2img", json: [
                "prompt": "a cat", "seed": 5, "batch_size": 2, "n_iter": 2, "steps": 3, "width": 64, "height": 64,
                "sampler_name": "Euler a", "unknown_field": 1])
            XCTAssertEqual(a.status, .ok, a.detail ?? "")
            let images = a.json["images"] as? [String] ?? []
            XCTAssertEqual(images.count, 4)
            let png = try Image.decode([UInt8](Data(base64Encoded: images[1])!), name: "answer")
            XCTAssertEqual(png.samples8.first, 6)   // the fake paints seed % 256: image 1 has seed 6
            XCTAssertEqual((a.json["parameters"] as? [String: Any])?["prompt"] as? String, "a cat")
            let i = info(a)
            XCTAssertEqual(i["all_seeds"] as? [Int], [5, 6, 7, 8])
            XCTAssertEqual(i["seed"] as? Int, 5)
            XCTAssertEqual((i["infotexts"] as? [String])?.count, 4)
            XCTAssertEqual(i["sampler_name"] as? String, "Euler a")
            XCTAssertEqual(jobs.lastSettings?.scheduler, .eulerAncestral)
        }
    }

    func testEveryRouteAnswersWithAndWithoutTrailingSlash() async throws {
        try await withClient(testServer()) { c in
            for path in ["progress", "options", "sd-models", "samplers", "schedulers", "upscalers", "loras", "embeddings",
                         "prompt-styles"] {
                for suffix in ["", "/"] {
                    let a = try await c.send(.get, "/sdapi/v1/\(path)\(suffix)")
                    XCTAssertEqual(a.status, .ok, "/sdapi/v1/\(path)\(suffix)")
                }
            }
            let a = try await c.send(.post, "/sdapi/v1/options/", json: ["some_key": 3])
            XCTAssertEqual(a.status, .ok)
            let v1 = try await c.send(.post, "/sdapi/v1/interrupt/").status
            XCTAssertEqual(v1, .ok)
            let v2 = try await c.send(.post, "/sdapi/v1/txt2img/", json: ["steps": 1, "width": 8, "height": 8]).status
            XCTAssertEqual(v2, .ok)
        }
    }

    func testListsHaveA1111Shapes() async throws {
        try await withClient(testServer()) { c in
            let models = try await c.send(.get, "/sdapi/v1/sd-models").array
            XCTAssertEqual(models.map { $0["title"] as? String }, ["tiny-a", "tiny-b.safetensors"])
            XCTAssertEqual(models.first?["model_name"] as? String, "tiny-a")
            let samplers = try await c.send(.get, "/sdapi/v1/samplers").array.compactMap { $0["name"] as? String }
            XCTAssertTrue(samplers.contains("Euler a") && samplers.contains("DPM++ 2M"))
            let emb = try await c.send(.get, "/sdapi/v1/embeddings").json
            let word = (emb["loaded"] as? [String: Any])?["myword"] as? [String: Any]
            XCTAssertEqual(word?["shape"] as? Int, 1024)
            XCTAssertEqual(word?["vectors"] as? Int, 2)
            XCTAssertNotNil((emb["skipped"] as? [String: Any])?["other"])
            let v3 = try await c.send(.get, "/sdapi/v1/loras").array.first?["name"] as? String
            XCTAssertEqual(v3, "detail")
            let v4 = try await c.send(.get, "/sdapi/v1/upscalers").array.first?["name"] as? String
            XCTAssertEqual(v4, "None")
            let v5 = try await c.send(.get, "/sdapi/v1/prompt-styles").body
            XCTAssertEqual(v5, Data("[]".utf8))
        }
    }

    func testOptionsSwitchCheckpointAndEchoUnknownKeys() async throws {
        let jobs = FakeJobs()
        try await withClient(testServer(jobs: jobs)) { c in
            let v6 = try await c.send(.get, "/sdapi/v1/options").json["sd_model_checkpoint"] as? String
            XCTAssertEqual(v6, "tiny-a")
            let a = try await c.send(.post, "/sdapi/v1/options", json: ["sd_model_checkpoint": "tiny-b.safetensors", "my_key": "v"])
            XCTAssertEqual(a.status, .ok, a.detail ?? "")
            XCTAssertEqual(jobs.selected, ["tiny-b.safetensors"])
            let o = try await c.send(.get, "/sdapi/v1/options").json
            XCTAssertEqual(o["sd_model_checkpoint"] as? String, "tiny-b.safetensors")
            XCTAssertEqual(o["my_key"] as? String, "v")
            // New keys are capped (memory), existing ones can always be set again.
            let many = Dictionary(uniqueKeysWithValues: (0..<1001).map { ("k\($0)", $0) })
            let tooMany = try await c.send(.post, "/sdapi/v1/options", json: many)
            XCTAssertEqual(tooMany.status, .unprocessableContent)
            let again = try await c.send(.post, "/sdapi/v1/options", json: ["my_key": "w"])
            XCTAssertEqual(again.status, .ok)
        }
    }

    func testImg2ImgReadsMaskAndInpaintFields() async throws {
        let jobs = FakeJobs()
        try await withClient(testServer(jobs: jobs)) { c in
            let a = try await c.send(.post, "/sdapi/v1/img2img", json: [
                "init_images": ["data:image/png;base64," + (try pngBase64(16, 8))], "mask": try pngBase64(16, 8, value: 255),
                "mask_blur": 2, "inpainting_fill": 2, "inpaint_full_res": 0, "inpaint_full_res_padding": 12,
                "inpainting_mask_invert": 1, "denoising_strength": 0.5, "steps": 2, "seed": 1])
            XCTAssertEqual(a.status, .ok, a.detail ?? "")
            let e = try XCTUnwrap(jobs.lastEdit)
            XCTAssertEqual([e.image.width, e.image.height, e.mask?.width, e.maskBlur, e.inpaintingFill, e.inpaintFullResPadding],
                           [16, 8, 16, 2, 2, 12])
            XCTAssertEqual([e.inpaintFullRes, e.invertMask], [false, true])
            XCTAssertEqual(e.denoisingStrength, 0.5)
            let params = a.json["parameters"] as? [String: Any] ?? [:]
            XCTAssertTrue(params["init_images"] is NSNull)   // not echoed, as A1111
            XCTAssertEqual(info(a)["denoising_strength"] as? Double, 0.5)
            let d = try await c.send(.post, "/sdedit/v1/depth2img", json: ["init_images": [try pngBase64(8, 8)], "steps": 1])
            XCTAssertEqual(d.status, .ok, d.detail ?? "")
        }
    }

    func testProgressAndInterruptWhileAJobRuns() async throws {
        let jobs = FakeJobs()
        jobs.stepSeconds = 0.02
        let server = testServer(jobs: jobs)
        try await withClient(server) { c in
            async let generation = c.send(.post, "/sdapi/v1/txt2img", json: ["steps": 1000, "n_iter": 3, "width": 8, "height": 8, "seed": 1])
            var state: [String: Any] = [:]
            for _ in 0..<200 {
                try await Task.sleep(nanoseconds: 10_000_000)
                let p = try await c.send(.get, "/sdapi/v1/progress").json
                state = p["state"] as? [String: Any] ?? [:]
                if (state["sampling_step"] as? Int ?? 0) >= 2 { break }
            }
            XCTAssertEqual(state["job_count"] as? Int, 3)
            XCTAssertEqual(state["sampling_steps"] as? Int, 1000)
            let v7 = try await c.send(.post, "/sdapi/v1/interrupt").status
            XCTAssertEqual(v7, .ok)
            let a = try await generation
            XCTAssertEqual(a.status, .ok)
            XCTAssertEqual((a.json["images"] as? [String])?.count, 0)   // stopped inside image 1 of 3
            let after = try await c.send(.get, "/sdapi/v1/progress").json
            XCTAssertEqual(after["progress"] as? Double, 0)
        }
    }

    func testSkipEndsOnlyTheCurrentImage() async throws {
        let jobs = FakeJobs()
        jobs.stepSeconds = 0.01
        try await withClient(testServer(jobs: jobs)) { c in
            async let generation = c.send(.post, "/sdapi/v1/txt2img", json: ["steps": 20, "n_iter": 2, "width": 8, "height": 8, "seed": 1])
            for _ in 0..<200 {
                try await Task.sleep(nanoseconds: 5_000_000)
                let s = try await c.send(.get, "/sdapi/v1/progress").json["state"] as? [String: Any] ?? [:]
                if (s["sampling_step"] as? Int ?? 0) >= 1 { break }
            }
            let v8 = try await c.send(.post, "/sdapi/v1/skip").status
            XCTAssertEqual(v8, .ok)
            let a = try await generation
            XCTAssertEqual(info(a)["all_seeds"] as? [Int], [1, 2])   // image 1 ended early, image 2 ran
        }
    }

    func testJobsRunOneAtATime() async throws {
        let jobs = FakeJobs()
        jobs.stepSeconds = 0.005
        try await withClient(testServer(jobs: jobs)) { c in
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for i in 0..<4 {
                    group.addTask { try await c.send(.post, "/sdapi/v1/txt2img", json: ["steps": 5, "seed": i, "width": 8, "height": 8]).status }
                }
                for try await s in group { XCTAssertEqual(s, .ok) }
            }
        }
        XCTAssertEqual(jobs.maxRunning, 1)
    }

    func testPNGInfoReadsTheParametersChunk() async throws {
        let text = "a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, CFG scale: 7.0, Seed: 3, Size: 64x32, Model: \"x, y\""
        let png = try Image(width: 2, height: 2, channels: 3, samples8: [UInt8](repeating: 1, count: 12))
            .encodePNG(text: [("parameters", text), ("other", "v")])
        try await withClient(testServer()) { c in
            let a = try await c.send(.post, "/sdapi/v1/png-info", json: ["image": Data(png).base64EncodedString()])
            XCTAssertEqual(a.status, .ok, a.detail ?? "")
            XCTAssertEqual(a.json["info"] as? String, text)
            let p = a.json["parameters"] as? [String: String] ?? [:]
            XCTAssertEqual(p["Prompt"], "a cat")
            XCTAssertEqual(p["Negative prompt"], "dog")
            XCTAssertEqual(p["Seed"], "3")
            XCTAssertEqual(p["Size-1"], "64")
            XCTAssertEqual(p["Size-2"], "32")
            XCTAssertNil(p["Size"])
            XCTAssertEqual(p["Model"], "x, y")
        }
    }

    func testExtraSingleImageUpscalesOrNamesTheProblem() async throws {
        try await withClient(testServer()) { c in
            let ok = try await c.send(.post, "/sdapi/v1/extra-single-image/", json: ["image": try pngBase64(4, 4), "upscaler_1": "sd-x4-upscaler"])
            XCTAssertEqual(ok.status, .ok, ok.detail ?? "")
            let img = try Image.decode([UInt8](Data(base64Encoded: ok.json["image"] as? String ?? "")!), name: "x")
            XCTAssertEqual(img.width, 16)
            let none = try await c.send(.post, "/sdapi/v1/extra-single-image", json: ["image": try pngBase64(4, 4), "upscaler_1": "ESRGAN_4x"])
            XCTAssertEqual(none.status, .unprocessableContent)
            XCTAssertNotNil(none.detail)
        }
    }

    func testOpenAPIDocumentDescribesTheRoutes() async throws {
        try await withClient(testServer()) { c in
            let doc = try await c.send(.get, "/openapi.json").json
            let paths = doc["paths"] as? [String: Any] ?? [:]
            for p in ["txt2img", "img2img", "progress", "interrupt", "skip", "options", "sd-models", "samplers", "schedulers",
                      "upscalers", "loras", "embeddings", "prompt-styles", "png-info", "extra-single-image"] {
                XCTAssertNotNil(paths["/sdapi/v1/\(p)"], p)
            }
            XCTAssertNotNil(paths["/sdedit/v1/depth2img"])
            let docs = try await c.send(.get, "/docs")
            XCTAssertTrue(String(decoding: docs.body, as: UTF8.self).contains("/sdapi/v1/txt2img"))
        }
    }
}
