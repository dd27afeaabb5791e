// PNG/JPEG decoding (every colour type, 8/16-bit, palette, progressive JPEG) against the pixels Pillow
// decodes; corrupt files; encode round trips with tEXt; atomic writes; Pillow resize and luma;
// diffusers' image ↔ tensor conversions.
// Fixtures: scripts/make_fixtures.py core → fixtures/images/.
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class ImageTests: XCTestCase {
    var e: SafetensorsFile!
    override func setUpWithError() throws { e = try Fixtures.file("images/expected.safetensors") }

    /// Image samples as a tensor shaped like the numpy array Pillow gives ([H, W] or [H, W, C]).
    func tensor(_ im: Image) -> Tensor {
        let shape = im.channels == 1 ? [im.height, im.width] : [im.height, im.width, im.channels]
        return Tensor(shape: shape, storage: (0..<im.storage.count).map { Float(im.storage[$0]) })
    }

    func testDecodeEveryKind() throws {
        let cases: [(String, String, Int, Int, Tolerance)] = [
            ("rgb8.png", "rgb8", 3, 8, Tolerances.exact), ("rgba8.png", "rgba8", 4, 8, Tolerances.exact),
            ("gray8.png", "gray8", 1, 8, Tolerances.exact), ("graya8.png", "graya8", 2, 8, Tolerances.exact),
            ("palette.png", "palette", 3, 8, Tolerances.exact),
            ("gray16.png", "gray16", 1, 16, Tolerances.exact), ("rgb16.png", "rgb16", 3, 16, Tolerances.exact),
            ("baseline.jpg", "baseline_jpg", 3, 8, Tolerances.jpeg),
            ("progressive.jpg", "progressive_jpg", 3, 8, Tolerances.jpeg),
            ("gray.jpg", "gray_jpg", 1, 8, Tolerances.jpeg),
        ]
        for (file, key, channels, depth, tol) in cases {
            let im = try ImageIO.read(Fixtures.path("images/" + file))
            XCTAssertEqual(im.channels, channels, file)
            XCTAssertEqual(im.bitDepth, depth, file)
            XCTAssertEqual([im.width, im.height], [23, 17], file)
            assertClose(tensor(im), try e.tensor(key), tol, file)
        }
    }

    func testCorruptFilesFailCleanly() throws {
        let cases = [("truncated.png", "truncated"), ("truncated.jpg", "truncated"), ("header_only.jpg", ""),
                     ("huge.png", ""), ("not_an_image.png", "not a PNG or JPEG"), ("empty.png", "not a PNG or JPEG")]
        for (file, mention) in cases {
            let path = Fixtures.path("images/" + file)
            XCTAssertThrowsError(try ImageIO.read(path), file) { err in
                guard case let SDError.badFile(p, msg) = err else { return XCTFail("\(file): \(err)") }
                XCTAssertEqual(p, path)
                XCTAssertTrue(mention.isEmpty || msg.contains(mention), "\(file): \(msg)")
            }
        }
        XCTAssertThrowsError(try ImageIO.read("/nonexistent/in.png")) { err in
            guard case SDError.io = err else { return XCTFail("\(err)") }
        }
    }

    func testPNGRoundTripWithText() throws {
        let src = try ImageIO.read(Fixtures.path("images/rgba8.png"))
        let text = [("parameters", "a red brick wall\nSteps: 50, Seed: 42"), ("Software", "sdedit")]
        let bytes = try src.encodePNG(text: text)
        XCTAssertEqual(try Image.decode(bytes, name: "mem"), src)
        // The tEXt chunk is in the file as keyword NUL text.
        let needle = Array("parameters\u{0}a red brick wall".utf8)
        XCTAssertNotNil(bytes.firstRange(of: needle))
        let deep = try ImageIO.read(Fixtures.path("images/rgb16.png"))
        XCTAssertEqual(try Image.decode(try deep.encodePNG(), name: "mem"), deep)
    }

    /// 8-bit files are stored one byte a sample and 16-bit ones keep their 16 bits; both round-trip
    /// through encodePNG unchanged, and encoding the decoded copy gives the same bytes again.
    func testStorageKeepsTheFileDepth() throws {
        for file in ["rgb8.png", "rgba8.png", "gray8.png", "graya8.png", "palette.png", "baseline.jpg", "gray16.png", "rgb16.png"] {
            let im = try ImageIO.read(Fixtures.path("images/" + file))
            switch im.storage {
            case .u8(let s):
                XCTAssertFalse(file.contains("16"), "\(file) decoded to 8 bits")
                XCTAssertEqual(s.count, im.width * im.height * im.channels, file)
            case .u16(let s):
                XCTAssertTrue(file.contains("16"), "\(file) decoded to 16 bits")
                XCTAssertTrue(s.contains { $0 % 257 != 0 }, "\(file): the low byte carries information")
            }
            let png = try im.encodePNG()
            let back = try Image.decode(png, name: file)
            XCTAssertEqual(back.storage, im.storage, file)
            XCTAssertEqual(try back.encodePNG(), png, "\(file): re-encoding changed bytes")
        }
    }

    func testJPEGEncodeQuality() throws {
        let src = try ImageIO.read(Fixtures.path("images/baseline.jpg"))
        let hi = try src.encodeJPEG(quality: 95), lo = try src.encodeJPEG(quality: 20)
        XCTAssertLessThan(lo.count, hi.count)
        let back = try Image.decode(hi, name: "mem")
        let maxDiff = zip(back.samples8, src.samples8).map { abs(Int($0) - Int($1)) }.max()!
        XCTAssertLessThanOrEqual(maxDiff, 16, "quality 95 re-encode drifted by \(maxDiff)")
    }

    func testAtomicWriteLeavesNoPartialFile() throws {
        let dir = NSTemporaryDirectory() + "/sdedit-write-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let src = try ImageIO.read(Fixtures.path("images/gray8.png"))
        try ImageIO.write(src, to: dir + "/out.png")
        XCTAssertEqual(try ImageIO.read(dir + "/out.png"), src)
        try ImageIO.write(src.rgb8(), to: dir + "/out.jpg")
        XCTAssertEqual(Image.sniff(try ImageIO.readBytes(dir + "/out.jpg")), .jpeg)
        XCTAssertThrowsError(try ImageIO.write(src, to: dir + "/missing-dir/out.png"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(), ["out.jpg", "out.png"])
    }

    func testPillowResizeIsBitExact() throws {
        let src = try ImageIO.read(Fixtures.path("images/rgb8.png"))
        for (filter, name) in [(PillowFilter.lanczos, "lanczos"), (.bicubic, "bicubic"), (.bilinear, "bilinear")] {
            for (w, h) in [(11, 8), (40, 31), (23, 9), (64, 48)] {
                let got = src.pillowResized(width: w, height: h, filter: filter)
                assertClose(tensor(got), try e.tensor("resize.\(name).\(w)x\(h)"), Tolerances.exact, "\(name) \(w)x\(h)")
            }
        }
        let gray = src.luminance8()
        assertClose(tensor(gray), try e.tensor("luma"), Tolerances.exact, "RGB -> L")
        assertClose(tensor(gray.pillowResized(width: 13, height: 30, filter: .lanczos)),
                    try e.tensor("resize.lanczos_gray.13x30"), Tolerances.exact, "gray lanczos")
    }

    func testTensorConversionsMatchVaeImageProcessor() throws {
        let src = try ImageIO.read(Fixtures.path("images/rgb8.png"))
        assertClose(src.toTensor(), try e.tensor("to_tensor"), Tolerances.exact, "to tensor")
        let out = Image(tensor: try e.tensor("post.x"))
        assertClose(tensor(out), (try e.tensor("post.y")).reshaped([5, 7, 3]), Tolerances.exact, "postprocess")
    }
}
