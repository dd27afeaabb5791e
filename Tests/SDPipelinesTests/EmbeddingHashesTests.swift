// A1111's `TI hashes` infotext field (SDPipelines/EmbeddingHashes.swift). Fixture: scripts/make_fixtures.py
// lora (scripts/fixtures_lora.py embedding_hashes) → fixtures/lora/ti_hashes.json: hashlib's SHA-256 of
// each file of fixtures/lora/embeddings/, first 12 digits (A1111 textual_inversion.py set_hash).
import Foundation
import SDCore
import SDModels
import SDPipelines
import SDTestSupport
import XCTest

final class EmbeddingHashesTests: XCTestCase {
    /// `TI hashes`: the embeddings the prompt, then the negative prompt, use, each once, with
    /// A1111's short hash (SHA-256 of the whole file, from Python's hashlib).
    func testTIHashesField() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("lora/ti_hashes.json")))
        let h = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: String])
        XCTAssertEqual(h.count, 3)
        let s = ModelSource(folder: Fixtures.path("models/tiny-sd21-base"))
        let embeddings = try TextualInversion.folder(Fixtures.path("lora/embeddings"))
        for e in embeddings { XCTAssertEqual(try e.shortHash(), h[e.name], e.name) }
        try s.addEmbeddings(embeddings)
        let tok = try s.tokenizer()
        func field(_ p: String, _ n: String?, _ syntax: PromptSyntax = .a1111) throws -> String? {
            let f = try EmbeddingHashes.infotextField(prompt: p, negative: n, syntax: syntax, tokenizer: tok, embeddings: embeddings)
            if let f { XCTAssertEqual(f.0, "TI hashes") }
            return f?.1
        }
        let (m, sun, learned) = (h["mytok"]!, h["sunsetstyle"]!, h["learnedtok"]!)
        XCTAssertEqual(try field("a watercolor painting of mytok in sunsetstyle style, learnedtok", nil),
                       "mytok: \(m), sunsetstyle: \(sun), learnedtok: \(learned)")
        XCTAssertEqual(try field("(learnedtok:1.2) <lora:x:0.5> and learnedtok", "blurry, sunsetstyle, learnedtok"),
                       "learnedtok: \(learned), sunsetstyle: \(sun)")
        // A later vector's own token (sunsetstyle_1) belongs to its embedding.
        XCTAssertEqual(try field("a sunsetstyle_1 sky", ""), "sunsetstyle: \(sun)")
        XCTAssertNil(try field("a watercolor painting", "blurry"))
        // diffusers syntax keeps the first 77 tokens: an embedding after them is not used.
        let long = Array(repeating: "red", count: 80).joined(separator: " ") + " mytok"
        XCTAssertNil(try field(long, nil, .diffusers))
        XCTAssertEqual(try field(long, nil, .a1111), "mytok: \(m)")
    }
}
