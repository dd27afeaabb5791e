// Mask: binarising a mask image (Pillow's integer luma, alpha, 16-bit, inversion), crop and pad,
// grow/shrink on known masks, the latent-level tensor, and resizing against diffusers' mask
// processor (scripts/make_fixtures.py maskresize → fixtures/inpaint/mask_resize.json).
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class MaskTests: XCTestCase {
    func testBinarisingThresholdsAtHalfOnLumaOrAlpha() throws {
        // Luma 128 repaints, 127 keeps (value / 255 ≥ 0.5).
        let rgb = Image(width: 3, height: 1, channels: 3, samples8: [255, 255, 255, 128, 128, 128, 127, 127, 127])
        XCTAssertEqual(try Mask(binarising: rgb).values, [1, 1, 0])
        XCTAssertEqual(try Mask(binarising: rgb, invert: true).values, [0, 0, 1])
        let rgba = Image(width: 2, height: 1, channels: 4, samples8: [0, 0, 0, 255, 255, 255, 255, 0])
        XCTAssertEqual(try Mask(binarising: rgba, channel: .alpha).values, [1, 0])
        XCTAssertEqual(try Mask(binarising: rgba).values, [0, 1], "luminance ignores alpha")
        XCTAssertThrowsError(try Mask(binarising: rgb, channel: .alpha))
        let deep = Image(width: 2, height: 1, channels: 1, samples16: [65535, 1000])
        XCTAssertEqual(try Mask(binarising: deep).values, [1, 0])
    }

    func testCropPadCountAndTensor() {
        let m = Mask(width: 4, height: 3) { x, y in x == 1 || y == 2 }
        XCTAssertEqual(m.values, [0, 1, 0, 0,
                                  0, 1, 0, 0,
                                  1, 1, 1, 1])
        XCTAssertEqual(m.repaintCount, 6)
        XCTAssertFalse(m.isEmpty)
        XCTAssertTrue(Mask(width: 2, height: 2, values: [0, 0, 0, 0]).isEmpty)
        XCTAssertEqual(Mask(width: 2, height: 1, values: [0, 9]).values, [0, 1], "nonzero counts as repaint")
        XCTAssertEqual(m.cropped(x: 1, y: 1, width: 2, height: 2).values, [1, 0, 1, 1])
        let p = m.padded(right: 1, bottom: 1)
        XCTAssertEqual([p.width, p.height], [5, 4])
        XCTAssertEqual(p.values, [0, 1, 0, 0, 0,
                                  0, 1, 0, 0, 0,
                                  1, 1, 1, 1, 0,
                                  0, 0, 0, 0, 0])
        let t = m.tensor()
        XCTAssertEqual(t.shape, [1, 1, 3, 4])
        XCTAssertEqual(t.storage, m.values.map(Float.init))
        XCTAssertEqual(m.image.samples8, m.values.map { $0 == 1 ? 255 : 0 })
    }

    func testGrowAndShrinkClipAtTheEdges() {
        let dot = Mask(width: 5, height: 5) { x, y in x == 0 && y == 2 }
        XCTAssertEqual(dot.grown(by: 1), Mask(width: 5, height: 5) { x, y in x <= 1 && (1...3).contains(y) })
        XCTAssertTrue(dot.grown(by: -1).isEmpty)
        let full = Mask(width: 5, height: 5) { _, _ in true }
        XCTAssertEqual(full.grown(by: -3), full, "a full mask stays full: the window is clipped at the edges")
    }

    func testResizeMatchesDiffusersMaskProcessor() throws {
        struct Case: Decodable {
            let width: Int, height: Int, mask: [UInt8], out_width: Int, out_height: Int, out: [UInt8]
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("inpaint/mask_resize.json")))
        let cases = try JSONDecoder().decode([Case].self, from: data)
        XCTAssertEqual(cases.count, 6)
        for c in cases {
            let m = Mask(width: c.width, height: c.height, values: c.mask)
            let r = m.resized(width: c.out_width, height: c.out_height)
            XCTAssertEqual([r.width, r.height], [c.out_width, c.out_height])
            XCTAssertEqual(r.values, c.out, "\(c.width)x\(c.height) → \(c.out_width)x\(c.out_height)")
        }
        let m = Mask(width: 3, height: 2, values: [1, 0, 1, 0, 1, 0])
        XCTAssertEqual(m.resized(width: 3, height: 2), m)
    }
}
