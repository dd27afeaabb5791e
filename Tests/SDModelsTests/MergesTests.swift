import Foundation
import SDTestSupport
@testable import SDModels
import XCTest

/// merges.txt's byte-level reader gives the merges that splitting the String by Characters gave
/// (the reader it replaced), and refuses what that refused.
final class MergesTests: XCTestCase {
    /// The Character-based reader, as CLIPTokenizer had it: lines split at "\n" (so "\r\n", one
    /// Character, never splits), "#version" lines skipped, two space-separated parts per line.
    func characterReader(_ text: String) -> [String]? {
        var merges: [String] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#version") {
            guard line.split(separator: " ").count == 2 else { return nil }
            merges.append(String(line))
        }
        return merges
    }

    func testTheRealMergesReadAsByCharacters() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("models/tiny-sd2-inpainting/tokenizer/merges.txt")))
        let text = try XCTUnwrap(String(data: data, encoding: .utf8))
        let merges = try CLIPTokenizer.parseMerges(text, path: "merges.txt")
        XCTAssertEqual(merges.count, 48894)
        XCTAssertEqual(merges.first, "i n")
        XCTAssertEqual(merges, characterReader(text))
    }

    func testBlankLinesVersionSpacesAndNoFinalNewline() throws {
        for text in ["#version: 0.2\n\na b\n\n\nth e</w>", "a  b\n c d \n", "é ü\n😀 x</w>\n", "", "\n\n"] {
            XCTAssertEqual(try CLIPTokenizer.parseMerges(text, path: "m"), characterReader(text), text)
        }
        XCTAssertEqual(try CLIPTokenizer.parseMerges("#version: 0.2\n\na b\n\nth e</w>", path: "m"), ["a b", "th e</w>"])
    }

    func testBadLinesAndCarriageReturnsAreRefused() {
        for text in ["a b\nbad\n", "a b c\n", "a b\r\nc d\r\n", " \n", "a\n"] {
            XCTAssertNil(characterReader(text), text)
            XCTAssertThrowsError(try CLIPTokenizer.parseMerges(text, path: "m"), text) { error in
                XCTAssertTrue("\(error)".contains("bad merge line"), "\(error)")
            }
        }
    }
}
