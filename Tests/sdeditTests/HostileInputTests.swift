// Hostile and broken input through the binary (issue 10): each case ends with its documented exit
// code and one line on stderr naming the file, leaves nothing behind, and never traps or hangs.
// Classes: decompression bombs and lying headers, the pixel limit, closed/directory stdin, file-size
// limits during the write (temp files), long output names, tokenizer files.
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class HostileInputTests: CLITestCase {
    func assertOneLine(_ r: (status: Int32, stdout: Data, stderr: String), _ code: Int32, mentions: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, code, r.stderr, file: file, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr, file: file, line: line)
        XCTAssertTrue(r.stderr.contains(mentions), "\(r.stderr) should mention \(mentions)", file: file, line: line)
    }

    /// Refused from the header (65), before any pixel buffer: a valid 32 KB PNG of 16384², a PNG and
    /// a JPEG whose headers claim more than their bytes can hold, a JPEG claiming 32768×8192.
    func testBombsAndLyingHeadersAre65() throws {
        let expect = ["bomb.png": "above the limit", "lying.png": "more pixel data than",
                      "lying.jpg": "more than a 631-byte file can encode", "lying_huge.jpg": "above the limit"]
        for (name, text) in expect {
            let path = Fixtures.path("hostile/" + name)
            let r = try inpaint(["-o", dir + "/o.png", "-q"], image: path)
            assertOneLine(r, 65, mentions: path)
            XCTAssertTrue(r.stderr.contains(text), "\(name): \(r.stderr)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
    }

    /// --max-pixels is the documented limit: the 100×76 demo photo passes at 7600 and fails at 7599.
    func testMaxPixelsIsTheLimit() throws {
        assertOneLine(try inpaint(["-o", dir + "/o.png", "-q", "--max-pixels", "7599"]), 65, mentions: "7600 pixels")
        XCTAssertEqual(try inpaint(["-o", dir + "/o.png", "-q", "--max-pixels", "7600"]).status, 0)
    }

    /// A closed stdin or a directory on stdin is a read error (66) with one line, not a trap.
    func testClosedOrDirectoryStdinIs66() throws {
        let base = "\"$SDEDIT\" inpaint - '\(mask)' 'a red brick wall' --model '\(model)' --steps 2 -q -o '\(dir!)/o.png'"
        for redirect in ["<&-", "< /"] {
            let (status, err) = try shell(base + " " + redirect)
            XCTAssertEqual(status, 66, "\(redirect): \(err)")
            XCTAssertEqual(err.split(separator: "\n").count, 1, err)
            XCTAssertTrue(err.contains("<stdin>"), err)
        }
    }

    /// A write over the file-size limit (ulimit -f) fails with EFBIG, exit 74, one line, and leaves
    /// no temporary file: SIGXFSZ used to kill the process mid-write with the temp file left behind.
    func testFileSizeLimitDuringTheWriteLeavesNothing() throws {
        let (status, err) = try shell("ulimit -f 1; \"$SDEDIT\" inpaint '\(photo)' '\(mask)' 'a red brick wall' "
                                      + "--model '\(model)' --steps 2 -q -o '\(dir!)/o.png'")
        XCTAssertEqual(status, 74, err)
        XCTAssertEqual(err.split(separator: "\n").count, 1, err)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [], "temp file left behind")
    }

    /// A legal 250-byte output name works: the temp name no longer grows with the output's.
    func testLongOutputName() throws {
        let out = dir + "/" + String(repeating: "n", count: 246) + ".png"
        let r = try inpaint(["-o", out, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [(out as NSString).lastPathComponent])
    }

    /// Broken tokenizer files are data errors (65) naming the file: an empty special token (it used
    /// to loop until memory ran out) and merges.txt that is not UTF-8 (it used to say "not found").
    func testBrokenTokenizerFilesAre65() throws {
        let copy = dir + "/model"
        try FileManager.default.copyItem(atPath: model, toPath: copy)
        let tok = copy + "/tokenizer"
        let map = tok + "/special_tokens_map.json"
        let saved = try Data(contentsOf: URL(fileURLWithPath: map))
        try Data(#"{"pad_token": {"content": ""}}"#.utf8).write(to: URL(fileURLWithPath: map))
        var r = try run(["inpaint", photo, mask, "x", "--model", copy, "--steps", "1", "-q", "-o", dir + "/o.png"])
        assertOneLine(r, 65, mentions: "special_tokens_map.json: pad_token is an empty string")
        try saved.write(to: URL(fileURLWithPath: map))
        var merges = try Data(contentsOf: URL(fileURLWithPath: tok + "/merges.txt"))
        merges.append(contentsOf: [0xFF, 0xFE, 0x0A])
        try merges.write(to: URL(fileURLWithPath: tok + "/merges.txt"))
        r = try run(["inpaint", photo, mask, "x", "--model", copy, "--steps", "1", "-q", "-o", dir + "/o.png"])
        assertOneLine(r, 65, mentions: "merges.txt: not valid UTF-8")
    }

    /// A FIFO where a config.json should be is refused (65) before anything can block on it; it
    /// used to say "config file not found" (69).
    func testFIFOConfigIs65() throws {
        let copy = dir + "/model"
        try FileManager.default.copyItem(atPath: model, toPath: copy)
        let cfg = copy + "/unet/config.json"
        try FileManager.default.removeItem(atPath: cfg)
        XCTAssertEqual(mkfifo(cfg, 0o600), 0)
        let r = try run(["inpaint", photo, mask, "x", "--model", copy, "--steps", "1", "-q", "-o", dir + "/o.png"])
        assertOneLine(r, 65, mentions: "unet/config.json: not a regular file")
    }
}
