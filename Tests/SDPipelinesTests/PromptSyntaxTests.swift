// A1111 prompt syntax (--prompt-syntax a1111) against the Python twin of AUTOMATIC1111's prompt code:
// the attention parser (A1111's own docstring examples, edge cases and 400 random prompts), <lora:…>
// tags, open_clip tokenization, and the chunked, emphasized, padded embeddings of the tiny SD 1.x
// (tiny-sd1) and SD 2.x (tiny-sd21-base) text encoders, and img2img on those embeddings against diffusers.
// Fixtures: python scripts/fixtures_prompt.py (or scripts/make_fixtures.py prompt) → fixtures/prompt/.
import Foundation
import SDCore
import SDModels
import SDPipelines
import SDTestSupport
import XCTest

final class PromptSyntaxTests: XCTestCase {
    /// The `key` list of fixtures/prompt/cases.json, read per call: a parsed [String: Any] is not
    /// Sendable, so it cannot be a shared static under Swift 6.
    static func list(_ key: String) -> [[String: Any]] {
        let data = try! Data(contentsOf: URL(fileURLWithPath: Fixtures.path("prompt/cases.json")))
        return (try! JSONSerialization.jsonObject(with: data) as! [String: Any])[key] as! [[String: Any]]
    }

    /// Floats are written as Python repr() text, read here correctly rounded (ints, BREAK's −1, as numbers).
    func number(_ json: Any) -> Double { (json as? String).map { Double($0)! } ?? (json as! NSNumber).doubleValue }

    func pieces(_ json: Any) -> [WeightedText] {
        (json as! [[Any]]).map { WeightedText($0[0] as! String, number($0[1])) }
    }

    /// modules/prompt_parser.py's docstring, verbatim.
    func testA1111DocstringExamples() throws {
        let examples: [(String, [WeightedText])] = [
            ("normal text", [.init("normal text", 1.0)]),
            ("an (important) word", [.init("an ", 1.0), .init("important", 1.1), .init(" word", 1.0)]),
            ("(unbalanced", [.init("unbalanced", 1.1)]),
            ("\\(literal\\]", [.init("(literal]", 1.0)]),
            ("(unnecessary)(parens)", [.init("unnecessaryparens", 1.1)]),
            ("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).", [
                .init("a ", 1.0), .init("house", 1.5730000000000004), .init(" ", 1.1), .init("on", 1.0), .init(" a ", 1.1),
                .init("hill", 0.55), .init(", sun, ", 1.1), .init("sky", 1.4641000000000006), .init(".", 1.1)]),
        ]
        for (prompt, want) in examples { XCTAssertEqual(try PromptAttention.parse(prompt), want, prompt) }
    }

    func testParserMatchesTwin() throws {
        let cases = Self.list("parser")
        XCTAssertGreaterThan(cases.count, 400)
        var errors = 0
        for c in cases {
            let prompt = c["prompt"] as! String
            if c["parsed"] is NSNull {
                XCTAssertThrowsError(try PromptAttention.parse(prompt), prompt)
                errors += 1
            } else {
                XCTAssertEqual(try PromptAttention.parse(prompt), pieces(c["parsed"]!), prompt.debugDescription)
            }
        }
        XCTAssertGreaterThan(errors, 0)
        XCTAssertTrue(try PromptAttention.parse("(a BREAK b)")[1].text == "BREAK" && !PromptAttention.parse("(a BREAK b)")[1].isBreak)
    }

    func testLoRATags() throws {
        for c in Self.list("lora") {
            let prompt = c["prompt"] as! String
            let got = try ExtraNetworks.parse(prompt)
            XCTAssertEqual(got.prompt, c["stripped"] as! String, prompt)
            let want = (c["loras"] as! [[Any]]).map {
                LoRATag(name: $0[0] as! String, weight: number($0[1]), unetWeight: number($0[2]))
            }
            XCTAssertEqual(got.loras, want, prompt)
            XCTAssertEqual(got.others, c["others"] as! [String], prompt)
        }
        XCTAssertThrowsError(try ExtraNetworks.parse("<lora:x:heavy>"))
    }

