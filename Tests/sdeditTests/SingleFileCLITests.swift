// Every job from a single-file checkpoint, end to end: with its folder as --config the output is
// the folder's, pixel for pixel; without one the built-in configs apply (and refuse a tiny file by
// its first weight); a depth single file's estimator is its own MiDaS (depth_model.*), or, in a file
// without one, --config's or none (--depth-map); pickles and misplaced options fail with their
// documented exit codes and leave no output.
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class SingleFileCLITests: CLITestCase {
    func single(_ name: String) -> String { Fixtures.path("models/single/\(name).safetensors") }
    func folder(_ name: String) -> String { Fixtures.path("models/\(name)") }

    /// `job` run with the folder and with the single file (+ --config): both succeed with the same image.
    func assertSameOutput(_ name: String, _ job: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let a = dir + "/\(name)-folder.png", b = dir + "/\(name)-single.png"
        var r = try run(job + ["--model", folder(name), "-o", a, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        r = try run(job + ["--model", single(name), "--config", folder(name), "-o", b, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
        // Same pixels (the PNG metadata names the model, so the bytes differ there).
        XCTAssertEqual(try ImageIO.read(a).storage, try ImageIO.read(b).storage, "\(name): single file and folder differ",
                       file: file, line: line)
    }

    func testEveryJobRunsFromASingleFile() throws {
        let steps = ["--steps", "3", "--seed", "7", "--precision", "fp32"]
        try assertSameOutput("tiny-sd2-inpainting", ["inpaint", photo, mask, "a red brick wall"] + steps)
        try assertSameOutput("tiny-sd21-base", ["img2img", photo, "a watercolor painting"] + steps)
        try assertSameOutput("tiny-sd1", ["img2img", photo, "a watercolor painting"] + steps)
        try assertSameOutput("tiny-sd1", ["inpaint", photo, mask, "a red brick wall"] + steps)
        try assertSameOutput("tiny-sd2-depth", ["depth2img", photo, "a marble statue"] + steps)
        let small = dir + "/small.png"
        try ImageIO.write(Image(width: 24, height: 16, channels: 3, samples8: (0..<(24 * 16 * 3)).map { UInt8($0 % 251) }), to: small)
        try assertSameOutput("tiny-sd2-x4-upscaler", ["upscale", small, "a sharp photo"] + steps)
    }

    /// `sdedit info --model` says what a file is taken for.
    func testInfoDescribesTheModel() throws {
        for (name, want) in [("tiny-sd1", "stable-diffusion-v1-5 (4-channel UNet, CLIP ViT-L/14 text encoder, epsilon)"),
                             ("tiny-sd21-base", "stable-diffusion-2-1 (4-channel UNet, OpenCLIP ViT-H/14 text encoder, v_prediction)"),
                             ("tiny-sd2-x4-upscaler", "stable-diffusion-x4-upscaler (7-channel UNet")] {
            let r = try run(["info", "--model", single(name)])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(String(decoding: r.stdout, as: UTF8.self).contains(want), String(decoding: r.stdout, as: UTF8.self))
        }
        let r = try run(["info", "--model", folder("tiny-sd1")])
        XCTAssertTrue(String(decoding: r.stdout, as: UTF8.self).contains("diffusers folder"))
        let depth = try run(["info", "--model", single("tiny-sd2-depth")])
        XCTAssertTrue(String(decoding: depth.stdout, as: UTF8.self).contains("epsilon, MiDaS DPT-hybrid depth estimator)"),
                      String(decoding: depth.stdout, as: UTF8.self))
    }

    /// The depth file's own MiDaS, with a --config folder that has no depth_estimator weights (only
    /// its config.json): depth2img gives the folder's pixels and `sdedit depth` the folder's PNG bytes.
    func testDepthFromTheFilesMiDaS() throws {
        let fm = FileManager.default, cfg = dir + "/sd2-depth-config-only"
        try fm.createDirectory(atPath: cfg + "/depth_estimator", withIntermediateDirectories: true)
        for part in ["unet", "vae", "text_encoder", "tokenizer", "scheduler", "feature_extractor", "model_index.json"] {
            try fm.createSymbolicLink(atPath: cfg + "/" + part, withDestinationPath: folder("tiny-sd2-depth") + "/" + part)
        }
        try fm.createSymbolicLink(atPath: cfg + "/depth_estimator/config.json",
                                  withDestinationPath: folder("tiny-sd2-depth") + "/depth_estimator/config.json")
        let steps = ["--steps", "3", "--seed", "7", "--precision", "fp32", "-q"]
        let a = dir + "/folder.png", b = dir + "/single.png"
        var r = try run(["depth2img", photo, "a marble statue", "--model", folder("tiny-sd2-depth"), "-o", a] + steps)
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try run(["depth2img", photo, "a marble statue", "--model", single("tiny-sd2-depth"), "--config", cfg, "-o", b] + steps)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try ImageIO.read(a).storage, try ImageIO.read(b).storage)
        let da = dir + "/folder-depth.png", db = dir + "/single-depth.png"
        r = try run(["depth", photo, "--model", folder("tiny-sd2-depth"), "-o", da, "--precision", "fp32", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try run(["depth", photo, "--model", single("tiny-sd2-depth"), "--config", cfg, "-o", db, "--precision", "fp32", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: da)), try Data(contentsOf: URL(fileURLWithPath: db)))
    }

    func testSingleFileMisuseFailsCleanly() throws {
        // Built-in configs are the real checkpoints': the tiny file's first weight is the wrong size.
        var r = try run(["inpaint", photo, mask, "x", "--model", single("tiny-sd2-inpainting"), "-o", dir + "/a.png"])
        XCTAssertEqual(r.status, 65, r.stderr)
        XCTAssertTrue(r.stderr.contains(single("tiny-sd2-inpainting")) && r.stderr.contains("expected [49408, 1024]"), r.stderr)
        // The depth estimator of a single file comes from --config; a depth map works without one.
        r = try run(["depth2img", photo, "x", "--model", single("tiny-sd2-depth"), "-o", dir + "/d.png"])
        XCTAssertEqual(r.status, 65, r.stderr)  // built-in configs again refuse the tiny weights first
        // A config folder of the depth model without its depth_estimator/ (as a user's may be).
        let noDPT = dir + "/sd2-depth-no-dpt"
        try FileManager.default.createDirectory(atPath: noDPT, withIntermediateDirectories: true)
        for part in ["unet", "vae", "text_encoder", "tokenizer", "scheduler", "model_index.json"] {
            try FileManager.default.createSymbolicLink(atPath: noDPT + "/" + part, withDestinationPath: folder("tiny-sd2-depth") + "/" + part)
        }
        let map = dir + "/map.png"
        try ImageIO.write(Image(width: 100, height: 75, channels: 1, samples8: (0..<7500).map { UInt8($0 % 200) }), to: map)
        // The file's own MiDaS then takes the built-in (real-size) DPT config, which the tiny weights do not fit.
        r = try run(["depth2img", photo, "x", "--model", single("tiny-sd2-depth"), "--config", noDPT,
                     "--steps", "2", "-o", dir + "/d2.png"])
        XCTAssertEqual(r.status, 65, r.stderr)
        XCTAssertTrue(r.stderr.contains("depth_model.model.") && r.stderr.contains("expected"), r.stderr)
        // A depth file saved without its MiDaS needs a depth_estimator/ from --config, or --depth-map.
        let bare = try rewrittenSafetensors(single("tiny-sd2-depth"), in: dir) { t in
            for k in t.keys where k.hasPrefix("depth_model.") { t[k] = nil }
        }
        r = try run(["depth2img", photo, "x", "--model", bare, "--config", noDPT, "--steps", "2", "-o", dir + "/d4.png"])
        XCTAssertEqual(r.status, 69, r.stderr)
        XCTAssertTrue(r.stderr.contains("--config") && r.stderr.contains("--depth-map"), r.stderr)
        for model in [single("tiny-sd2-depth"), bare] {
            r = try run(["depth2img", photo, "x", "--model", model, "--config", noDPT,
                         "--depth-map", map, "--steps", "2", "-o", dir + "/d3.png", "-q"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        // --config belongs to single files; --prediction-type takes the diffusers names only.
        r = try run(["img2img", photo, "x", "--model", folder("tiny-sd1"), "--config", folder("tiny-sd1"), "-o", dir + "/c.png"])
        XCTAssertEqual(r.status, 64, r.stderr)
        r = try run(["img2img", photo, "x", "--model", single("tiny-sd1"), "--config", folder("tiny-sd1"), "--prediction-type", "x0",
                     "-o", dir + "/p.png"])
        XCTAssertEqual(r.status, 64, r.stderr)
        // v-prediction on an epsilon model changes the result (the override reaches the scheduler).
        let eps = dir + "/eps.png", v = dir + "/v.png"
        for (out, p) in [(eps, "epsilon"), (v, "v_prediction")] {
            r = try run(["img2img", photo, "x", "--model", single("tiny-sd1"), "--config", folder("tiny-sd1"), "--prediction-type", p,
                         "--steps", "3", "--seed", "1", "-o", out, "-q"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        XCTAssertNotEqual(try ImageIO.read(eps).storage, try ImageIO.read(v).storage)
        // A pickle is refused before it is opened, with the advice to use or make a .safetensors.
        let ckpt = dir + "/sd-v1-5.ckpt"
        try Data("PK\u{3}\u{4} not really".utf8).write(to: URL(fileURLWithPath: ckpt))
        r = try run(["img2img", photo, "x", "--model", ckpt, "-o", dir + "/k.png"])
        XCTAssertEqual(r.status, 69, r.stderr)
        XCTAssertTrue(r.stderr.contains("pickle") && r.stderr.contains(".safetensors"), r.stderr)
        for f in ["a.png", "d.png", "d2.png", "d4.png", "c.png", "p.png", "k.png"] {
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/" + f), f)
        }
    }
}
