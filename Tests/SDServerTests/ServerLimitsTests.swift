// Every hostile request class of issue 21 answered with a 4xx and a JSON detail: basic auth on every
// route, the body cap, bad base64, images over --max-pixels from their header, malformed JSON,
// unknown samplers and checkpoints, paths as checkpoint names, CORS, and files only under --outdir.
import Foundation
import SDCore
import SDPipelines
import Hummingbird
@testable import SDServer
import XCTest

final class ServerLimitsTests: XCTestCase {
    static let good: HTTPFields = [.authorization: "Basic " + Data("me:secret".utf8).base64EncodedString()]

    func testBasicAuthGuardsEveryRoute() async throws {
        try await withClient(testServer { $0.apiAuth = "me:secret" }) { c in
            for (method, path) in [(HTTPRequest.Method.get, "/openapi.json"), (.get, "/docs"), (.get, "/sdapi/v1/progress"),
                                   (.post, "/sdapi/v1/txt2img"), (.get, "/sdapi/v1/options/"), (.get, "/no/such/route")] {
                let a = try await c.send(method, path)
                XCTAssertEqual(a.status, .unauthorized, path)
                XCTAssertEqual(a.headers[.wwwAuthenticate], "Basic realm=\"sdedit\"", path)
                XCTAssertNotNil(a.detail, path)
            }
            for wrong in ["me:secreT", "me:secret2", "me:", "", "garbage"] {
                let h: HTTPFields = [.authorization: "Basic " + Data(wrong.utf8).base64EncodedString()]
                let v1 = try await c.send(.get, "/sdapi/v1/progress", headers: h).status
                XCTAssertEqual(v1, .unauthorized, wrong)
            }
            let v2 = try await c.send(.get, "/sdapi/v1/progress", headers: [.authorization: "Bearer x"]).status
            XCTAssertEqual(v2, .unauthorized)
            let v3 = try await c.send(.get, "/openapi.json", headers: Self.good).status
            XCTAssertEqual(v3, .ok)
            let v4 = try await c.send(.get, "/docs", headers: Self.good).status
            XCTAssertEqual(v4, .ok)
            let v5 = try await c.send(.post, "/sdapi/v1/txt2img", json: ["steps": 1, "width": 8, "height": 8], headers: Self.good).status
            XCTAssertEqual(v5, .ok)
        }
    }

    func testConstantTimeCompare() {
        typealias M = BasicAuthMiddleware<BasicRequestContextAlias>
        XCTAssertTrue(M.constantTimeEqual(Array("a:b".utf8), Array("a:b".utf8)))
        XCTAssertFalse(M.constantTimeEqual(Array("a:b".utf8), Array("a:c".utf8)))
        XCTAssertFalse(M.constantTimeEqual(Array("a:b".utf8), Array("a:bb".utf8)))
        XCTAssertFalse(M.constantTimeEqual([], Array("a".utf8)))
    }

    func testBodyOverTheCapIs413() async throws {
        try await withClient(testServer { $0.maxBodyBytes = 1000 }) { c in
            let big = try await c.send(.post, "/sdapi/v1/txt2img", json: ["prompt": String(repeating: "x", count: 2000)])
            XCTAssertEqual(big.status, .contentTooLarge)
            XCTAssertNotNil(big.detail)
            let v6 = try await c.send(.post, "/sdapi/v1/txt2img", json: ["steps": 1, "width": 8, "height": 8]).status
            XCTAssertEqual(v6, .ok)
        }
    }

    func testBadBase64AndNonImagesAre422() async throws {
        try await withClient(testServer()) { c in
            for bad in ["!!!!", "data:image/png;base64,@@@", "data:image/png,abc", Data("not an image".utf8).base64EncodedString(), ""] {
                let a = try await c.send(.post, "/sdapi/v1/img2img", json: ["init_images": [bad], "steps": 1])
                XCTAssertEqual(a.status, .unprocessableContent, bad)
                XCTAssertNotNil(a.detail, bad)
            }
            let mask = try await c.send(.post, "/sdapi/v1/img2img", json: ["init_images": [try pngBase64(8, 8)], "mask": "%%%"])
            XCTAssertEqual(mask.status, .unprocessableContent)
            XCTAssertTrue(mask.detail?.contains("mask") ?? false)
            let missing = try await c.send(.post, "/sdapi/v1/img2img", json: ["steps": 1])
            XCTAssertEqual(missing.status, .unprocessableContent)
            let info = try await c.send(.post, "/sdapi/v1/png-info", json: ["image": "***"])
            XCTAssertEqual(info.status, .unprocessableContent)
        }
    }

    func testImageOverMaxPixelsIsRefusedFromItsHeader() async throws {
        try await withClient(testServer { $0.maxPixels = 1000 }) { c in
            let a = try await c.send(.post, "/sdapi/v1/img2img", json: ["init_images": [try pngBase64(40, 30)], "steps": 1])
            XCTAssertEqual(a.status, .unprocessableContent)
            XCTAssertTrue(a.detail?.contains("1000") ?? false, a.detail ?? "")
            let t = try await c.send(.post, "/sdapi/v1/txt2img", json: ["width": 64, "height": 64])
            XCTAssertEqual(t.status, .unprocessableContent)
        }
    }

