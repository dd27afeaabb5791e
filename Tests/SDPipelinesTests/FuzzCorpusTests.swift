// Every committed fuzz seed and every finding fixed since (scripts/fuzz/corpus/TARGET/) replayed
// through the fuzz targets: each must return (errors are fine), so a regression that traps, hangs
// or crashes on a known hostile input fails here, in plain `swift test`, without libFuzzer.
import Foundation
import SDFuzzTargets
import SDTestSupport
import XCTest

final class FuzzCorpusTests: XCTestCase {
    func testCorpusReplaysWithoutTrapping() throws {
        setenv("SDEDIT_FUZZ_TOKENIZER", Fixtures.path("models/tiny-sd2-inpainting/tokenizer"), 1)
        let root = Fixtures.root + "/../scripts/fuzz/corpus"
        var replayed = 0
        for target in FuzzTargets.names {
            let dir = root + "/" + target
            let files = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
            XCTAssertFalse(files.isEmpty, "no seeds for \(target)")
            for f in files {
                FuzzTargets.run(target, [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/" + f))))
                replayed += 1
            }
        }
        XCTAssertGreaterThanOrEqual(replayed, 30)
    }
}
