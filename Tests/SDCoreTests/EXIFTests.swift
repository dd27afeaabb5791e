// EXIF orientation applied on read, against PIL.ImageOps.exif_transpose (diffusers' load_image), and
// the UserComment segment of JPEG outputs (scripts/fixtures_exif.py).
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class EXIFTests: XCTestCase {
    func testEveryOrientationMatchesPillowExifTranspose() throws {
        for o in 1...8 {
            let bytes = try ImageIO.readBytes(Fixtures.path("exif/orient\(o).png"))
            XCTAssertEqual(EXIF.orientation(in: bytes), o)
            let upright = try ImageIO.read(Fixtures.path("exif/orient\(o)-upright.png"))
            XCTAssertNil(EXIF.orientation(in: try ImageIO.readBytes(Fixtures.path("exif/orient\(o)-upright.png"))))
            XCTAssertEqual(try ImageIO.read(Fixtures.path("exif/orient\(o).png")), upright, "orientation \(o)")
        }
    }

    func testPhoneJPEGIsReadUpright() throws {
        let im = try ImageIO.read(Fixtures.path("exif/orient6.jpg"))
        XCTAssertEqual([im.width, im.height], [8, 16])
        XCTAssertEqual(im, try ImageIO.read(Fixtures.path("exif/orient6-jpg-upright.png")))
        // The decoder alone keeps the stored layout; only the file read turns it.
        let raw = try Image.decode(try ImageIO.readBytes(Fixtures.path("exif/orient6.jpg")), name: "raw")
        XCTAssertEqual([raw.width, raw.height], [16, 8])
    }

    func testNoOrReadableButBrokenEXIFIsIgnored() throws {
        XCTAssertNil(EXIF.orientation(in: try ImageIO.readBytes(Fixtures.path("images/baseline.jpg"))))
        XCTAssertNil(EXIF.orientation(in: try ImageIO.readBytes(Fixtures.path("images/rgb8.png"))))
        // Every truncation of a file with EXIF is read without a crash.
        let bytes = try ImageIO.readBytes(Fixtures.path("exif/orient6.jpg"))
        for n in 0..<min(bytes.count, 200) { _ = EXIF.orientation(in: Array(bytes[..<n])) }
    }

    func testUserCommentReaderAgreesWithPillow() throws {
        let text = try String(contentsOfFile: Fixtures.path("exif/usercomment.txt"), encoding: .utf8)
        XCTAssertEqual(userComment(try ImageIO.readBytes(Fixtures.path("exif/usercomment.jpg"))), text)
    }

    func testJPEGOutputCarriesParametersAsUserComment() throws {
        let path = NSTemporaryDirectory() + "/sdedit-exif-\(getpid()).jpg"
        defer { unlink(path) }
        let im = try ImageIO.read(Fixtures.path("exif/orient1.png"))
        let text = "a cat\nNegative prompt: dog — ü\nSteps: 2, Seed: 3"
        try ImageIO.write(im, to: path, text: [("parameters", text)], jpegQuality: 90)
        let bytes = try ImageIO.readBytes(path)
        XCTAssertEqual(userComment(bytes), text)
        XCTAssertEqual(try Image.decode(bytes, name: "out").width, im.width)
    }
}
