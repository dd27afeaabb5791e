// The sdedit binary as a user runs it: documented exit codes, one-line errors naming the file,
// stdout output, PNG metadata, and no partial or temporary files left behind.
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class CLITests: CLITestCase {
    func testSuccessWritesImageWithParametersAndNoTempFiles() throws {
        let out = dir + "/out.png"
        let r = try inpaint(["-o", out, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        let im = try ImageIO.read(out)
        XCTAssertEqual([im.width, im.height], [100, 76])
        let bytes = try ImageIO.readBytes(out)
        XCTAssertNotNil(bytes.firstRange(of: Array("parameters\u{0}a red brick wall\nSteps: 2, Sampler: PLMS".utf8)))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["out.png"])
    }

    func testStdoutOutputAndSeedReproducibility() throws {
        let a = try inpaint(["-o", "-"]), b = try inpaint(["-o", "-"])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(Image.sniff([UInt8](a.stdout)), .png)
        XCTAssertEqual(try Image.decode([UInt8](a.stdout), name: "a"), try Image.decode([UInt8](b.stdout), name: "b"))
        XCTAssertTrue(a.stderr.contains("seed 3"))
    }

    func testExitCodes() throws {
        let missing = try inpaint([], image: dir + "/nope.png")
        XCTAssertEqual(missing.status, 66)
        XCTAssertTrue(missing.stderr.contains(dir + "/nope.png"), missing.stderr)
        let corrupt = try inpaint([], mask: Fixtures.path("images/truncated.png"))
        XCTAssertEqual(corrupt.status, 65)
        XCTAssertTrue(corrupt.stderr.contains("truncated.png"))
        XCTAssertEqual(try run(["inpaint", photo, mask, "x", "--model", "nobody/nothing"]).status, 69)
        XCTAssertEqual(try inpaint(["--steps", "0"]).status, 64)
        XCTAssertEqual(try inpaint(["--scheduler", "nonsense"]).status, 64)
        let small = try inpaint([], mask: Fixtures.path("images/gray8.png"))
        XCTAssertEqual(small.status, 64)
        XCTAssertTrue(small.stderr.contains("--resize-mask"), small.stderr)
        // Unwritable destination: I/O error, nothing left behind.
        let r = try inpaint(["-o", dir + "/missing-dir/out.png"])
        XCTAssertEqual(r.status, 74, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
        // Exactly one line of error text.
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1, missing.stderr)
    }

    func testRawOutputDiffersFromCompositeOnlyInsideTheMask() throws {
        let raw = dir + "/raw.png", comp = dir + "/comp.png"
        XCTAssertEqual(try inpaint(["-o", raw, "--no-composite", "-q"]).status, 0)
        XCTAssertEqual(try inpaint(["-o", comp, "-q"]).status, 0)
        let original = try ImageIO.read(photo), c = try ImageIO.read(comp), m = try ImageIO.read(mask)
        for i in 0..<(m.width * m.height) where m.samples8[i] < 128 {
            for k in 0..<3 { XCTAssertEqual(c.samples8[i * 3 + k], original.samples8[i * 3 + k]) }
        }
        XCTAssertNotEqual(try ImageIO.read(raw), c)
    }

    func testUpscaleIsExactlyFourTimesAndValidatesNoiseLevel() throws {
        let out = dir + "/up.png", x4 = Fixtures.path("models/tiny-sd2-x4-upscaler")
        let small = Fixtures.path("upscale/odd_size.png")   // 22×15: not a multiple of 4
        let r = try run(["upscale", small, "a sharp photo", "--model", x4, "--steps", "2", "--seed", "1", "-o", out, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let im = try ImageIO.read(out)
        XCTAssertEqual([im.width, im.height], [88, 60])
        XCTAssertEqual(try run(["upscale", small, "--model", x4, "--noise-level", "351"]).status, 64)
        let wrong = try run(["upscale", small, "--model", model, "-o", dir + "/w.png"])
        XCTAssertEqual(wrong.status, 64)
        XCTAssertTrue(wrong.stderr.contains("not an x4 upscaler"), wrong.stderr)
    }

    /// A full or closed stdout is exit 74 with one line, and a closed stderr is no crash (issue 10):
    /// both were Foundation FileHandle traps (exit 132).
    func testFullStdoutAndClosedStderr() throws {
        let base = ["inpaint", photo, mask, "a red brick wall", "--model", model, "--steps", "2", "--seed", "1"]
        let sh = Process()
        sh.executableURL = URL(fileURLWithPath: "/bin/sh")
        let out = dir + "/quiet.png"
        let quoted = (base.map { "'\($0)'" }).joined(separator: " ")
        sh.arguments = ["-c", "'\(binary)' \(quoted) -q -o - > /dev/full 2> '\(dir!)/err.txt'; echo $? > '\(dir!)/full.txt'; "
                        + "'\(binary)' \(quoted) -o '\(out)' 2>&-; echo $? > '\(dir!)/closed.txt'"]
        try sh.run()
        sh.waitUntilExit()
        let full = try String(contentsOfFile: dir + "/full.txt", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let err = try String(contentsOfFile: dir + "/err.txt", encoding: .utf8)
        XCTAssertEqual(full, "74", err)
        XCTAssertEqual(err.split(separator: "\n").count, 1, err)
        XCTAssertTrue(err.contains("<stdout>"), err)
        let closed = try String(contentsOfFile: dir + "/closed.txt", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(closed, "0")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out))
    }

    /// A usage error is one line on stderr and exit 64; the usage text is for --help (issue 10).
    func testUsageErrorsAreOneLine() throws {
        for args in [["inpaint", photo], ["inpaint", photo, mask, "x", "--steps", "0"],
                     ["inpaint", photo, mask, "x", "--scheduler", "nonsense"], ["no-such-command"]] {
            let r = try run(args)
            XCTAssertEqual(r.status, 64, "\(args)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("sdedit: "), r.stderr)
        }
        let help = try run(["inpaint", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(String(decoding: help.stdout, as: UTF8.self).contains("USAGE"))
    }

    /// Exit codes come from the error's type: an unreadable input (here a directory) is 66, not the
    /// write-side 74 (issue 10).
    func testUnreadableInputIs66() throws {
        let r = try inpaint(["-o", dir + "/o.png", "-q"], image: dir)
        XCTAssertEqual(r.status, 66, r.stderr)
        XCTAssertTrue(r.stderr.contains(dir), r.stderr)
    }

    /// An output that is an input (by inode, also through a symlink) is refused with exit 64 before
    /// any work, and the input is unchanged; an existing non-regular output (/dev/null) is written in
    /// place, not replaced (issue 10).
    func testOutputsNeverReplaceInputsOrDevices() throws {
        let copy = dir + "/photo.png", link = dir + "/link.png"
        try FileManager.default.copyItem(atPath: photo, toPath: copy)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: copy)
        let before = try Data(contentsOf: URL(fileURLWithPath: copy))
        for out in [copy, link] {
            let r = try inpaint(["-o", out, "-q"], image: copy)
            XCTAssertEqual(r.status, 64, r.stderr)
            XCTAssertTrue(r.stderr.contains("refusing to overwrite an input"), r.stderr)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: copy)), before)
        let r = try inpaint(["-o", "/dev/null", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        var st = stat()
        XCTAssertEqual(stat("/dev/null", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFCHR, "/dev/null must still be a character device")
    }
}
