// `sdedit inpaint --area/--padding/--work-size/--mask-grow` and inputs from pipes, on the demo model.
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class MaskedAreaCLITests: CLITestCase {
    /// A crop run keeps the exact size, reports the crop, says so in the parameters, and leaves every
    /// pixel outside the grown mask as it was.
    func testCropRunKeepsEveryPixelOutsideTheGrownMask() throws {
        let out = dir + "/crop.png"
        let r = try inpaint(["-o", out, "--area", "masked", "--work-size", "64", "--padding", "4", "--mask-grow", "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("crop around the mask at"), r.stderr)
        let original = try ImageIO.read(photo).rgb8(), m = try ImageIO.read(mask).luminance8(), o = try ImageIO.read(out)
        XCTAssertEqual([o.width, o.height], [original.width, original.height])
        // The mask grown by 3 (square window): a pixel may change only within 3 px of a white pixel.
        let (w, h) = (m.width, m.height)
        var changed = 0
        for y in 0..<h { for x in 0..<w {
            let same = (0..<3).allSatisfy { o.samples8[(y * w + x) * 3 + $0] == original.samples8[(y * w + x) * 3 + $0] }
            if same { continue }
            changed += 1
            var near = false
            for yy in max(0, y - 3)...min(h - 1, y + 3) { for xx in max(0, x - 3)...min(w - 1, x + 3) where m.samples8[yy * w + xx] >= 128 { near = true } }
            XCTAssertTrue(near, "pixel \(x),\(y) changed outside the grown mask")
        } }
        XCTAssertGreaterThan(changed, 0)
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: out)), as: UTF8.self)
        XCTAssertTrue(text.contains("Inpaint area: Only masked") && text.contains("Mask grow: 3"), "parameters")
    }

    /// --area whole on the same image is the run it was before cropping existed (same bits as the
    /// default on an image no larger than the working size).
    func testWholeAreaIsTheDefaultForSmallImages() throws {
        let a = dir + "/a.png", b = dir + "/b.png"
        XCTAssertEqual(try inpaint(["-o", a, "-q"]).status, 0)
        XCTAssertEqual(try inpaint(["-o", b, "-q", "--area", "whole"]).status, 0)
        XCTAssertEqual(try ImageIO.read(a), try ImageIO.read(b))
    }

    /// Process substitution and FIFOs for IMAGE and MASK (`<(convert …)` in a shell pipeline).
    func testInputsFromPipes() throws {
        let out = dir + "/fifo.png"
        let (status, err) = try shell("""
            mkfifo '\(dir!)/mask.fifo' || exit 9
            cat '\(mask)' > '\(dir!)/mask.fifo' &
            cat '\(photo)' | "$SDEDIT" inpaint - '\(dir!)/mask.fifo' "a wall" --model '\(model)' --steps 2 --seed 3 -q -o '\(out)'
            """)
        XCTAssertEqual(status, 0, err)
        let direct = dir + "/direct.png"
        XCTAssertEqual(try run(["inpaint", photo, mask, "a wall", "--model", model, "--steps", "2", "--seed", "3", "-q", "-o", direct]).status, 0)
        XCTAssertEqual(try ImageIO.read(out), try ImageIO.read(direct))
    }

    func testBadAreaOptionsAreUsageErrors() throws {
        for args in [["--area", "sideways"], ["--padding", "-1"], ["--work-size", "10"], ["--mask-grow", "5000"]] {
            let r = try inpaint(["-o", dir + "/x.png"] + args)
            XCTAssertEqual(r.status, 64, "\(args): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(args): \(r.stderr)")
        }
    }

    /// outpaint: the canvas grows by --extend, the original survives exactly away from the overlap,
    /// and bad --extend values are usage errors.
    func testOutpaintGrowsTheCanvasAndKeepsTheOriginal() throws {
        let out = dir + "/out.png"
        let r = try run(["outpaint", photo, "a wall", "--extend", "20,0,30,10", "--overlap", "8", "--model", model,
                         "--steps", "2", "--seed", "3", "-q", "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = try ImageIO.read(out), original = try ImageIO.read(photo).rgb8()
        XCTAssertEqual([o.width, o.height], [original.width + 50, original.height + 10])
        var changedNew = 0
        for y in 0..<o.height { for x in 0..<o.width {
            let (ox, oy) = (x - 20, y)
            let inside = ox >= 8 && ox < original.width - 8 && oy < original.height - 8
            let px = (0..<3).map { o.samples8[(y * o.width + x) * 3 + $0] }
            if inside {
                XCTAssertEqual(px, (0..<3).map { original.samples8[(oy * original.width + ox) * 3 + $0] }, "kept pixel \(x),\(y)")
            } else if ox < 0 || ox >= original.width || oy >= original.height {
                let edge = (0..<3).map { original.samples8[(min(oy, original.height - 1) * original.width + min(max(ox, 0), original.width - 1)) * 3 + $0] }
                if px != edge { changedNew += 1 }
            }
        } }
        XCTAssertGreaterThan(changedNew, 0, "the new area was not painted")
        for bad in ["1,2", "-5", "0", "a,b,c,d"] {
            XCTAssertEqual(try run(["outpaint", photo, "x", "--extend", bad, "--model", model]).status, 64, bad)
        }
    }

    /// --batch: one model load, a bad line in the middle is reported with its number and the others
    /// still run, each job's image equals the single run with the same seed, and the exit status is
    /// the first failure's (65 for a line that is not a job).
    func testBatchRunsEveryGoodLineAndNamesTheBadOnes() throws {
        let jobs = dir + "/jobs.jsonl", a = dir + "/a.png", b = dir + "/b.png"
        try [#"{"image": "\#(photo)", "mask": "\#(mask)", "prompt": "a red brick wall", "steps": 2, "seed": 3, "output": "\#(a)"}"#,
             "{not json",
             #"{"image": "\#(dir!)/missing.png", "mask": "\#(mask)", "prompt": "x"}"#,
             "",
             #"{"image": "\#(photo)", "mask": "\#(mask)", "prompt": "a red brick wall", "steps": 2, "seed": 4, "output": "\#(b)"}"#,
        ].joined(separator: "\n").write(toFile: jobs, atomically: true, encoding: .utf8)
        let r = try run(["inpaint", "--batch", jobs, "--model", model])
        XCTAssertEqual(r.status, 65, r.stderr)
        XCTAssertTrue(r.stderr.contains("jobs.jsonl:2: not valid JSON at column 2"), r.stderr)
        XCTAssertTrue(r.stderr.contains("jobs.jsonl:3: ") && r.stderr.contains("missing.png"), r.stderr)
        XCTAssertTrue(r.stderr.contains("job 4/4 (line 5)") && r.stderr.contains("2 of 4 jobs failed"), r.stderr)
        XCTAssertEqual(r.stderr.components(separatedBy: "sdedit: loading").count, 2, "one model load")
        let single = dir + "/single.png"
        XCTAssertEqual(try inpaint(["-o", single, "-q", "--seed", "4"]).status, 0)
        XCTAssertEqual(try ImageIO.read(b), try ImageIO.read(single))
        XCTAssertTrue(FileManager.default.fileExists(atPath: a))
        XCTAssertEqual(try run(["inpaint", photo, mask, "x", "--batch", jobs, "--model", model]).status, 64, "batch with arguments")
        // A job whose output is its own input is refused, and the input is left as it was.
        let copy = dir + "/copy.png"
        try FileManager.default.copyItem(atPath: photo, toPath: copy)
        let before = try Data(contentsOf: URL(fileURLWithPath: copy))
        try #"{"image": "\#(copy)", "mask": "\#(mask)", "prompt": "x", "steps": 2, "output": "\#(copy)"}"#
            .write(toFile: jobs, atomically: true, encoding: .utf8)
        let self_ = try run(["inpaint", "--batch", jobs, "--model", model, "-q"])
        XCTAssertEqual(self_.status, 64, self_.stderr)
        XCTAssertTrue(self_.stderr.contains("refusing to overwrite an input"), self_.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: copy)), before)
    }
}

