// --prompt-syntax end to end (img2img on the tiny SD 1.x and SD 2.1-base models): a plain prompt gives
// the same image either way; a long emphasized prompt runs in chunks under a1111 and is cut (with a
// warning) under diffusers; a weight A1111 cannot read is a usage error; <lora:…> tags are taken out
// of the prompt with a warning and kept in the PNG parameters text.
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class PromptSyntaxCLITests: CLITestCase {
    let image = Fixtures.path("img2img/ddim_v.png")

    func img2img(_ model: String, _ prompt: String, _ out: String, _ extra: [String] = []) throws -> (status: Int32, stdout: Data, stderr: String) {
        try run(["img2img", image, prompt, "--model", Fixtures.path("models/\(model)"), "--steps", "2", "--seed", "5",
                 "--precision", "fp32", "-o", dir + "/" + out] + extra)
    }

    func pixels(_ name: String) throws -> [UInt8] { try ImageIO.read(dir + "/" + name).samples8 }

    func testSyntaxes() throws {
        let long = Array(repeating: "a (tall:1.2) tower, [fog]", count: 12).joined(separator: ", ")
        for m in ["tiny-sd1", "tiny-sd21-base"] {
            var r = try img2img(m, "a red brick wall", "\(m)-a.png", ["--negative-prompt", "blurry"])
            XCTAssertEqual(r.status, 0, r.stderr)
            r = try img2img(m, "a red brick wall", "\(m)-d.png", ["--negative-prompt", "blurry", "--prompt-syntax", "diffusers"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try pixels("\(m)-a.png"), try pixels("\(m)-d.png"), "\(m): plain prompt differs between syntaxes")

            r = try img2img(m, long, "\(m)-long-a.png")
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertFalse(r.stderr.contains("warning"), r.stderr)
            r = try img2img(m, long, "\(m)-long-d.png", ["--prompt-syntax", "diffusers"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stderr.contains("warning: the prompt is") && r.stderr.contains("drops the rest"), r.stderr)
            XCTAssertNotEqual(try pixels("\(m)-long-a.png"), try pixels("\(m)-long-d.png"))
        }
    }

    func testBadWeightAndLoRATags() throws {
        var r = try img2img("tiny-sd1", "a (tower:1.2.3)", "bad.png")
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.split(separator: "\n").last?.contains("emphasis weight '1.2.3' is not a number") == true, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/bad.png"))
        // The diffusers syntax reads the same text literally.
        r = try img2img("tiny-sd1", "a (tower:1.2.3)", "literal.png", ["--prompt-syntax", "diffusers", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)

        // A <lora:NAME:W> tag loads NAME.safetensors from --lora-dir: the same image as --lora PATH:W on
        // the text without the tag; the PNG keeps the prompt as typed.
        let loras = Fixtures.path("lora")
        r = try img2img("tiny-sd21-base", "a castle <lora:peft:0.7> at night", "lora.png", ["--lora-dir", loras, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let png = try ImageIO.readBytes(dir + "/lora.png")
        XCTAssertNotNil(png.firstRange(of: Array("parameters\u{0}a castle <lora:peft:0.7> at night\nSteps: 2".utf8)))
        r = try img2img("tiny-sd21-base", "a castle  at night", "option.png", ["--lora", loras + "/peft.safetensors:0.7", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try pixels("lora.png"), try pixels("option.png"), "the tag and --lora differ")
        r = try img2img("tiny-sd21-base", "a castle  at night", "nolora.png", ["-q"])
        XCTAssertNotEqual(try pixels("lora.png"), try pixels("nolora.png"), "the tag's LoRA was not applied")
        // A tag naming no file in the folder fails before any work, naming the file.
        r = try img2img("tiny-sd21-base", "a castle <lora:nosuch:1>", "missing.png", ["--lora-dir", loras])
        XCTAssertEqual(r.status, 66, r.stderr)
        XCTAssertTrue(r.stderr.contains("nosuch"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/missing.png"))
    }

    /// In --batch, each line's <lora:NAME:W> tags load their LoRA for that line only (the model is
    /// loaded again only when a line's LoRA set differs): the same pixels as the single commands.
    func testBatchLinesLoadTheirTags() throws {
        let loras = Fixtures.path("lora")
        XCTAssertEqual(try img2img("tiny-sd21-base", "a castle <lora:peft:0.7> at night", "single.png", ["--lora-dir", loras, "-q"]).status, 0)
        XCTAssertEqual(try img2img("tiny-sd21-base", "a castle at night", "plain.png", ["-q"]).status, 0)
        let jobs = [["image": image, "prompt": "a castle <lora:peft:0.7> at night", "output": dir + "/b1.png", "seed": 5],
                    ["image": image, "prompt": "a castle at night", "output": dir + "/b2.png", "seed": 5]]
        let lines = try jobs.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
        try lines.joined(separator: "\n").write(toFile: dir + "/jobs.jsonl", atomically: true, encoding: .utf8)
        let r = try run(["img2img", "--batch", dir + "/jobs.jsonl", "--model", Fixtures.path("models/tiny-sd21-base"), "--steps", "2",
                         "--precision", "fp32", "--lora-dir", loras])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try pixels("b1.png"), try pixels("single.png"), "the batch line's tag was not applied")
        XCTAssertEqual(try pixels("b2.png"), try pixels("plain.png"), "the previous line's LoRA leaked into the next")
    }
}
