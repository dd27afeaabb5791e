// CPU feature detection against the kernel's own report (/proc/cpuinfo), and the kernel choices that
// follow from it: the ISA sdedit's kernels use and the OpenBLAS kernels it loads.
import Foundation
import SDCore
import XCTest

final class CPUTests: XCTestCase {
    func procFlags() throws -> Set<String> {
        let text = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(line.split(separator: ":")[1].split(separator: " ").map(String.init))
    }

    func testFeaturesMatchTheKernelsReport() throws {
        let flags = try procFlags()
        try XCTSkipIf(flags.isEmpty, "no /proc/cpuinfo flags")
        // Linux lists a flag only when the CPU has it and the kernel enabled its register state.
        for f in ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_vnni",
                  "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8"] {
            XCTAssertEqual(CPU.features.contains(f), flags.contains(f), "cpuid and /proc/cpuinfo disagree on \(f)")
        }
        let avx512 = ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
        let expected: KernelISA = avx512 && flags.contains("fma") ? .avx512 : (flags.contains("avx2") && flags.contains("fma") ? .avx2 : .generic)
        XCTAssertEqual(CPU.best, expected)
        XCTAssertEqual(CPU.available.last, CPU.best)
    }

    func testOpenBLASRunsKernelsForThisCPU() throws {
        try BLAS.load()
        if BLAS.coreSource == "environment" { throw XCTSkip("OPENBLAS_CORETYPE is set in the environment") }
        let core = BLAS.coreName.lowercased()
        if CPU.best == .avx512 {
            XCTAssertTrue(["skylakex", "cooperlake", "sapphirerapids"].contains(core), "AVX-512 CPU runs OpenBLAS \(core)")
        } else if CPU.best == .avx2 {
            XCTAssertTrue(["haswell", "zen", "skylakex", "cooperlake"].contains(core), "AVX2 CPU runs OpenBLAS \(core)")
        }
        XCTAssertEqual(BLAS.coreSource, CPU.best == .generic ? "openblas" : "cpu features")
    }
}
