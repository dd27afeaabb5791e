// `sdedit img2img` / `inpaint` with the few-step options on the tiny SD-Turbo-like model: the CLI's
// image equals diffusers' (StableDiffusionImg2ImgPipeline with an AutoencoderTiny as its vae; the
// turbo scheduler; --scheduler lcm), the PNG parameters record the TAESD, bad values are refused.
// Fixtures: scripts/make_fixtures.py fewstep → fixtures/fewstep/, models/tiny-sd-turbo, tiny-taesd*.
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class FewStepCLITests: CLITestCase {
    let turbo = Fixtures.path("models/tiny-sd-turbo")

    func golden(_ name: String, _ out: String) throws {
        let want = try Fixtures.file("fewstep/goldens.safetensors").tensor("\(name).image")
        let got = try ImageIO.read(out)
        assertClose(Tensor(shape: want.shape, storage: got.samples8.map(Float.init)), want, Tolerances.pipelineImage, "CLI \(name)")
    }

    func testTAESDImg2ImgMatchesDiffusers() throws {
        // Case turbo_img2img_taesd: 64×64, 2 steps, strength 0.5, guidance 0, seed 24; the encoder from the
        // diffusers folder, the decoder from the original-layout file (the same weights).
        let out = dir + "/taesd.png"
        let r = try run(["img2img", Fixtures.path("fewstep/turbo_img2img_taesd.png"), "a watercolor painting", "--model", turbo,
                         "--steps", "2", "--strength", "0.5", "--guidance", "0", "--seed", "24", "--precision", "fp32",
                         "--vae-encoder", "taesd:" + Fixtures.path("models/tiny-taesd"),
                         "--vae-decoder", "taesd:" + Fixtures.path("models/tiny-taesd-original/taesd_decoder.safetensors"),
                         "-o", out])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("decoding with TAESD"), r.stderr)
        try golden("turbo_img2img_taesd", out)
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: out)), as: UTF8.self)
        XCTAssertTrue(text.contains("VAE encoder: taesd tiny-taesd, VAE decoder: taesd taesd_decoder.safetensors"), "parameters")
        XCTAssertTrue(text.contains("Sampler: Euler, CFG scale: 0.0"), "parameters")
    }

    func testLCMInpaintMatchesDiffusers() throws {
        // Case lcm_inpaint4: 80×48, LCM 4 steps, guidance 1, strength 1, seed 33, raw output.
        let out = dir + "/lcm.png"
        let r = try run(["inpaint", Fixtures.path("fewstep/lcm_inpaint4.image.png"), Fixtures.path("fewstep/lcm_inpaint4.mask.png"),
                         "a red brick wall", "--model", turbo, "--scheduler", "lcm", "--steps", "4", "--guidance", "1",
                         "--seed", "33", "--precision", "fp32", "--area", "whole", "--no-composite", "-o", out, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        try golden("lcm_inpaint4", out)
        XCTAssertTrue(String(decoding: try Data(contentsOf: URL(fileURLWithPath: out)), as: UTF8.self).contains("Sampler: LCM"))
    }

    func testBadTAESDValuesAreRefused() throws {
        var r = try run(["img2img", photo, "x", "--model", turbo, "--vae-decoder", Fixtures.path("models/tiny-taesd"), "-o", dir + "/a.png"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("use taesd:PATH"), r.stderr)
        r = try run(["img2img", photo, "x", "--model", turbo, "--vae-encoder",
                     "taesd:" + Fixtures.path("models/tiny-taesd-original/taesd_decoder.safetensors"), "-o", dir + "/b.png"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("decoder only"), r.stderr)
        r = try run(["img2img", photo, "x", "--model", turbo, "--vae-decoder", "taesd:" + dir + "/absent", "-o", dir + "/c.png", "-q"])
        XCTAssertNotEqual(r.status, 0, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/c.png"))
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
    }
}
