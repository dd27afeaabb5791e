// `sdedit depth2img` and `sdedit depth` end to end on the tiny depth model: the CLI's image equals
// diffusers' for a fixture case, the exact input size survives, --save-depth / --depth-map / depth
// agree, DPT is never needed with --depth-map, and bad depth inputs fail with their codes.
import Foundation
import SDCore
import SDPipelines
import SDTestSupport
import XCTest

final class DepthCLITests: CLITestCase {
    let depthModel = Fixtures.path("models/tiny-sd2-depth")

    func testCLIMatchesDiffusersAndKeepsTheSize() throws {
        // fixtures/depth case pndm_cfg: 64×64, PNDM, 10 steps, guidance 7.5, strength 0.8, seed 1.
        let out = dir + "/out.png"
        let r = try run(["depth2img", Fixtures.path("depth/pndm_cfg.png"), "a marble statue", "--model", depthModel,
                         "--steps", "10", "--seed", "1", "--precision", "fp32", "-o", out, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let got = try ImageIO.read(out)
        let want = try Fixtures.file("depth/goldens.safetensors").tensor("pndm_cfg.image")
        assertClose(Tensor(shape: want.shape, storage: got.samples8.map(Float.init)), want, Tolerances.pipelineImage, "CLI depth2img")
        // 100×76 is not a multiple of 8: padded, then cropped back.
        let odd = dir + "/odd.png"
        XCTAssertEqual(try run(["depth2img", photo, "x", "--model", depthModel, "--steps", "3", "--seed", "2", "-o", odd, "-q"]).status, 0)
        let im = try ImageIO.read(odd)
        XCTAssertEqual([im.width, im.height, im.channels], [100, 76, 3])
    }

    func testSaveDepthFeedsBackAndDepthCommandAgrees() throws {
        let input = Fixtures.path("depth/pndm_cfg.png")   // 64×64: no padding, so both estimates see the same image
        let saved = dir + "/saved.png", alone = dir + "/alone.png", fromMap = dir + "/map.png"
        var r = try run(["depth2img", input, "x", "--model", depthModel, "--steps", "2", "--seed", "1", "--save-depth", saved,
                         "-o", dir + "/a.png", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try run(["depth", input, "--model", depthModel, "-o", alone, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let a = try ImageIO.read(saved), b = try ImageIO.read(alone)
        XCTAssertEqual([a.width, a.height, a.channels, a.bitDepth], [64, 64, 1, 16])
        XCTAssertEqual(a.samples16, b.samples16)
        XCTAssertEqual(a.samples16.min(), 0)
        XCTAssertEqual(a.samples16.max(), 65535)
        // A folder without depth_estimator/ works with --depth-map (DPT never loaded) and fails without.
        let noDPT = dir + "/no-dpt"
        try FileManager.default.createDirectory(atPath: noDPT, withIntermediateDirectories: true)
        for part in ["model_index.json", "scheduler", "text_encoder", "tokenizer", "unet", "vae"] {
            try FileManager.default.createSymbolicLink(atPath: noDPT + "/" + part,
                                                       withDestinationPath: URL(fileURLWithPath: depthModel + "/" + part).resolvingSymlinksInPath().path)
        }
        r = try run(["depth2img", input, "x", "--model", noDPT, "--depth-map", saved, "--steps", "2", "-o", fromMap, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try run(["depth2img", input, "x", "--model", noDPT, "--steps", "2", "-o", dir + "/b.png", "-q"])
        XCTAssertEqual(r.status, 69, r.stderr)
        XCTAssertTrue(r.stderr.contains("--depth-map"), r.stderr)
    }

    func testBadDepthInputs() throws {
        let input = Fixtures.path("depth/pndm_cfg.png")
        let flat = dir + "/flat.png"
        try ImageIO.write(Image(width: 8, height: 8, channels: 1, samples8: Array(repeating: 128, count: 64)), to: flat)
        var r = try run(["depth2img", input, "x", "--model", depthModel, "--depth-map", flat, "-o", dir + "/o.png"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("flat"), r.stderr)
        r = try run(["depth2img", input, "x", "--model", depthModel, "--depth-map", dir + "/missing.png", "-o", dir + "/o.png"])
        XCTAssertEqual(r.status, 66, r.stderr)
        r = try run(["depth2img", input, "x", "--model", model, "-o", dir + "/o.png"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("not a depth model"), r.stderr)
        r = try run(["depth", input, "--model", depthModel, "-o", input])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/o.png"))
    }

    /// --batch for depth2img and upscale: one load, a bad line in the middle named by its number, the
    /// other jobs written, exit status of the failure.
    func testBatchForDepth2ImgAndUpscale() throws {
        let input = Fixtures.path("depth/pndm_cfg.png")
        let map = Fixtures.path("depth/depth_map.depth.png")
        let jobs = dir + "/jobs.jsonl"
        try """
        {"image": "\(input)", "prompt": "a", "output": "\(dir!)/1.png", "steps": 3, "seed": 1}
        not json
        {"image": "\(input)", "prompt": "b", "output": "\(dir!)/2.png", "depth_map": "\(map)", "strength": 0.5}
        {"image": "\(dir!)/missing.png", "prompt": "c", "output": "\(dir!)/3.png"}
        """.write(toFile: jobs, atomically: true, encoding: .utf8)
        let r = try run(["depth2img", "--batch", jobs, "--model", depthModel, "--steps", "2", "-q"])
        XCTAssertEqual(r.status, 65, r.stderr)
        XCTAssertTrue(r.stderr.contains("jobs.jsonl:2:"), r.stderr)
        XCTAssertTrue(r.stderr.contains("jobs.jsonl:4:"), r.stderr)
        for n in [1, 2] { XCTAssertEqual(try ImageIO.read(dir + "/\(n).png").width, 64) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/3.png"))
        let ups = dir + "/ups.jsonl"
        let small = Fixtures.path("upscale/ddim_cfg.png")
        try """
        {"image": "\(small)", "output": "\(dir!)/u1.png", "noise_level": 50}
        {"image": "\(small)", "prompt": "sharp", "output": "\(dir!)/u2.png", "noise_level": 400}
        """.write(toFile: ups, atomically: true, encoding: .utf8)
        let u = try run(["upscale", "--batch", ups, "--model", Fixtures.path("models/tiny-sd2-x4-upscaler"), "--steps", "2", "-q"])
        XCTAssertEqual(u.status, 64, u.stderr)
        XCTAssertTrue(u.stderr.contains("ups.jsonl:2: noise_level"), u.stderr)
        XCTAssertEqual(try ImageIO.read(dir + "/u1.png").width, 64)
    }
}
