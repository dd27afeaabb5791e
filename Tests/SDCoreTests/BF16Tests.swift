// --precision bf16 at the op level, against torch (scripts/make_fixtures.py bf16 → core/bf16):
// rounding is torch's .to(torch.bfloat16) bit for bit, and linear/conv2d compute on bf16-rounded
// inputs and weights with fp32 accumulation, on every GEMM kernel this CPU has (oneDNN where the CPU
// has native bf16, the portable fp32 path always). Also the oneDNN glue itself, in fp32, wherever
// libdnnl loads, so the code the native path runs is exercised on CPUs without bf16 too.
import CKernels
import SDCore
import SDTestSupport
import XCTest

final class BF16Tests: XCTestCase {
    var f: SafetensorsFile!
    override func setUpWithError() throws { f = try Fixtures.file("core/bf16.safetensors") }
    func t(_ k: String) throws -> Tensor { try f.tensor(k) }

    func testRoundingIsTorchs() throws {
        let x = try t("round.x"), y = try t("round.y")
        let ours = x.roundedToBF16
        let differing = zip(ours.storage, y.storage).filter { $0.0.bitPattern != $0.1.bitPattern }.count
        XCTAssertEqual(differing, 0, "\(differing) of \(x.count) values round differently from torch")
        XCTAssertEqual(BF16Tensor(x).float.storage.map(\.bitPattern), y.storage.map(\.bitPattern))
    }

    /// Weights converted straight from the file (every stored dtype, through the chunked scratch)
    /// are the same bits as rounding the Float32 tensor.
    func testDirectFileConversionEqualsRounding() throws {
        for file in ["core/dtypes.safetensors", "core/bf16.safetensors"] {
            let st = try Fixtures.file(file)
            for k in st.keys {
                XCTAssertEqual(try st.bf16Storage(k), BF16Tensor(try st.tensor(k)).storage, "\(file): \(k)")
            }
        }
    }

    func testLinearAndConvOnEveryKernel() throws {
        // The fixture tells the two precisions apart: fp32 weights miss the bf16 result by far more
        // than the tolerance.
        let fp32 = (try t("linear.x")).linear(weight: try t("linear.w"), bias: try t("linear.b"))
        XCTAssertFalse(compare(fp32, try t("linear.y"), Tolerances.gemm).ok, "fixture does not discriminate fp32 from bf16")
        let saved = KernelPlan.current
        defer { KernelPlan.current = saved }
        for isa in CPU.available {
            KernelPlan.current.isa = isa   // below avx512 the portable kernel runs even on a bf16 CPU
            let label = "\(isa), \(BF16GEMM.isNative ? "native" : "portable")"
            let lw = LayerWeight(try t("linear.w"), precision: .bf16)
            assertClose((try t("linear.x")).linear(weight: lw, bias: try t("linear.b")), try t("linear.y"),
                        Tolerances.gemm, "bf16 linear (\(label))")
            for (name, stride, pad) in [("c3", 1, 1), ("pw", 1, 0), ("big", 1, 1), ("down", 2, 1)] {
                let w = LayerWeight(try t("conv.\(name).w"), precision: .bf16)
                let y = (try t("conv.\(name).x")).conv2d(weight: w, bias: try t("conv.\(name).b"), stride: stride,
                                                         padding: .symmetric(pad))
                assertClose(y, try t("conv.\(name).y"), Tolerances.gemm, "bf16 conv \(name) (\(label))")
            }
        }
    }

    /// bf16 attention (AMX tiles where the CPU has them, the portable fp32 kernel on rounded values
    /// at every ISA) against fp32 SDPA on bf16-rounded q, k, v; torch's own bf16 SDPA is printed
    /// against the same reference for scale.
    func testBF16AttentionOnEveryKernel() throws {
        let saved = KernelPlan.current
        defer { KernelPlan.current = saved }
        for name in ["self", "vae", "causal", "cross"] {
            let q = try t("attn.\(name).q"), k = try t("attn.\(name).k"), v = try t("attn.\(name).v")
            let y = try t("attn.\(name).y"), meta = try t("attn.\(name).meta").storage
            let heads = Int(meta[0]), causal = meta[1] != 0
            let torchErr = maxAbsDiff(try t("attn.\(name).torch_bf16"), y)
            let fp32 = Tensor.attention(q: q, k: k, v: v, heads: heads, causal: causal)
            XCTAssertGreaterThan(maxAbsDiff(fp32, y), Tolerances.gemm.atol, "\(name): the fixture does not tell fp32 from bf16 inputs")
            for isa in CPU.available {
                KernelPlan.current.isa = isa
                for kernel in BF16Attention.available {
                    KernelPlan.current.bf16Attention = kernel
                    let label = "\(name), \(isa), \(kernel.rawValue)"
                    let ours = Tensor.attention(q: q, k: k, v: v, heads: heads, causal: causal, precision: .bf16)
                    print("bf16 attention \(label): max |Δ| \(maxAbsDiff(ours, y)) (torch bf16 SDPA: \(torchErr))")
                    assertClose(ours, y, Tolerances.bf16Attention, "bf16 attention \(label)")
                }
            }
        }
    }

    /// Packing a linear weight for oneDNN only moves values: unpacked, it is the same bits.
    func testPackedLinearWeightRoundTrips() throws {
        for (n, k) in [(40, 70), (77, 64), (3, 5)] {
            let w = BF16Tensor(TorchGenerator(seed: UInt64(n * k)).randn([n, k]))
            guard let p = PackedBF16Weight(w) else { throw XCTSkip("bf16 GEMMs are not native here: \(BF16GEMM.summary)") }
            XCTAssertEqual(p.plain.storage, w.storage, "\(n)×\(k)")
        }
    }

    func maxAbsDiff(_ a: Tensor, _ b: Tensor) -> Float {
        zip(a.storage, b.storage).reduce(0) { Swift.max($0, abs($1.0 - $1.1)) }
    }

    /// The oneDNN matmul glue (strides, transposes, the accumulate post-op) in fp32 against sgemm.
    func testOneDNNGlueInFP32() throws {
        var err = [CChar](repeating: 0, count: 256)
        guard sd_dnnl_load(&err, err.count) == 0 else {
            throw XCTSkip("oneDNN not available: \(String(cString: err))")
        }
        try BLAS.load()
        let g = TorchGenerator(seed: 11)
        let m = 37, n = 29, k = 45, pad = 3
        for transA in [false, true] { for transB in [false, true] { for beta: Float in [0, 1] {
            let (ar, ac) = transA ? (k, m) : (m, k), (br, bc) = transB ? (n, k) : (k, n)
            let a = g.randn([ar, ac + pad]), b = g.randn([br, bc + pad]), c0 = g.randn([m, n + pad])
            var ref = c0, ours = c0
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                ref.withUnsafeMutableBufferPointer { pc in
                    BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, a: pa.baseAddress!, lda: ac + pad,
                               b: pb.baseAddress!, ldb: bc + pad, beta: beta, c: pc.baseAddress!, ldc: n + pad)
                }
                ours.withUnsafeMutableBufferPointer { pc in
                    let st = sd_dnnl_gemm(0, transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k),
                                          pa.baseAddress!, Int32(ac + pad), pb.baseAddress!, Int32(bc + pad), beta,
                                          pc.baseAddress!, Int32(n + pad))
                    XCTAssertEqual(st, 0, "oneDNN status")
                }
            } }
            assertClose(ours, ref, Tolerances.gemm, "oneDNN fp32 gemm transA \(transA) transB \(transB) beta \(beta)")
        } } }
    }
}
