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
        try ImageIO.write(Image(width: 8, height: 16, channels: 1, samples8: [UInt8](repeating: 255, count: 128)), to: maskPath)
        let r = try inpaint(["-o", dir + "/out.png", "-q"], image: Fixtures.path("exif/orient6.jpg"), mask: maskPath)
        XCTAssertEqual(r.status, 0, r.stderr)
        let out = try ImageIO.read(dir + "/out.png")
        XCTAssertEqual([out.width, out.height], [8, 16])
    }

    func testMissingModelPathIsNoSuchFile() throws {
        for m in [dir + "/missing.safetensors", "./missing-dir", "missing.safetensors", "a/b/c"] {
            let r = try inpaint([], model: m)
            XCTAssertEqual(r.status, 66, m + ": " + r.stderr)
            XCTAssertTrue(r.stderr.contains("\(m): no such file or folder"), r.stderr)
            XCTAssertFalse(r.stderr.contains("huggingface-cli"), r.stderr)
        }
        let hub = try inpaint([], model: "nobody/nothing")
        XCTAssertEqual(hub.status, 69, hub.stderr)
        XCTAssertTrue(hub.stderr.contains("huggingface-cli download nobody/nothing"), hub.stderr)
    }

    func gray(_ value: UInt8, channels: Int = 1, alpha: UInt8? = nil, width: Int = 100, height: Int = 76) -> Image {
        let px = alpha.map { Array(repeating: value, count: channels - 1) + [$0] } ?? Array(repeating: value, count: channels)
        return Image(width: width, height: height, channels: channels,
                     samples8: (0..<(width * height)).flatMap { _ in px })
    }

    func testAllBlackMaskIsRefusedBeforeTheModelLoads() throws {
        let black = dir + "/black.png"
        try ImageIO.write(gray(0), to: black)
        let r = try inpaint(["-o", dir + "/out.png"], mask: black)
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("black.png: the mask is all black: nothing to repaint"), r.stderr)
        XCTAssertFalse(r.stderr.contains("loading"), r.stderr)
        let white = dir + "/white.png"
        try ImageIO.write(gray(255), to: white)
        let inverted = try inpaint(["--invert-mask"], mask: white)
        XCTAssertEqual(inverted.status, 64, inverted.stderr)
        XCTAssertTrue(inverted.stderr.contains("is all white, and --invert-mask makes it all black"), inverted.stderr)
    }

    /// A transparent mask whose hidden colour is white repaints everything under luminance: say so.
    func testRGBAMaskWithIgnoredAlphaGetsAHint() throws {
        let rgba = dir + "/rgba.png"
        var im = gray(255, channels: 4, alpha: 0), s = im.samples8
        for i in 0..<(im.width * 20) { s[i * 4 + 3] = 255 }
        im = Image(width: im.width, height: im.height, channels: 4, samples8: s)
        try ImageIO.write(im, to: rgba)
        let r = try inpaint(["-o", dir + "/out.png", "--steps", "1"], mask: rgba)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("rgba.png has transparent pixels; --mask-channel luminance reads their colour (100% of the image"), r.stderr)
        XCTAssertTrue(r.stderr.contains("--mask-channel alpha repaints where the mask is opaque"), r.stderr)
        let alpha = try inpaint(["-o", dir + "/out2.png", "--steps", "1", "--mask-channel", "alpha"], mask: rgba)
        XCTAssertEqual(alpha.status, 0, alpha.stderr)
        XCTAssertFalse(alpha.stderr.contains("note:"), alpha.stderr)
    }

    /// Constant grey or white depth maps are flat too (not only all-black): exit 64 before any load.
    func testFlatDepthMapsAreRefused() throws {
        for (name, v) in [("black", UInt8(0)), ("grey", 128), ("white", 255)] {
            let map = dir + "/\(name).png"
            try ImageIO.write(gray(v, width: 17, height: 9), to: map)
            let r = try run(["depth2img", photo, "x", "--model", Fixtures.path("models/tiny-sd2-depth"), "--depth-map", map,
                             "-o", dir + "/out.png"])
            XCTAssertEqual(r.status, 64, r.stderr)
            XCTAssertTrue(r.stderr.contains("\(name).png: the depth map is flat"), r.stderr)
            XCTAssertFalse(r.stderr.contains("loading"), r.stderr)
        }
    }

    /// --batch: unknown keys named, JSON's own error with the column, paths relative to the jobs
    /// file's folder, and img2img / outpaint take --batch too.
    func testBatchLinesAreCheckedAndResolvedAgainstTheirFolder() throws {
        let sub = dir + "/jobs"
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: photo, toPath: sub + "/p.png")
        try FileManager.default.copyItem(atPath: mask, toPath: sub + "/m.png")
        let jobs = sub + "/jobs.jsonl"
        try [#"{"image": "p.png", "mask": "m.png", "prompt": "x", "steps": 1, "ouput": "o.png"}"#,
             #"{"image": "p.png",, "mask": "m.png"}"#,
             #"{"image": "p.png", "mask": "m.png", "prompt": "x", "steps": 1, "output": "out.png"}"#,
        ].joined(separator: "\n").write(toFile: jobs, atomically: true, encoding: .utf8)
        let r = try run(["inpaint", "--batch", jobs, "--model", model])
        XCTAssertEqual(r.status, 65, r.stderr)
        XCTAssertTrue(r.stderr.contains("jobs.jsonl:1: unknown key \"ouput\""), r.stderr)
        XCTAssertTrue(r.stderr.contains("jobs.jsonl:2: not valid JSON at column 19"), r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: sub + "/out.png"), r.stderr)
        try #"{"image": "p.png", "prompt": "x", "output": "i2i.png"}"#.write(toFile: jobs, atomically: true, encoding: .utf8)
        let i2i = try run(["img2img", "--batch", jobs, "--model", Fixtures.path("models/tiny-sd21-base"), "--steps", "2", "-q"])
        XCTAssertEqual(i2i.status, 0, i2i.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: sub + "/i2i.png"))
        try #"{"image": "p.png", "prompt": "x", "extend": "8,0,0,0", "output": "op.png"}"#.write(toFile: jobs, atomically: true, encoding: .utf8)
        let op = try run(["outpaint", "--batch", jobs, "--model", model, "--steps", "1", "-q"])
        XCTAssertEqual(op.status, 0, op.stderr)
        XCTAssertEqual(try ImageIO.read(sub + "/op.png").width, 108)
    }
}
