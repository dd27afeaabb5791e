// PNGText against a file Pillow wrote (scripts/fuzz/corpus/pngtext/a1111.png: PngInfo.add_text
// "parameters" and add_itxt "comment", lang "de"): the pairs Pillow's Image.text gives.
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class PNGTextTests: XCTestCase {
    func testReadsTEXtAndITXtAsPillowWroteThem() throws {
        let path = Fixtures.root + "/../scripts/fuzz/corpus/pngtext/a1111.png"
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let chunks = PNGText.chunks(bytes)
        XCTAssertEqual(chunks.map(\.0), ["parameters", "comment"])
        XCTAssertEqual(chunks.first?.1, "a cat, (masterpiece:1.2)\nNegative prompt: dog\nSteps: 20, Sampler: Euler a, CFG scale: 7.0, "
                       + "Seed: 3, Size: 64x32, Model: \"x, \\\"y\\\"\", Lora hashes: \"a: 123\"")
        XCTAssertEqual(chunks.last?.1, "ünïcode text")
        // Truncated inside a chunk, or not a PNG: what was read whole, or nothing.
        XCTAssertEqual(PNGText.chunks(Array(bytes.prefix(60))).count, 0)
        XCTAssertEqual(PNGText.chunks(Array("parameters".utf8)).count, 0)
    }

    func testOwnEncoderRoundTrips() throws {
        let png = try Image(width: 1, height: 1, channels: 3, samples: [1, 2, 3]).encodePNG(text: [("parameters", "p\nSteps: 1")])
        XCTAssertEqual(PNGText.chunks(png).first?.1, "p\nSteps: 1")
    }
}
