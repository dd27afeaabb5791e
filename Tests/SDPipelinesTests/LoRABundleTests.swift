// Embeddings bundled in a LoRA file (`bundle_emb.NAME.…`, AUTOMATIC1111 ≥ 1.7,
// extensions-builtin/Lora/networks.py). Fixtures: scripts/make_fixtures.py lorabundle
// (scripts/fixtures_lora_bundle.py) → fixtures/lora/bundled.safetensors (kohya_locon + three bundled
// embeddings) and bundled.goldens.safetensors (diffusers: fuse_lora of kohya_locon and
// load_textual_inversion of the folder's embeddings and of the two bundled vectors A1111 registers).
import Foundation
import SDCore
import SDModels
import SDPipelines
import SDTestSupport
import XCTest

extension LoRATests {
    static let bundlePrompt = "a watercolor painting of bundletok and bundleone in sunsetstyle style"

    /// --lora bundled.safetensors with --embeddings: the LoRA merges, its embeddings join the prompt's
    /// vocabulary, the folder's sunsetstyle wins over the bundled one; the image is diffusers'.
    func testBundledEmbeddingsMatchDiffusers() throws {
        let golden = try Fixtures.file("lora/bundled.goldens.safetensors")
        let s = ModelSource(folder: Fixtures.path("models/tiny-sd21-base"))
        try s.addLoRAs([LoRASpec(path: Fixtures.path("lora/bundled.safetensors"))])
        try s.addEmbeddings(TextualInversion.folder(Fixtures.path("lora/embeddings")))
        XCTAssertEqual(s.embeddings.map(\.name), ["learnedtok", "mytok", "sunsetstyle", "bundleone", "bundletok"])
        XCTAssertEqual(s.embeddings.map { $0.vectors.shape[0] }, [1, 1, 3, 1, 2])
        XCTAssertEqual(s.embeddings.map(\.bundledIn), [nil, nil, nil, "bundled", "bundled"])
        XCTAssertEqual(s.skippedBundledEmbeddings, ["sunsetstyle (in bundled)"])
        let (latents, out) = try img2img(StableDiffusionModel(source: s), Self.bundlePrompt)
        try check("bundled", latents, out, golden)
        // The bundled embeddings matter: the LoRA and the folder alone land far from the golden.
        let plain = ModelSource(folder: Fixtures.path("models/tiny-sd21-base"))
        try plain.addLoRAs([LoRASpec(path: Fixtures.path("lora/kohya_locon.safetensors"))])
        try plain.addEmbeddings(TextualInversion.folder(Fixtures.path("lora/embeddings")))
        let without = try img2img(StableDiffusionModel(source: plain), Self.bundlePrompt).0
        XCTAssertGreaterThan(compare(without, try golden.tensor("bundled.latents"), Tolerances.exact).maxAbs, 0.05)
    }

    /// A1111's rules: without a folder the bundled sunsetstyle is used; of two LoRAs bundling one name
    /// the first wins; `TI hashes` gives a bundled embedding its LoRA's name.
    func testBundledEmbeddingRules() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sdedit-bundle-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bundled = Fixtures.path("lora/bundled.safetensors")
        let f = try SafetensorsFile(path: bundled)
        var other: [String: Tensor] = [:]
        for k in f.keys where k.hasPrefix("lora_te_text_model_encoder_layers_0_mlp_fc1") { other[k] = try f.tensor(k) }
        other["bundle_emb.bundletok.emb_params"] = Tensor(repeating: 0.25, shape: [4, 32])
        try writeSafetensors(other, to: dir + "/second.safetensors")
        let s = ModelSource(folder: Fixtures.path("models/tiny-sd21-base"))
        try s.addLoRAs([LoRASpec(path: bundled, weight: 0.5), LoRASpec(path: dir + "/second.safetensors")])
        // A file's embeddings come in its header's (sorted) key order.
        XCTAssertEqual(s.embeddings.map(\.name), ["bundleone", "bundletok", "sunsetstyle"])
        XCTAssertEqual(s.embeddings[1].vectors, try f.tensor("bundle_emb.bundletok.string_to_param.*").reshaped([2, 32]))
        XCTAssertEqual(s.embeddings[2].vectors.shape, [1, 32])
        XCTAssertEqual(s.skippedBundledEmbeddings, ["bundletok (in second)"])
        let field = try XCTUnwrap(EmbeddingHashes.infotextField(prompt: "bundletok and sunsetstyle", negative: "bundleone",
                                                                syntax: .a1111, tokenizer: s.tokenizer(), embeddings: s.embeddings))
        XCTAssertEqual(field.0, "TI hashes")
        XCTAssertEqual(field.1, "bundletok: bundled, sunsetstyle: bundled, bundleone: bundled")
        // The file's LoRA part still merges; the embedding keys are not modules.
        XCTAssertEqual(try LoRAFile(path: bundled).moduleNames.count, try LoRAFile(path: Fixtures.path("lora/kohya_locon.safetensors")).moduleNames.count)
    }

    /// Hostile bundled embeddings: one badFile line naming the file and the problem (exit 65).
    func testHostileBundledEmbeddingsFail() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sdedit-badbundle-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let v = Tensor(repeating: 0.1, shape: [2, 32])
        let cases: [(String, [String: Tensor], [String])] = [
            ("wide", ["bundle_emb.x.string_to_param.*": Tensor(zeros: [2, 48])], ["embedding x bundled", "48 wide", "32"]),
            ("nan", ["bundle_emb.x.emb_params": Tensor(repeating: .nan, shape: [2, 32])], ["bundle_emb.x.emb_params", "non-finite"]),
            ("absurd", ["bundle_emb.x.string_to_param.*": Tensor(zeros: [1000, 32])], ["[1000, 32]", "≤ 75"]),
            ("second", ["bundle_emb.x.string_to_param.*": v, "bundle_emb.x.extra": v], ["second tensor", "bundle_emb.x"]),
            ("bare", ["bundle_emb.x": v], ["bundle_emb.x", "bundle_emb.NAME.string_to_param"]),
            ("noparam", ["bundle_emb.x.string_to_param": v], ["bundle_emb.x.string_to_param", "bundle_emb.NAME"]),
            ("sdxl", ["bundle_emb.x.clip_l": Tensor(zeros: [2, 768])], ["SDXL"]),
            ("spaced", ["bundle_emb.a b.emb_params": v], ["one word"]),
        ]
        for (name, tensors, words) in cases {
            let p = dir + "/\(name).safetensors"
            try writeSafetensors(tensors, to: p)
            expectBadFile(containing: [name + ".safetensors"] + words) {
                try ModelSource(folder: Fixtures.path("models/tiny-sd21-base")).addLoRAs([LoRASpec(path: p)])
            }
        }
    }
}
