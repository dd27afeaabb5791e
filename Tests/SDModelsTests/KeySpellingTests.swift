// Real files spell some keys two ways: VAE attention as query/key/value/proj_attn (diffusers ≤ 0.13)
// or to_q/to_k/to_v/to_out.0, and the text encoder with or without the "text_model." prefix (plus an
// int64 position_ids buffer). The tiny model is rewritten under the other spelling; outputs must be
// identical. Unknown extra keys must be reported with the file name.
import Foundation
import SDCore
import SDModels
import SDTestSupport
import XCTest

final class KeySpellingTests: XCTestCase {
    let model = Fixtures.path("models/tiny-sd2-inpainting")
    var dir: String!
    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "/sdedit-keys-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// Copy a component with its weights renamed by `rename` (nil drops the key) plus `extra` tensors.
    func rewrite(_ component: String, file: String, _ rename: (String) -> String?, extra: [String: Tensor] = [:]) throws -> String {
        let src = "\(model)/\(component)", dst = "\(dir!)/\(component)"
        try FileManager.default.createDirectory(atPath: dst, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: src + "/config.json", toPath: dst + "/config.json")
        let f = try SafetensorsFile(path: try ModelSource.weightFiles(in: src, baseNames: [file])[0])
        var out = extra
        for k in f.keys { if let n = rename(k) { out[n] = try f.tensor(k) } }
        try writeSafetensors(out, to: "\(dst)/\(file).safetensors")
        return dst
    }

    func testLegacyVAEAttentionNames() throws {
        let legacy = ["to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"]
        let folder = try rewrite("vae", file: "diffusion_pytorch_model") { k in
            var n = k
            for (new, old) in legacy where k.contains(".attentions.0.\(new).") {
                n = k.replacingOccurrences(of: ".attentions.0.\(new).", with: ".attentions.0.\(old).")
            }
            return n
        }
        let a = try ModelSource(folder: model).loadVAE(), b = try ModelSource(folder: dir).loadVAE()
        let z = TorchGenerator(seed: 1).randn([1, 4, 4, 4])
        XCTAssertEqual(a.decode(z), b.decode(z))
    }

    func testTextEncoderWithoutPrefixAndWithPositionIDs() throws {
        let ids = Tensor(shape: [1, 77], storage: (0..<77).map(Float.init))
        let folder = try rewrite("text_encoder", file: "model", { k in
            k.hasPrefix("text_model.") ? String(k.dropFirst("text_model.".count)) : k
        }, extra: ["embeddings.position_ids": ids])
        let a = try ModelSource(folder: model).loadTextEncoder(), b = try ModelSource(folder: dir).loadTextEncoder()
        let tokens = [[49406, 320, 1125, 49407] + Array(repeating: 0, count: 73)]
        XCTAssertEqual(a(tokens), b(tokens))
    }

    func testUnusedAndMissingKeysAreReportedWithTheFile() throws {
        let extra = try rewrite("vae", file: "diffusion_pytorch_model", { $0 }, extra: ["decoder.surprise.weight": Tensor(zeros: [2])])
        XCTAssertThrowsError(try ModelSource(folder: dir).loadVAE()) { e in
            XCTAssertTrue("\(e)".contains("decoder.surprise.weight") && "\(e)".contains(extra), "\(e)")
        }
        try FileManager.default.removeItem(atPath: extra)
        let missing = try rewrite("vae", file: "diffusion_pytorch_model") { $0 == "decoder.conv_out.bias" ? nil : $0 }
        XCTAssertThrowsError(try ModelSource(folder: dir).loadVAE()) { e in
            XCTAssertTrue("\(e)".contains("decoder.conv_out.bias") && "\(e)".contains(missing), "\(e)")
        }
    }
}

/// Non-finite weights are refused at load, naming the file and the tensor (issue 10).
final class NonFiniteWeightTests: XCTestCase {
    func testNaNWeightIsRefusedByName() throws {
        let path = NSTemporaryDirectory() + "/nan-\(getpid()).safetensors"
        defer { unlink(path) }
        try writeSafetensors(["w": Tensor(shape: [3], storage: [1, .nan, .infinity]), "ok": Tensor(shape: [1], storage: [2])], to: path)
        let store = try WeightStore(files: [path], name: "test")
        XCTAssertEqual(try store.load("ok", shape: [1]).storage, [2])
        XCTAssertThrowsError(try store.load("w", shape: [3])) { e in
            guard case let SDError.badFile(p, message) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(p, path)
            XCTAssertTrue(message.contains("weight w has 2 non-finite"), message)
        }
    }
}
