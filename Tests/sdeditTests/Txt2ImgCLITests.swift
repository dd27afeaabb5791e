// `sdedit txt2img` end to end: the CLI's image equals diffusers' StableDiffusionPipeline for fixture
// cases (SD 2.1-style DDIM v-prediction; the SD-Turbo-style config at guidance 0 with a scheduler swap),
// the default size and name, --count, the A1111 parameters text (no denoising strength), and refusals.
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class Txt2ImgCLITests: CLITestCase {
    func golden(_ name: String) throws -> Tensor { try Fixtures.file("txt2img/goldens.safetensors").tensor("\(name).image") }

    func assertImage(_ path: String, equals name: String) throws {
        let want = try golden(name)
        let got = try ImageIO.read(path)
        assertClose(Tensor(shape: want.shape, storage: got.samples8.map(Float.init)), want, Tolerances.pipelineImage, "CLI txt2img \(name)")
    }

    func testCLIMatchesDiffusers() throws {
        // fixtures/txt2img case sd21_ddim_v: 64×64 (the tiny UNet's sample_size 8 × 8), DDIM v, 8 steps, seed 34.
        var r = try run(["txt2img", "a red brick wall", "--model", Fixtures.path("models/tiny-sd21-base"), "--steps", "8",
                         "--seed", "34", "--precision", "fp32", "-o", dir + "/v.png", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        try assertImage(dir + "/v.png", equals: "sd21_ddim_v")
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: dir + "/v.png")), as: UTF8.self)
        XCTAssertTrue(text.contains("parameters\u{0}a red brick wall\nSteps: 8, Sampler: DDIM, CFG scale: 7.5, Seed: 34, Size: 64x64"), "parameters")
        XCTAssertFalse(text.contains("Denoising strength"))
        // turbo_euler_a: the trailing Euler config swapped to Euler a (keys kept), 4 steps, guidance 0.
        r = try run(["txt2img", "a red brick wall", "--model", Fixtures.path("models/tiny-sd-turbo-v"), "--steps", "4",
                     "--guidance", "0", "--scheduler", "euler-a", "--seed", "40", "--precision", "fp32", "-o", dir + "/t.png", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        try assertImage(dir + "/t.png", equals: "turbo_euler_a")
    }

    func testDefaultNameSizeCountAndStdout() throws {
        let sd1 = Fixtures.path("models/tiny-sd1")
        var r = try shell("cd '\(dir!)' && \"$SDEDIT\" txt2img x --model '\(sd1)' --steps 1 --seed 5 --count 2 --width 72 --height 40 -q")
        XCTAssertEqual(r.0, 0, r.1)
        for n in 1...2 {
            let im = try ImageIO.read(dir + "/txt2img-\(n).png")
            XCTAssertEqual([im.width, im.height], [72, 40])
        }
        r = try shell("cd '\(dir!)' && \"$SDEDIT\" txt2img x --model '\(sd1)' --steps 1 -o - > one.png")
        XCTAssertEqual(r.0, 0, r.1)
        XCTAssertTrue(r.1.contains("sdedit: seed "), r.1)
        let im = try ImageIO.read(dir + "/one.png")
        XCTAssertEqual([im.width, im.height], [64, 64])
    }

    func testRefusals() throws {
        let sd1 = Fixtures.path("models/tiny-sd1")
        var r = try run(["txt2img", "x", "--model", sd1, "--width", "60", "-o", dir + "/bad.png"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("--width must be a multiple of 8"), r.stderr)
        r = try run(["txt2img", "x", "--model", Fixtures.path("models/tiny-sd2-x4-upscaler"), "-o", dir + "/bad.png"])
        XCTAssertNotEqual(r.status, 0, r.stderr)
        r = try run(["txt2img", "x", "--model", sd1, "--width", "4096", "--height", "4096", "--max-pixels", "1000", "-o", dir + "/bad.png"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("exceeds --max-pixels"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/bad.png"))
    }
}

final class FillCLITests: CLITestCase {
    /// --fill reaches the pipeline (a different image from the default), is named in the A1111 text
    /// as A1111 names it, works for outpaint too, and an unknown mode is a usage error.
    func testFillModes() throws {
        var r = try inpaint(["--strength", "0.7", "--steps", "4", "-o", dir + "/orig.png", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try inpaint(["--strength", "0.7", "--steps", "4", "--fill", "latent-noise", "-o", dir + "/noise.png", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertNotEqual(try ImageIO.read(dir + "/orig.png").storage, try ImageIO.read(dir + "/noise.png").storage)
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: dir + "/noise.png")), as: UTF8.self)
        XCTAssertTrue(text.contains("Masked content: latent noise"), "parameters")
        XCTAssertFalse(String(decoding: try Data(contentsOf: URL(fileURLWithPath: dir + "/orig.png")), as: UTF8.self).contains("Masked content"))
        r = try run(["outpaint", photo, "x", "--extend", "8", "--model", model, "--steps", "2", "--strength", "0.8", "--fill", "fill",
                     "-o", dir + "/out.png", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try inpaint(["--fill", "noise", "-o", dir + "/bad.png"])
        XCTAssertEqual(r.status, 64, r.stderr)
    }
}
