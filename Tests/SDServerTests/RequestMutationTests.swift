// A seeded mutation run over the request parsers (JSON bodies, base64 images, data URLs, option
// objects) through the router on FakeJobs: every answer must be 2xx or 4xx with a JSON detail, never
// a 5xx or a crash. Complements schemathesis (scripts/test_serve.py --schemathesis), which needs a
// live server and Python.
import Foundation
@testable import SDServer
import XCTest

final class RequestMutationTests: XCTestCase {
    /// SplitMix64: a fixed sequence for a fixed seed, so a failure reproduces.
    struct RNG {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    func testMutatedBodiesNeverAnswer5xx() async throws {
        let png = try pngBase64(8, 8)
        let objects: [(String, [String: Any])] = [
            ("/sdapi/v1/txt2img", ["prompt": "a (cat:1.2)", "seed": 3, "steps": 1, "width": 8, "height": 8, "n_iter": 2,
                                   "sampler_name": "DPM++ 2M", "scheduler": "Karras", "override_settings": ["sd_model_checkpoint": "tiny-a"]]),
            ("/sdapi/v1/img2img", ["init_images": ["data:image/png;base64," + png], "mask": png, "mask_blur": 2, "inpainting_fill": 1,
                                   "inpaint_full_res": true, "denoising_strength": 0.5, "steps": 1]),
            ("/sdapi/v1/options", ["sd_model_checkpoint": "tiny-b.safetensors", "x": [1, 2, ["y": nil as Any? as Any]]]),
            ("/sdapi/v1/png-info", ["image": png]),
            ("/sdapi/v1/extra-single-image", ["image": png, "upscaler_1": "sd-x4-upscaler"]),
        ]
        // Serialized here: the client closure is @Sendable and [String: Any] is not.
        let seeds = try objects.map { ($0.0, [UInt8](try JSONSerialization.data(withJSONObject: $0.1))) }
        let alphabet = Array("{}[]\":,0123456789.-eE+/=\\ntrufalsAZaz\u{0}\u{ff}".utf8)
        try await withClient(testServer { $0.maxBodyBytes = 1 << 16; $0.maxPixels = 4096 }) { c in
            var rng = RNG(state: 21)
            for round in 0..<1500 {
                let (path, seed) = seeds[round % seeds.count]
                var bytes = seed
                for _ in 0..<(1 + rng.below(6)) {
                    let i = rng.below(max(bytes.count, 1))
                    switch rng.below(5) {
                    case 0: if !bytes.isEmpty { bytes[i] = alphabet[rng.below(alphabet.count)] }
                    case 1: bytes.insert(alphabet[rng.below(alphabet.count)], at: min(i, bytes.count))
                    case 2: if !bytes.isEmpty { bytes.remove(at: i) }
                    case 3: bytes = Array(bytes.prefix(i))
                    default: bytes.insert(contentsOf: bytes[i..<min(bytes.count, i + rng.below(64))], at: min(i, bytes.count))
                    }
                }
                let a = try await c.send(.post, path, bytes: bytes)
                XCTAssertTrue(a.status.code < 500, "\(path) \(a.status) \(a.detail ?? "") for \(String(decoding: bytes, as: UTF8.self))")
                if a.status.code >= 400 { XCTAssertNotNil(a.detail, "\(path) \(a.status) without detail") }
            }
        }
    }
}