    func testMalformedJSONAndWrongTypesAre422() async throws {
        try await withClient(testServer()) { c in
            for raw in ["{", "[1,2]", "\"x\"", "{\"steps\": \"many\"}", "{\"seed\": 1.5e400}", "{\"override_settings\": 3}",
                        "{\"width\": 13}", "{\"steps\": 0}", "{\"cfg_scale\": -1}", "{\"batch_size\": 100000}"] {
                let a = try await c.send(.post, "/sdapi/v1/txt2img", raw: raw)
                XCTAssertEqual(a.status, .unprocessableContent, raw)
                XCTAssertNotNil(a.detail, raw)
            }
            let v7 = try await c.send(.post, "/sdapi/v1/options", raw: "{nope").status
            XCTAssertEqual(v7, .unprocessableContent)
        }
    }

    func testUnknownSamplerSchedulerAndCheckpointAre4xx() async throws {
        let jobs = FakeJobs()
        try await withClient(testServer(jobs: jobs)) { c in
            let s = try await c.send(.post, "/sdapi/v1/txt2img", json: ["sampler_name": "UniPC", "steps": 1])
            XCTAssertEqual(s.status, .unprocessableContent)
            XCTAssertTrue(s.detail?.contains("UniPC") ?? false)
            let k = try await c.send(.post, "/sdapi/v1/txt2img", json: ["sampler_name": "Euler a", "scheduler": "Karras"])
            XCTAssertEqual(k.status, .unprocessableContent)
            let ok = try await c.send(.post, "/sdapi/v1/txt2img", json: ["sampler_name": "DPM++ 2M", "scheduler": "Karras", "steps": 1, "width": 8, "height": 8])
            XCTAssertEqual(ok.status, .ok)
            XCTAssertEqual(jobs.lastSettings?.scheduler, .dpm2mKarras)
            // A1111 >= 1.9: no scheduler is Automatic, which is Karras for DPM++ 2M; Uniform is the plain one.
            for (scheduler, kind) in [(nil, SchedulerKind.dpm2mKarras), ("Uniform", .dpm2m)] as [(String?, SchedulerKind)] {
                var body: [String: Any] = ["sampler_name": "DPM++ 2M", "steps": 1, "width": 8, "height": 8]
                body["scheduler"] = scheduler
                let d = try await c.send(.post, "/sdapi/v1/txt2img", json: body)
                XCTAssertEqual(d.status, .ok)
                XCTAssertEqual(jobs.lastSettings?.scheduler, kind, scheduler ?? "none")
            }
            for name in ["nope", "../../etc/passwd", "/models/tiny-a", "tiny-a/../x"] {
                let o = try await c.send(.post, "/sdapi/v1/options", json: ["sd_model_checkpoint": name])
                XCTAssertEqual(o.status, .notFound, name)
                let t = try await c.send(.post, "/sdapi/v1/txt2img", json: ["override_settings": ["sd_model_checkpoint": name]])
                XCTAssertEqual(t.status, .notFound, name)
            }
            XCTAssertEqual(jobs.selected, [])
        }
    }

    func testCORSOnlyForListedOrigins() async throws {
        try await withClient(testServer { $0.corsOrigins = ["http://localhost:3456/"]; $0.apiAuth = "me:secret" }) { c in
            let pre = try await c.send(.options, "/sdapi/v1/txt2img",
                                       headers: [.origin: "http://localhost:3456", .accessControlRequestMethod: "POST"])
            XCTAssertEqual(pre.status, .noContent)
            XCTAssertEqual(pre.headers[.accessControlAllowOrigin], "http://localhost:3456")
            var h = Self.good
            h[.origin] = "http://evil.example"
            let other = try await c.send(.get, "/sdapi/v1/progress", headers: h)
            XCTAssertNil(other.headers[.accessControlAllowOrigin])
            h[.origin] = "http://localhost:3456"
            let v8 = try await c.send(.get, "/sdapi/v1/progress", headers: h).headers[.accessControlAllowOrigin]
            XCTAssertEqual(v8, "http://localhost:3456")
        }
    }

    func testShutdownInterruptsTheJobAndRefusesNewOnes() async throws {
        let jobs = FakeJobs()
        jobs.stepSeconds = 0.01
        let server = testServer(jobs: jobs)
        try await withClient(server) { c in
            async let running = c.send(.post, "/sdapi/v1/txt2img", json: ["steps": 1000, "n_iter": 5, "width": 8, "height": 8])
            for _ in 0..<200 {
                try await Task.sleep(nanoseconds: 5_000_000)
                let s = try await c.send(.get, "/sdapi/v1/progress").json["state"] as? [String: Any] ?? [:]
                if (s["sampling_step"] as? Int ?? 0) >= 1 { break }
            }
            server.beginShutdown()
            let a = try await running
            XCTAssertEqual(a.status, .ok)   // answered with what exists (nothing: stopped in image 1)
            XCTAssertEqual((a.json["images"] as? [String])?.count, 0)
            let late = try await c.send(.post, "/sdapi/v1/txt2img", json: ["steps": 1, "width": 8, "height": 8])
            XCTAssertEqual(late.status, .serviceUnavailable)
            XCTAssertNotNil(late.detail)
        }
    }

    func testFilesAreWrittenOnlyUnderOutdir() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sdserve-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = testServer { $0.outdir = dir }
        try server.prepareOutdir()
        try await withClient(server) { c in
            let a = try await c.send(.post, "/sdapi/v1/txt2img", json: ["seed": 9, "n_iter": 2, "steps": 1, "width": 8, "height": 8])
            XCTAssertEqual(a.status, .ok)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["00001-9.png", "00002-10.png"])
    }
}

typealias BasicRequestContextAlias = Hummingbird.BasicRequestContext
