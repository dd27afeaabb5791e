// A1111's parameters read back (`--params-from`), A1111's sampler names in `--scheduler`, and the
// infotext fields the job layer writes (`Schedule type`, `TI hashes`).
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class ParamsFromCLITests: CLITestCase {
    let turbo = Fixtures.path("models/tiny-sd-turbo-v")

    func text(_ path: String) throws -> String { try XCTUnwrap(ImageIO.readParameters(path: path)) }

    /// "Euler a" is euler-a: the image is diffusers' golden for the Euler-ancestral swap
    /// (fixtures/txt2img turbo_euler_a), and the infotext names it as A1111 does.
    func testA1111SamplerNamesSelectTheScheduler() throws {
        let r = try run(["txt2img", "a red brick wall", "--model", turbo, "--steps", "4", "--guidance", "0",
                         "--scheduler", "Euler a", "--seed", "40", "--precision", "fp32", "-o", dir + "/a.png", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let want = try Fixtures.file("txt2img/goldens.safetensors").tensor("turbo_euler_a.image")
        let got = try ImageIO.read(dir + "/a.png")
        assertClose(Tensor(shape: want.shape, storage: got.samples8.map(Float.init)), want, Tolerances.pipelineImage, "Euler a")
        XCTAssertTrue(try text(dir + "/a.png").contains("Steps: 4, Sampler: Euler a, CFG scale: 0.0, Seed: 40"))
        // A1111 ≥ 1.9 writes DPM++ 2M Karras as sampler + schedule type.
        XCTAssertEqual(try run(["txt2img", "x", "--model", turbo, "--steps", "2", "--seed", "1", "--scheduler", "dpm++ 2m karras",
                                "--precision", "fp32", "-o", dir + "/k.png", "-q"]).status, 0)
        XCTAssertTrue(try text(dir + "/k.png").contains("Sampler: DPM++ 2M, Schedule type: Karras, CFG scale"))
        let bad = try run(["txt2img", "x", "--model", turbo, "--scheduler", "UniPC", "-o", dir + "/u.png"])
        XCTAssertEqual(bad.status, 64, bad.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/u.png"))
    }

    /// An image's own parameters re-run it byte for byte; options given on the command line win.
    func testParamsFromReRunsAnImage() throws {
        let base = ["--model", turbo, "--precision", "fp32", "-q"]
        XCTAssertEqual(try run(["txt2img", "a red brick wall, (moss:1.2)", "--negative-prompt", "blurry", "--steps", "3",
                                "--guidance", "6", "--scheduler", "euler-a", "--seed", "9", "--width", "48", "--height", "32",
                                "-o", dir + "/first.png"] + base).status, 0)
        XCTAssertEqual(try run(["txt2img", "--params-from", dir + "/first.png", "-o", dir + "/again.png"] + base).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/first.png")),
                       try Data(contentsOf: URL(fileURLWithPath: dir + "/again.png")))
        // --seed on the command line wins: the same as giving every value by hand with that seed.
        XCTAssertEqual(try run(["txt2img", "--params-from", dir + "/first.png", "--seed", "10", "-o", dir + "/s10.png"] + base).status, 0)
        XCTAssertEqual(try run(["txt2img", "a red brick wall, (moss:1.2)", "--negative-prompt", "blurry", "--steps", "3",
                                "--guidance", "6", "--scheduler", "Euler a", "--seed", "10", "--width", "48", "--height", "32",
                                "-o", dir + "/hand.png"] + base).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/s10.png")),
                       try Data(contentsOf: URL(fileURLWithPath: dir + "/hand.png")))
        // An A1111-written text (written here as A1111 writes it) drives an img2img edit, strength included.
        let a1111 = "a red brick wall\nNegative prompt: blurry\nSteps: 4, Sampler: DDIM, Schedule type: Automatic, CFG scale: 5, "
            + "Seed: 77, Size: 64x64, Model hash: 0123456789, Model: v2-1_768-ema-pruned, Denoising strength: 0.5, Version: v1.10.1"
        try ImageIO.write(try ImageIO.read(photo), to: dir + "/a1111.png", text: [("parameters", a1111)])
        let edit = ["img2img", photo, "--model", Fixtures.path("models/tiny-sd21-base"), "--precision", "fp32", "-q"]
        XCTAssertEqual(try run(edit + ["--params-from", dir + "/a1111.png", "-o", dir + "/e1.png"]).status, 0)
        XCTAssertEqual(try run(edit + ["a red brick wall", "--negative-prompt", "blurry", "--steps", "4", "--scheduler", "ddim",
                                       "--guidance", "5", "--seed", "77", "--strength", "0.5", "-o", dir + "/e2.png"]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dir + "/e1.png")),
                       try Data(contentsOf: URL(fileURLWithPath: dir + "/e2.png")))
    }

    func testParamsFromRefusals() throws {
        // No parameters text; a sampler sdedit does not run; no prompt at all.
        var r = try run(["txt2img", "--params-from", photo, "--model", turbo, "-o", dir + "/x.png"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains(photo) && r.stderr.contains("no A1111 parameters"), r.stderr)
        try ImageIO.write(try ImageIO.read(photo), to: dir + "/unipc.png", text: [("parameters", "x\nSteps: 4, Sampler: UniPC, Seed: 1")])
        r = try run(["txt2img", "--params-from", dir + "/unipc.png", "--model", turbo, "-o", dir + "/x.png"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("Sampler: UniPC"), r.stderr)
        r = try run(["img2img", photo, "--model", turbo, "-o", dir + "/x.png"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x.png"))
    }

    /// Embeddings a prompt uses are listed with A1111's hash of their file (fixtures/lora/ti_hashes.json, hashlib).
    func testTIHashesInTheInfotext() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("lora/ti_hashes.json")))
        let h = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: String])
        let r = try run(["txt2img", "a painting of mytok", "--negative-prompt", "sunsetstyle", "--embeddings", Fixtures.path("lora/embeddings"),
                         "--model", Fixtures.path("models/tiny-sd21-base"), "--steps", "1", "--seed", "1", "-o", dir + "/ti.png", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let written = try text(dir + "/ti.png")
        XCTAssertTrue(written.hasSuffix("TI hashes: \"mytok: \(h["mytok"]!), sunsetstyle: \(h["sunsetstyle"]!)\""), written)
    }
}