    func testOpenCLIPTokenization() throws {
        let tok = try CLIPTokenizer(folder: Fixtures.path("models/tiny-sd21-base/tokenizer"))
        for c in Self.list("open_clip_tokens") {
            let prompt = c["prompt"] as! String
            XCTAssertEqual(tok.openCLIPTokenIDs(prompt), c["ids"] as! [Int], prompt.debugDescription)
        }
    }

    func testEmbeddingsMatchTwin() throws {
        let golden = try Fixtures.file("prompt/goldens.safetensors")
        var models: [String: StableDiffusionModel] = [:]
        var checked = 0
        for c in Self.list("embeddings") {
            let name = c["name"] as! String, folder = c["model"] as! String
            let model = try models[folder] ?? StableDiffusionModel(folder: Fixtures.path("models/\(folder)"))
            models[folder] = model
            let prompt = c["prompt"] as! String, negative = c["negative"] as? String, guidance = c["guidance"] as! Bool
            // Chunks: ids and multipliers exactly.
            let enc = A1111PromptEncoder(tokenizer: model.tokenizer)
            XCTAssertEqual(enc.embedder, folder == "tiny-sd1" ? .clip : .openCLIP)
            func chunks(_ json: Any?) -> [PromptChunk] {
                (json as! [[String: Any]]).map {
                    PromptChunk(tokens: $0["tokens"] as! [Int], multipliers: ($0["multipliers"] as! [Any]).map { Float(number($0)) })
                }
            }
            XCTAssertEqual(try enc.chunks(try ExtraNetworks.parse(prompt).prompt), chunks(c["cond"]), "\(name) prompt chunks")
            if guidance { XCTAssertEqual(try enc.chunks(negative ?? ""), chunks(c["uncond"]), "\(name) negative chunks") }
            let got = try model.encodePrompt(prompt, negative: negative, guidance: guidance, syntax: .a1111)
            let want = try golden.tensor(name)
            print("prompt \(name): \(want.shape) max |Δ| \(compare(got, want, Tolerances.exact).maxAbs)")
            assertClose(got, want, Tolerances.promptEmphasis, name)
            checked += 1
        }
        XCTAssertEqual(checked, 18)
    }

    /// diffusers' StableDiffusionImg2ImgPipeline given the twin's multi-chunk embeddings (prompt_embeds,
    /// negative_prompt_embeds) against Img2ImgPipeline with --prompt-syntax a1111: final latents.
    func testImg2ImgWithChunkedPromptsMatchesDiffusers() throws {
        let golden = try Fixtures.file("prompt/goldens.safetensors")
        let image = try ImageIO.read(Fixtures.path("img2img/ddim_v.png")).rgb8().toTensor()
        let embeddings = Self.list("embeddings")
        for (folder, key) in [("tiny-sd1", "sd1"), ("tiny-sd21-base", "sd2")] {
            let pipe = try Img2ImgPipeline(model: StableDiffusionModel(folder: Fixtures.path("models/\(folder)")))
            for name in ["long_emphasis", "break", "long_negative"] {
                let c = try XCTUnwrap(embeddings.first { $0["name"] as? String == "\(key).\(name)" })
                var r = Img2ImgRequest(prompt: c["prompt"] as! String, strength: 0.8)
                r.negativePrompt = c["negative"] as? String
                r.steps = 6
                r.seed = 31
                let got = try pipe.latents(image: image, r)
                let want = try golden.tensor("\(key).\(name).latents")
                print("prompt img2img \(key).\(name): latents max |Δ| \(compare(got, want, Tolerances.exact).maxAbs)")
                assertClose(got, want, Tolerances.pipelineLatents, "\(key).\(name) latents")
            }
        }
    }

    /// No syntax, at most 75 tokens: both syntaxes give the same embeddings, bit for bit.
    func testPlainPromptIsTheSameEitherWay() throws {
        for folder in ["tiny-sd1", "tiny-sd21-base"] {
            let model = try StableDiffusionModel(folder: Fixtures.path("models/\(folder)"))
            for (p, n) in [("a red brick wall", nil), ("a watercolor painting, 8k", "blurry, low quality")] as [(String, String?)] {
                for cfg in [true, false] {
                    let a = try model.encodePrompt(p, negative: n, guidance: cfg, syntax: .a1111)
                    let d = try model.encodePrompt(p, negative: n, guidance: cfg, syntax: .diffusers)
                    assertClose(a, d, Tolerances.exact, "\(folder) \(p)")
                }
            }
        }
    }
}
