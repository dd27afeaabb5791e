// What a new user meets first: --version, a missing system library, negative numbers after a space.
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class NewUserCLITests: CLITestCase {
    func testVersionNamesVersionAndCommit() throws {
        let r = try run(["--version"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = String(decoding: r.stdout, as: UTF8.self)
        XCTAssertTrue(line.hasPrefix("sdedit 0.1.0 (commit "), line)
        XCTAssertEqual(line.split(separator: "\n").count, 1, line)
    }

    /// OpenBLAS hidden in a private mount namespace (needs root and unshare; skipped otherwise):
    /// exit 69 and a message that names the library.
    func testMissingOpenBLASIsUnavailableAndNamed() throws {
        let probe = try shell("unshare -m true")
        try XCTSkipUnless(probe.0 == 0, "unshare -m not permitted here")
        let (status, stderr) = try shell("""
            unshare -m sh -c 'for f in $(ldconfig -p | grep libopenblas | sed "s/.*=> //"); do \
            mount --bind /dev/null "$(readlink -f "$f")" || exit 3; done; exec "$SDEDIT" info'
            """)
        XCTAssertEqual(status, 69, stderr)
        XCTAssertTrue(stderr.contains("OpenBLAS unavailable") && stderr.contains("libopenblas.so.0"), stderr)
        XCTAssertEqual(stderr.split(separator: "\n").count, 1, stderr)
    }

    func testNegativeNumbersAfterASpaceParse() throws {
        let out = dir + "/out.png"
        let grow = try inpaint(["--mask-grow", "-3", "-o", out, "-q"])
        XCTAssertEqual(grow.status, 0, grow.stderr)
        let guidance = try inpaint(["--guidance", "-1"])
        XCTAssertEqual(guidance.status, 64)
        XCTAssertTrue(guidance.stderr.contains("--guidance must be 0…100"), guidance.stderr)
        let shrink = try inpaint(["--mask-grow", "-2000"])
        XCTAssertEqual(shrink.status, 64)
        XCTAssertTrue(shrink.stderr.contains("--mask-grow must be -1024…1024"), shrink.stderr)
        let extend = try run(["outpaint", photo, "x", "--extend", "-5", "--model", model])
        XCTAssertEqual(extend.status, 64)
        XCTAssertTrue(extend.stderr.contains("--extend takes L,T,R,B or one number, each 0…8192"), extend.stderr)
    }
}
