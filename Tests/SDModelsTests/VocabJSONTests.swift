import Foundation
import SDTestSupport
@testable import SDModels
import XCTest

/// vocab.json's reader gives what JSONSerialization gives, or nothing (and JSONSerialization is
/// asked instead).
final class VocabJSONTests: XCTestCase {
    func slow(_ text: String) -> [String: Int]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Int]
    }

    func testTheRealVocabularyReadsAsJSONSerializationReadsIt() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("models/tiny-sd2-inpainting/tokenizer/vocab.json")))
        let fast = try XCTUnwrap(VocabJSON.parse(data))
        XCTAssertEqual(fast.count, 49408)
        XCTAssertEqual(fast, (try JSONSerialization.jsonObject(with: data)) as? [String: Int])
    }

    func testEscapesSpacesAndEmpty() throws {
        let cases = [#"{"a</w>": 0, "\u00e9": 1, "\"q\\": 2, "\ud83d\ude00": 3, "\/\b\f\n\r\t": 4, "Ã©": 5}"#,
                     " {\n  \"x\" : 10 ,\n  \"y\":-2\n}\n", "{}", #"{"0": 0}"#]
        for text in cases {
            let fast = try XCTUnwrap(VocabJSON.parse(Data(text.utf8)), text)
            XCTAssertEqual(fast, slow(text), text)
        }
        XCTAssertEqual(VocabJSON.parse(Data(#"{"\ud83d\ude00": 3}"#.utf8)), ["😀": 3])
    }

    /// Anything past the plain form is left to JSONSerialization: fractions and exponents (which it
    /// may still take as integers), duplicates, lone surrogates, nesting, trailing bytes, bad UTF-8.
    func testAnythingElseIsLeftToJSONSerialization() {
        let cases = [#"{"a": 1.0}"#, #"{"a": 1e2}"#, #"{"a": 1, "a": 2}"#, #"{"\ud800": 1}"#, #"{"\udc00": 1}"#,
                     #"{"a": {"b": 1}}"#, #"{"a": 1} x"#, #"{"a": 01}"#, #"{"a": true}"#, #"{"a": "1"}"#,
                     #"{"a": 1,}"#, #"["a"]"#, "{\"a\n\": 1}", #"{"a": 1234567890123456}"#, ""]
        for text in cases { XCTAssertNil(VocabJSON.parse(Data(text.utf8)), text) }
        XCTAssertNil(VocabJSON.parse(Data([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D])), "invalid UTF-8")
    }
}
