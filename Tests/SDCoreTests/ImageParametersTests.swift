// The "parameters" text of image files, against what A1111's read_info_from_image gets from Pillow
// (scripts/fixtures_infotext.py → fixtures/infotext/files.json and the images beside it).
import Foundation
@testable import SDCore
import SDTestSupport
import XCTest

final class ImageParametersTests: XCTestCase {
    func testFilesReadAsA1111ReadsThem() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("infotext/files.json")))
        let files = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        XCTAssertGreaterThanOrEqual(files.count, 10)
        for (name, expected) in files.sorted(by: { $0.key < $1.key }) {
            let path = Fixtures.path("infotext/" + name)
            if expected is [String: Any] {
                XCTAssertThrowsError(try ImageIO.readParameters(path: path), name) { err in
                    guard case SDError.badFile = err else { return XCTFail("\(name): \(err)") }
                }
            } else {
                XCTAssertEqual(try ImageIO.readParameters(path: path), expected as? String, name)
            }
        }
    }

    /// sdedit's own outputs read back: Latin-1 text as tEXt, wider text as iTXt, JPEG as UserComment.
    func testOwnOutputsReadBack() throws {
        let im = Image(width: 2, height: 2, channels: 3, samples8: [UInt8](repeating: 9, count: 12))
        for text in ["a wall\nSteps: 2, Seed: 3, CFG scale: 7", "a café wall", "стена 壁 😀\nNegative prompt: x"] {
            let png = try im.encodePNG(text: [("Software", "sdedit"), ("parameters", text)])
            XCTAssertEqual(try ImageText.parameters(in: png, name: "mem"), text)
            var jpeg = try im.encodeJPEG()
            jpeg = EXIF.inserting(EXIF.userCommentSegment(text), intoJPEG: jpeg)!
            XCTAssertEqual(try ImageText.parameters(in: jpeg, name: "mem"), text)
        }
        XCTAssertNil(try ImageText.parameters(in: try im.encodePNG(), name: "mem"))
    }

    /// A tEXt chunk over the limit is refused from its length; broken chunk lists end the walk.
    func testHostileChunks() throws {
        let im = Image(width: 1, height: 1, channels: 1, samples8: [0])
        let png = try im.encodePNG()
        func chunk(_ type: String, _ body: [UInt8]) -> [UInt8] {
            let n = body.count
            return [UInt8(n >> 24 & 255), UInt8(n >> 16 & 255), UInt8(n >> 8 & 255), UInt8(n & 255)] + Array(type.utf8) + body + [0, 0, 0, 0]
        }
        let big = chunk("tEXt", Array("parameters".utf8) + [0] + [UInt8](repeating: 97, count: ImageText.maxTextBytes + 1))
        XCTAssertThrowsError(try ImageText.parameters(in: Array(png[..<33]) + big + Array(png[33...]), name: "big"))
        // A length past the end, a zTXt with a corrupt stream (Pillow: ""), an iTXt with no separators.
        let lying = Array(png[..<33]) + [0x7F, 0xFF, 0xFF, 0xFF] + Array("tEXt".utf8) + Array("parameters".utf8)
        XCTAssertNil(try ImageText.parameters(in: lying, name: "lying"))
        let corrupt = chunk("zTXt", Array("parameters".utf8) + [0, 0, 1, 2, 3])
        XCTAssertEqual(try ImageText.parameters(in: Array(png[..<33]) + corrupt + Array(png[33...]), name: "z"), "")
        let short = chunk("iTXt", Array("parameters".utf8) + [0, 0])
        XCTAssertNil(try ImageText.parameters(in: Array(png[..<33]) + short + Array(png[33...]), name: "i"))
        let file = Array(png[..<33]) + chunk("iTXt", Array("parameters".utf8) + [0, 1, 0, 0, 0, 120, 156, 75, 4, 0]) + Array(png[33...])
        for cut in 0..<file.count { _ = try? ImageText.parameters(in: Array(file.prefix(cut)), name: "cut") }
    }

    func testUserCommentEncodings() {
        XCTAssertEqual(ImageText.decodeUserComment(Array("ASCII\0\0\0ab\u{7F}".utf8)[...] + [0xE9]), "ab\u{7F}\u{FFFD}")
        XCTAssertEqual(ImageText.decodeUserComment((Array("UNICODE\0".utf8) + [0, 0x61, 0xD8, 0x00, 0, 0x62, 0x63])[...]), "a\u{FFFD}b\u{FFFD}")
        // No known prefix: the whole value as UTF-8, invalid bytes dropped (A1111's fallback).
        XCTAssertEqual(ImageText.decodeUserComment(([0, 0, 0, 0, 0, 0, 0, 0] + Array("hé".utf8) + [0xFF])[...]), "\0\0\0\0\0\0\0\0hé")
        XCTAssertEqual(ImageText.decodeUserComment(Array("short".utf8)[...]), "short")
    }

    func testNotAnImage() {
        XCTAssertThrowsError(try ImageIO.readParameters(path: Fixtures.path("infotext/cases.json"))) { err in
            guard case SDError.badFile = err else { return XCTFail("\(err)") }
        }
    }
}
