// A1111 infotext parse and format against the Python twin of parse_generation_parameters, quote()
// and create_infotext's line (scripts/fixtures_infotext.py → fixtures/infotext/cases.json and
// charclasses.json, Python's \w and \s as code-point ranges).
import Foundation
@testable import SDPipelines
import SDTestSupport
import XCTest

final class InfotextTests: XCTestCase {
    private func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("infotext/" + name)))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    private func pairs(_ any: Any?) -> [[String]] { (any as! [[String]]) }

    private func check(_ t: Infotext, _ expected: [String: Any], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(t.prompt, expected["prompt"] as? String, "prompt of \(label)", file: file, line: line)
        XCTAssertEqual(t.negativePrompt, expected["negative"] as? String, "negative prompt of \(label)", file: file, line: line)
        XCTAssertEqual(t.fields.map { [$0.key, $0.value] }, pairs(expected["fields"]), "fields of \(label)", file: file, line: line)
    }

    func testParseMatchesA1111() throws {
        let cases = try json("cases.json")["parse"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(cases.count, 20)
        for c in cases {
            let text = c["text"] as! String
            let label = String(text.prefix(40)).debugDescription
            let t = Infotext.parse(text)
            check(t, c, label)
            XCTAssertEqual(t.a1111Values.map { [$0.key, $0.value] }, pairs(c["res"]), "A1111 dict of \(label)")
            let formatted = t.formatted()
            XCTAssertEqual(formatted, c["formatted"] as? String, "formatted \(label)")
            check(Infotext.parse(formatted), c["reparsed"] as! [String: Any], "reparsed \(label)")
        }
    }

    /// 400 seeded random texts from fragments that exercise every rule (fixtures_infotext.py FRAGMENTS).
    func testRandomTextsMatchA1111() throws {
        let cases = try json("cases.json")["random"] as! [[String: Any]]
        XCTAssertEqual(cases.count, 400)
        for c in cases {
            let text = c["text"] as! String
            let t = Infotext.parse(text)
            check(t, c, text.debugDescription)
            XCTAssertEqual(t.a1111Values.map { [$0.key, $0.value] }, pairs(c["res"]), "A1111 dict of \(text.debugDescription)")
            XCTAssertEqual(t.formatted(), c["formatted"] as? String, "formatted \(text.debugDescription)")
            check(Infotext.parse(t.formatted()), c["reparsed"] as! [String: Any], "reparsed \(text.debugDescription)")
        }
    }

    func testFormattedQuotesAsA1111() throws {
        for c in try json("cases.json")["format"] as! [[String: Any]] {
            let t = Infotext(prompt: c["prompt"] as! String, negativePrompt: c["negative"] as! String,
                             fields: pairs(c["fields"]).map { ($0[0], $0[1]) })
            XCTAssertEqual(t.formatted(), c["formatted"] as? String)
            check(Infotext.parse(t.formatted()), c["reparsed"] as! [String: Any], t.prompt)
        }
    }

    /// A text sdedit writes reads back to the same value (no bare key, no empty value).
    func testRoundTrip() {
        let t = Infotext(prompt: "a red brick wall, (ivy:1.2)\nsecond line", negativePrompt: "blurry, \"text\"",
                         fields: [("Steps", "20"), ("Sampler", "DPM++ 2M"), ("Schedule type", "Karras"), ("CFG scale", "7.5"),
                                  ("Seed", "3"), ("Size", "512x768"), ("Lora hashes", "a: 1, b: 2"), ("Note", "x\\y \"z\"\nw")])
        XCTAssertEqual(Infotext.parse(t.formatted()), t)
        let again = Infotext.parse(t.formatted())
        XCTAssertEqual([again.width, again.height], [512, 768])
    }

    /// The typed accessors read what A1111's dict holds (the golden "res"), as numbers.
    func testTypedAccessorsFollowTheDict() throws {
        for c in try json("cases.json")["parse"] as! [[String: Any]] {
            let t = Infotext.parse(c["text"] as! String)
            let res = Dictionary(pairs(c["res"]).map { ($0[0], $0[1]) }, uniquingKeysWith: { $1 })
            XCTAssertEqual(t.steps, res["Steps"].flatMap { Int($0) })
            XCTAssertEqual(t.cfgScale, res["CFG scale"].flatMap { Double($0) })
            XCTAssertEqual(t.seed, res["Seed"].flatMap { UInt64($0.trimmingCharacters(in: .whitespaces)) })
            XCTAssertEqual(t.width, res["Size-1"].flatMap { Int($0) })
            XCTAssertEqual(t.height, res["Size-2"].flatMap { Int($0) })
            XCTAssertEqual(t.samplerName, res["Sampler"])
            XCTAssertEqual(t.scheduleType, res["Schedule type"])
            XCTAssertEqual(t.model, res["Model"])
            XCTAssertEqual(t.denoisingStrength, res["Denoising strength"].flatMap { Double($0) })
        }
        let t = Infotext.parse((try json("cases.json")["parse"] as! [[String: Any]])[1]["text"] as! String)
        XCTAssertEqual(t.steps, 30)
        XCTAssertEqual(t.seed, 1234567890)
        XCTAssertEqual([t.width, t.height], [512, 768])
        XCTAssertEqual(SchedulerKind(a1111Name: t.samplerName!, scheduleType: t.scheduleType), .dpm2mKarras)
    }

    func testSettingsForAJob() throws {
        let text = (try json("cases.json")["parse"] as! [[String: Any]])[2]["text"] as! String
        let s = try Infotext.parse(text).settings(source: "in.png")
        XCTAssertEqual(s, InfotextSettings(prompt: "a castle on a hill, sunset", negativePrompt: "blurry", seed: 42, steps: 25,
                                           cfgScale: 6.5, scheduler: .dpm2mKarras, width: 768, height: 512, denoisingStrength: 0.55))
        let bare = try Infotext.parse("just a prompt").settings(source: "in.png")
        XCTAssertEqual(bare, InfotextSettings(prompt: "just a prompt"))
        for (line, key) in [("Steps: x, Seed: 1, CFG scale: 7", "Steps"), ("Steps: 2, Sampler: UniPC, Seed: 1", "Sampler"),
                            ("Steps: 2, Sampler: DPM++ 2M, Schedule type: Exponential", "Schedule type"),
                            ("Steps: 2, Seed: -1, CFG scale: 7", "Seed"), ("Steps: 2, Size: 512, CFG scale: 7", "Size")] {
            XCTAssertThrowsError(try Infotext.parse("p\n" + line).settings(source: "in.png")) { err in
                XCTAssertTrue("\(err)".hasPrefix("in.png: parameters field \"\(key):"), "\(err)")
            }
        }
    }

    private func table(_ ranges: Any?) -> [Bool] {
        var t = [Bool](repeating: false, count: 0x110000)
        for r in ranges as! [[Int]] { for c in r[0]...r[1] { t[c] = true } }
        return t
    }

    func testCharacterClassesMatchPython() throws {
        let classes = try json("charclasses.json")
        for (name, pred) in [("word", Infotext.isWord), ("space", Infotext.isSpace)] as [(String, (Unicode.Scalar) -> Bool)] {
            let inClass = table(classes[name]), unassigned = table(classes["unassigned"])
            var mismatches: [String] = []
            for c in 0..<0x110000 {
                guard let s = Unicode.Scalar(UInt32(c)) else { continue }
                // Characters assigned after the Python's Unicode version (fixture "unicode") may differ.
                if pred(s) != inClass[c] && !unassigned[c] { mismatches.append(String(c, radix: 16)) }
            }
            XCTAssertEqual(mismatches, [], "\(name) differs from Python's (Unicode \(classes["unicode"]!))")
        }
    }

    /// Hostile lines stay linear: a long key run without a colon, many quotes, many pairs.
    func testLongHostileTextsAreFast() {
        let start = Date()
        let texts = [String(repeating: "a", count: 1 << 20), String(repeating: "ab cd-", count: 1 << 17) + ":",
                     String(repeating: "k: \"x, ", count: 1 << 16), String(repeating: "k: v, ", count: 1 << 16),
                     String(repeating: "\\\"", count: 1 << 18), String(repeating: "\n", count: 1 << 18)]
        for text in texts { _ = Infotext.parse("p\n" + text).formatted() }
        XCTAssertLessThan(Date().timeIntervalSince(start), 30)
    }
}
