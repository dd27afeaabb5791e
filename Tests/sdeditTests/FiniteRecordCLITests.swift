// The finite-check record as a user meets it: the first run of a model records the fp32 weights
// it found finite in SDEDIT_CACHE_DIR, the next run trusts the record and gives the same image.
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class FiniteRecordCLITests: CLITestCase {
    func testASecondRunUsesTheRecordAndGivesTheSameImage() throws {
        // The tiny UNet and text encoder are stored fp16 (converted, so never recorded); the TAESD
        // files are fp32 and mapped.
        let job = ["img2img", Fixtures.path("fewstep/turbo_img2img_taesd.png"), "a watercolor painting",
                   "--model", Fixtures.path("models/tiny-sd-turbo"), "--steps", "2", "--strength", "0.5", "--guidance", "0", "--seed", "24",
                   "--precision", "fp32", "--vae-encoder", "taesd:" + Fixtures.path("models/tiny-taesd"),
                   "--vae-decoder", "taesd:" + Fixtures.path("models/tiny-taesd-original/taesd_decoder.safetensors"), "-o", "-", "-q"]
        let first = try run(job)
        XCTAssertEqual(first.status, 0, first.stderr)
        let recordPath = cacheDir + "/finite-checked.json"
        let recorded = try Data(contentsOf: URL(fileURLWithPath: recordPath))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: recorded) as? [String: [String: Any]])
        let keys = json.values.compactMap { $0["keys"] as? [String] }
        XCTAssertEqual(keys.count, 2, "the encoder's file and the decoder's file")
        XCTAssertTrue(keys.allSatisfy { !$0.isEmpty })
        let second = try run(job)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(second.stdout, first.stdout)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: recordPath)), recorded, "nothing new to record")
    }
}
