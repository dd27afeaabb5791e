// --batch for txt2img (prompt-only jobs, default outputs beside the jobs file, the line's size) and
// --resize-mask in inpaint batch jobs; the 16-bit input note; --count's overwriting said in --help.
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class BatchCLITests: CLITestCase {
    let base = Fixtures.path("models/tiny-sd21-base")

    /// Each txt2img line makes the image the single run makes with the same settings; a line without
    /// output writes txt2img-N.png beside the jobs file; a bad size is refused by line; one load.
    func testTxt2ImgBatchRunsPromptOnlyJobs() throws {
        let sub = dir + "/t"
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        let jobs = sub + "/jobs.jsonl"
        try [#"{"prompt": "a cat", "seed": 5, "width": 16, "height": 24, "output": "a.png"}"#,
             #"{"prompt": "a dog", "seed": 6, "steps": 1, "negative_prompt": "blur"}"#,
             #"{"prompt": "a bird", "width": 12}"#,
        ].joined(separator: "\n").write(toFile: jobs, atomically: true, encoding: .utf8)
        let r = try run(["txt2img", "--batch", jobs, "--model", base, "--steps", "2", "--width", "32", "--height", "16"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains(#"job 1/3 (line 1): "a cat""#), r.stderr)
        XCTAssertTrue(r.stderr.contains("jobs.jsonl:3: ") && r.stderr.contains("width 12"), r.stderr)
        XCTAssertTrue(r.stderr.contains("1 of 3 jobs failed"), r.stderr)
        XCTAssertEqual(r.stderr.components(separatedBy: "sdedit: loading").count, 2, "one model load")
        let a = try ImageIO.read(sub + "/a.png")
        XCTAssertEqual([a.width, a.height], [16, 24])
        let single = dir + "/single.png"
        let s = try run(["txt2img", "a cat", "--model", base, "--steps", "2", "--seed", "5", "--width", "16", "--height", "24",
                         "-o", single, "-q"])
        XCTAssertEqual(s.status, 0, s.stderr)
        XCTAssertEqual(a, try ImageIO.read(single))
        let second = try ImageIO.read(sub + "/txt2img-2.png")
        XCTAssertEqual([second.width, second.height], [32, 16], "the command line's size for a line without one")
        let s2 = try run(["txt2img", "a dog", "--model", base, "--steps", "1", "--seed", "6", "--width", "32", "--height", "16",
                          "--negative-prompt", "blur", "-o", single, "-q"])
        XCTAssertEqual(s2.status, 0, s2.stderr)
        XCTAssertEqual(second, try ImageIO.read(single))
        XCTAssertEqual(try run(["txt2img", "a cat", "--batch", jobs, "--model", base]).status, 64, "batch with a prompt")
        XCTAssertEqual(try run(["txt2img", "--batch", jobs, "-o", single, "--model", base]).status, 64, "batch with -o")
    }

    /// A batch inpaint job with a mask of another size is refused as the single run refuses it, and
    /// with --resize-mask gives the single run's image.
    func testBatchInpaintHonoursResizeMask() throws {
        let small = dir + "/small-mask.png"
        try ImageIO.write(try ImageIO.read(mask).to8Bit().pillowResized(width: 50, height: 38, filter: .lanczos), to: small)
        let jobs = dir + "/jobs.jsonl", out = dir + "/b.png"
        try #"{"image": "\#(photo)", "mask": "\#(small)", "prompt": "a red brick wall", "steps": 2, "seed": 3, "output": "\#(out)"}"#
            .write(toFile: jobs, atomically: true, encoding: .utf8)
        let refused = try run(["inpaint", "--batch", jobs, "--model", model, "-q"])
        XCTAssertEqual(refused.status, 64, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("mask is 50x38 but the image is 100x76 (pass --resize-mask"), refused.stderr)
        let r = try run(["inpaint", "--batch", jobs, "--model", model, "--resize-mask", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let single = dir + "/single.png"
        XCTAssertEqual(try inpaint(["--resize-mask", "-o", single, "-q"], mask: small).status, 0)
        XCTAssertEqual(try ImageIO.read(out), try ImageIO.read(single))
    }

    /// A 16-bit input gets one note that the output is 8-bit; an 8-bit input gets none.
    func testSixteenBitInputIsNoted() throws {
        let deep = Fixtures.path("images/rgb16.png")
        XCTAssertEqual(try ImageIO.read(deep).bitDepth, 16)
        let out = dir + "/o.png"
        let r = try run(["img2img", deep, "x", "--model", base, "--steps", "2", "--seed", "1", "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr.components(separatedBy: "has 16 bits per sample; sdedit works in 8 bits, so the output is 8-bit").count, 2,
                       r.stderr)
        XCTAssertEqual(try ImageIO.read(out).bitDepth, 8)
        let eight = try run(["img2img", photo, "x", "--model", base, "--steps", "2", "--seed", "1", "-o", out])
        XCTAssertEqual(eight.status, 0, eight.stderr)
        XCTAssertFalse(eight.stderr.contains("16 bits"), eight.stderr)
    }

    /// -o's help says that --count's numbered outputs overwrite existing files.
    func testOutputHelpSaysCountOverwrites() throws {
        for command in ["inpaint", "txt2img", "upscale"] {
            let help = try run([command, "--help"])
            let text = String(decoding: help.stdout, as: UTF8.self).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .joined(separator: " ")
            XCTAssertTrue(text.contains("are overwritten without asking"), command)
        }
        let t = String(decoding: try run(["txt2img", "--help"]).stdout, as: UTF8.self)
        XCTAssertTrue(t.contains("--batch"), t)
    }
}
