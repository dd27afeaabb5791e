// `--deep-cache N` end to end: the CLI's img2img image equals diffusers' with the DeepCache package's
// helper (fixtures/deepcache case img2img_ddim_s06_i2), the PNG parameters record the interval, the
// tiled upscaler runs with one cache per tile, and a bad interval is refused before any work.
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class DeepCacheCLITests: CLITestCase {
    func testDeepCacheMatchesTheReferenceAndIsRecorded() throws {
        let out = dir + "/dc.png"
        // img2img_ddim_s06_i2: 64×64, DDIM v-prediction, 10 steps, strength 0.6, seed 25, guidance 7.5, interval 2.
        var r = try run(["img2img", Fixtures.path("deepcache/img2img_ddim_s06_i2.png"), "a watercolor painting",
                         "--model", Fixtures.path("models/tiny-sd21-base"), "--scheduler", "ddim", "--steps", "10",
                         "--strength", "0.6", "--seed", "25", "--deep-cache", "2", "--precision", "fp32", "-o", out, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let want = try Fixtures.file("deepcache/goldens.safetensors").tensor("img2img_ddim_s06_i2.image")
        let got = try ImageIO.read(out)
        assertClose(Tensor(shape: want.shape, storage: got.samples8.map(Float.init)), want, Tolerances.pipelineImage, "CLI deep cache")
        XCTAssertTrue(String(decoding: try Data(contentsOf: URL(fileURLWithPath: out)), as: UTF8.self).contains(", Deep cache: 2, "))

        let up = dir + "/up.png"
        r = try run(["upscale", photo, "x", "--model", Fixtures.path("models/tiny-sd2-x4-upscaler"), "--steps", "3",
                     "--tile", "32", "--tile-overlap", "8", "--deep-cache", "3", "--seed", "1", "-o", up, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(String(decoding: try Data(contentsOf: URL(fileURLWithPath: up)), as: UTF8.self).contains(", Deep cache: 3, "))

        r = try inpaint(["--deep-cache", "0", "-o", dir + "/bad.png"])
        XCTAssertEqual(r.status, 64, r.stderr)
        XCTAssertTrue(r.stderr.contains("--deep-cache"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/bad.png"))
        r = try inpaint(["-o", dir + "/plain.png"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(String(decoding: try Data(contentsOf: URL(fileURLWithPath: dir + "/plain.png")), as: UTF8.self).contains("Deep cache"))
    }
}
