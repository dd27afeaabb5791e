// `sdedit img2img` end to end on the tiny SD 2.1-style base model: the CLI's image equals diffusers'
// for a fixture case, odd sizes survive, and a non-base model is refused.
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class Img2ImgCLITests: CLITestCase {
    func testCLIMatchesDiffusersAndRefusesOtherModels() throws {
        let base = Fixtures.path("models/tiny-sd21-base"), out = dir + "/out.png"
        // fixtures/img2img case ddim_v: 64×64, DDIM v-prediction, 10 steps, strength 0.8, seed 1.
        var r = try run(["img2img", Fixtures.path("img2img/ddim_v.png"), "a watercolor painting", "--model", base,
                         "--steps", "10", "--seed", "1", "--precision", "fp32", "-o", out, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let want = try Fixtures.file("img2img/goldens.safetensors").tensor("ddim_v.image")
        let got = try ImageIO.read(out)
        assertClose(Tensor(shape: want.shape, storage: got.samples8.map(Float.init)), want, Tolerances.pipelineImage, "CLI img2img")
        r = try run(["img2img", photo, "x", "--model", base, "--steps", "3", "-o", dir + "/odd.png", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try ImageIO.read(dir + "/odd.png").width, 100)
        r = try run(["img2img", photo, "x", "--model", model, "-o", dir + "/bad.png"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("not a base model"), r.stderr)
        r = try run(["img2img", photo, "x", "--model", base, "--strength", "0.01", "--steps", "10", "-o", dir + "/none.png"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("leaves no denoising step"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/bad.png"))
        // The same base model inpaints (4-channel path) and outpaints.
        r = try inpaint(["-o", dir + "/in4.png", "-q"], model: base)
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try run(["outpaint", photo, "x", "--extend", "8", "--model", base, "--steps", "2", "-o", dir + "/out4.png", "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try ImageIO.read(dir + "/out4.png").width, 116)
    }
}
