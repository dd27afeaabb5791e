// `sdedit info`: the kernel plan the CLI builds from --threads and the environment, and the one
// plain-language line saying whether the kernels are this CPU's fast path.
import SDCore
import SDTestSupport
import XCTest

final class InfoCLITests: CLITestCase {
    func testInfoPrintsThePlanAndTheFastPathLine() throws {
        let (status, out) = try shell("\"$SDEDIT\" info --threads 1 1>&2")
        XCTAssertEqual(status, 0, out)
        XCTAssertTrue(out.contains("\nplan: isa \(CPU.best), "), out)
        XCTAssertTrue(out.contains(", 1 thread, profile off\n"), out)
        if CPU.best != .generic { XCTAssertTrue(out.contains("\nkernels: \(CPU.best.displayName) (fast path for this CPU)\n"), out) }
        XCTAssertTrue(out.contains("\nweights found finite are recorded in: \(cacheDir)/finite-checked.json\n"), out)
    }

    func testAnEmptyCacheDirKeepsNoRecord() throws {
        let (status, out) = try shell("SDEDIT_CACHE_DIR= \"$SDEDIT\" info 1>&2")
        XCTAssertEqual(status, 0, out)
        XCTAssertTrue(out.contains("\nweights found finite are recorded in: nothing (SDEDIT_CACHE_DIR is empty, or no HOME)\n"), out)
    }

    func testCappedKernelsSayFallbackAndWhy() throws {
        try XCTSkipIf(CPU.best == .generic, "this CPU has only the SSE2 kernels")
        let (status, out) = try shell("SDEDIT_MAX_ISA=generic SDEDIT_WINOGRAD=sometimes \"$SDEDIT\" info 1>&2")
        XCTAssertEqual(status, 0, out)
        XCTAssertTrue(out.contains("\nkernels: SSE2 fallback (about \(CPU.best == .avx512 ? 8 : 4)× slower than this CPU's fast path"), out)
        XCTAssertTrue(out.contains("\nplan: isa generic, "), out)
        XCTAssertTrue(out.contains("warning: SDEDIT_WINOGRAD=sometimes ignored: expected 0, 1 or auto"), out)
        XCTAssertTrue(out.contains("warning: kernels limited to generic by SDEDIT_MAX_ISA"), out)
    }
}
