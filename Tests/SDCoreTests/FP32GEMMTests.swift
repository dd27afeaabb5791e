// The fp32 GEMM backends agree: oneDNN (used on Intel AVX-512 cores) against OpenBLAS on the shapes
// the models run (a conv band with a strided C and beta 1, a Linear with transposed B, a ragged
// transposed A), within the GEMM tolerance (inputs scaled as a layer's are, outputs O(1)); and the
// same call gives the same bits. (oneDNN's rows do depend on how M is cut, unlike OpenBLAS's: the
// tiles are fixed by the shape alone, BLAS.forEachTile and the conv bands, so --threads still
// cannot change an image.)
@testable import SDCore
import SDTestSupport
import XCTest

final class FP32GEMMTests: XCTestCase {
    func testOneDNNMatchesOpenBLASAndRepeats() throws {
        try BLAS.load()
        try XCTSkipUnless(FP32GEMM.oneDNNAvailable, "oneDNN not loadable here")
        let g = TorchGenerator(seed: 11)
        // (transA, transB, m, n, k, ldc padding, beta)
        let cases: [(Bool, Bool, Int, Int, Int, Int, Float)] = [
            (false, false, 128, 700, 1152, 33, 1), (false, true, 300, 320, 320, 0, 0), (true, false, 77, 96, 130, 5, 1),
            (false, true, 1, 1280, 320, 0, 0),
        ]
        for (ta, tb, m, n, k, pad, beta) in cases {
            let a = g.randn([m * k]) * (1 / Float(k).squareRoot()), b = g.randn([n * k]), c0 = g.randn([m * (n + pad)])
            let lda = ta ? m : k, ldb = tb ? k : n, ldc = n + pad
            var outs: [Tensor] = []
            for backend in [FP32GEMM.Backend.openblas, .onednn] {
                var c = c0
                c.withUnsafeMutableBufferPointer { pc in
                    a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                        XCTAssertTrue(FP32GEMM.tile(on: backend, transA: ta, transB: tb, m: m, n: n, k: k, a: pa.baseAddress!, lda: lda,
                                                    b: pb.baseAddress!, ldb: ldb, beta: beta, c: pc.baseAddress!, ldc: ldc))
                    } }
                }
                outs.append(c)
            }
            assertClose(outs[1], outs[0], Tolerances.gemm, "oneDNN vs OpenBLAS \(m)×\(n)×\(k) tA \(ta) tB \(tb)")
            var again = c0
            again.withUnsafeMutableBufferPointer { pc in
                a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                    _ = FP32GEMM.tile(on: .onednn, transA: ta, transB: tb, m: m, n: n, k: k, a: pa.baseAddress!, lda: lda,
                                      b: pb.baseAddress!, ldb: ldb, beta: beta, c: pc.baseAddress!, ldc: ldc)
                } }
            }
            XCTAssertEqual(again, outs[1], "oneDNN run twice on the same tile")
        }
    }
}

/// Which tiles count as narrow (KernelPlan.fp32NarrowGEMM): the activation side, never the weight.
final class NarrowGEMMRuleTests: XCTestCase {
    func testTheActivationSideDecides() {
        // An 8² conv band at batch 1 and a 16² Winograd tile GEMM: 64 columns of activation.
        XCTAssertTrue(FP32GEMM.narrow(m: 1280, n: 64, transB: false))
        // A linear of an 8² map: 64 rows of x against Wᵀ.
        XCTAssertTrue(FP32GEMM.narrow(m: 64, n: 1280, transB: true))
        // TAESD's stride-2 conv: a 64-row weight against a band of 16,384 columns.
        XCTAssertFalse(FP32GEMM.narrow(m: 64, n: 16384, transB: false))
        XCTAssertFalse(FP32GEMM.narrow(m: 320, n: 4096, transB: false))
        XCTAssertFalse(FP32GEMM.narrow(m: 77, n: 1024, transB: true))
    }
}
