// What a new user meets first: --version, a missing system library, negative numbers after a space.
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class NewUserCLITests: CLITestCase {
    func testVersionNamesVersionAndCommit() throws {
        let r = try run(["--version"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = String(decoding: r.stdout, as: UTF8.self)
        XCTAssertTrue(line.hasPrefix("sdedit 0.1.0 (commit "), line)
        XCTAssertEqual(line.split(separator: "\n").count, 1, line)
    }

    /// OpenBLAS hidden in a private mount namespace (needs root and unshare; skipped otherwise):
    /// exit 69 and a message that names the library.
    func testMissingOpenBLASIsUnavailableAndNamed() throws {
        let probe = try shell("unshare -m true")
        try XCTSkipUnless(probe.0 == 0, "unshare -m not permitted here")
        let (status, stderr) = try shell("""
            unshare -m sh -c 'for f in $(ldconfig -p | grep libopenblas | sed "s/.*=> //"); do \
            mount --bind /dev/null "$(readlink -f "$f")" || exit 3; done; exec "$SDEDIT" info'
            """)
        XCTAssertEqual(status, 69, stderr)
        XCTAssertTrue(stderr.contains("OpenBLAS unavailable") && stderr.contains("libopenblas.so.0"), stderr)
        XCTAssertEqual(stderr.split(separator: "\n").count, 1, stderr)
    }

    func testNegativeNumbersAfterASpaceParse() throws {
        let out = dir + "/out.png"
        let grow = try inpaint(["--mask-grow", "-3", "-o", out, "-q"])
        XCTAssertEqual(grow.status, 0, grow.stderr)
        let guidance = try inpaint(["--guidance", "-1"])
        XCTAssertEqual(guidance.status, 64)
        XCTAssertTrue(guidance.stderr.contains("--guidance must be 0…100"), guidance.stderr)
        let shrink = try inpaint(["--mask-grow", "-2000"])
        XCTAssertEqual(shrink.status, 64)
        XCTAssertTrue(shrink.stderr.contains("--mask-grow must be -1024…1024"), shrink.stderr)
        let extend = try run(["outpaint", photo, "x", "--extend", "-5", "--model", model])
        XCTAssertEqual(extend.status, 64)
        XCTAssertTrue(extend.stderr.contains("--extend takes L,T,R,B or one number, each 0…8192"), extend.stderr)
    }

    func testOutputThatCannotBeWrittenFailsBeforeAnyWork() throws {
        for (out, code, text) in [(dir + "/nodir/out.png", Int32(74), "no such folder"), (dir!, 74, "is a directory"),
                                  (dir + "/out.webp", 64, ".webp is not written"), (dir + "/noext", 64, "it has no extension")] {
            let r = try inpaint(["-o", out])
            XCTAssertEqual(r.status, code, r.stderr)
            XCTAssertTrue(r.stderr.contains(text), r.stderr)
            XCTAssertFalse(r.stderr.contains("loading"), "failed only after loading the model: \(r.stderr)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
        let jpeg = try inpaint(["-o", dir + "/OUT.JPEG", "-q"])
        XCTAssertEqual(jpeg.status, 0, jpeg.stderr)
    }

    /// A1111's EXIF UserComment in a JPEG output: the same text as the PNG "parameters" chunk.
    func testJPEGOutputCarriesTheParameters() throws {
        XCTAssertEqual(try inpaint(["-o", dir + "/out.jpg", "-q"]).status, 0)
        XCTAssertEqual(try inpaint(["-o", dir + "/out.png", "-q"]).status, 0)
        let comment = try XCTUnwrap(userComment(try ImageIO.readBytes(dir + "/out.jpg")))
        XCTAssertTrue(comment.hasPrefix("a red brick wall\nSteps: 2, Sampler: PLMS"), comment)
        let png = try ImageIO.readBytes(dir + "/out.png")
        XCTAssertNotNil(png.firstRange(of: Array(("parameters\u{0}" + comment).utf8)))
    }

    /// A portrait phone JPEG (EXIF Orientation 6) is read upright, so a mask drawn on the upright
    /// picture fits, and the output is upright.
    func testPhoneJPEGIsUprightAndItsMaskFits() throws {
        let maskPath = dir + "/mask.png"
        try ImageIO.write(Image(width: 8, height: 16, channels: 1, samples: [UInt16](repeating: 255, count: 128)), to: maskPath)
        let r = try inpaint(["-o", dir + "/out.png", "-q"], image: Fixtures.path("exif/orient6.jpg"), mask: maskPath)
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = try ImageIO.read(dir + "/out.png")
        XCTAssertEqual([out.width, out.height], [8, 16])
    }
}
