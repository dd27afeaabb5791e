// Linear, matmul and conv2d (every code path: pointwise, batch-folded, banded im2col, strided,
// asymmetric padding, groups) against torch. Fixtures: scripts/make_fixtures.py core → core/ops.
import SDCore
import SDTestSupport
import XCTest

final class LinearConvTests: XCTestCase {
    var f: SafetensorsFile!
    override func setUpWithError() throws { f = try Fixtures.file("core/ops.safetensors") }
    func t(_ k: String) throws -> Tensor { try f.tensor(k) }

    func testLinearAndMatmul() throws {
        let x = try t("linear.x"), w = try t("linear.w")
        assertClose(x.linear(weight: w, bias: try t("linear.b")), try t("linear.y"), Tolerances.gemm, "linear")
        assertClose(x.linear(weight: w, bias: nil), try t("linear.y_nobias"), Tolerances.gemm, "linear no bias")
        let a = try t("matmul.a")
        assertClose(a.matmul(try t("matmul.b")), try t("matmul.y"), Tolerances.gemm, "batched matmul")
        assertClose(a.matmul(try t("matmul.b2")), try t("matmul.y2"), Tolerances.gemm, "matmul 2-D rhs")
        assertClose(a.matmul((try t("matmul.b")).transposed(1, 2), transposeB: true), try t("matmul.y"),
                    Tolerances.gemm, "matmul transposed rhs")
    }

    struct Case { let name: String; let stride: Int; let pad: Padding2D; let groups: Int }

    let cases: [Case] = [
        Case(name: "c3", stride: 1, pad: .symmetric(1), groups: 1),
        Case(name: "c3big", stride: 1, pad: .symmetric(1), groups: 1),
        Case(name: "down", stride: 2, pad: Padding2D(top: 0, bottom: 1, left: 0, right: 1), groups: 1),
        Case(name: "down_sym", stride: 2, pad: .symmetric(1), groups: 1),
        Case(name: "pw", stride: 1, pad: .symmetric(0), groups: 1),
        Case(name: "pw_nobias", stride: 1, pad: .symmetric(0), groups: 1),
        Case(name: "groups", stride: 1, pad: .symmetric(1), groups: 2),
        Case(name: "stem", stride: 2, pad: .symmetric(3), groups: 1),
        Case(name: "k4s4", stride: 4, pad: .symmetric(0), groups: 1),
    ]

    func runConvCases(_ label: String) throws {
        for c in cases {
            let bias = f.info("conv.\(c.name).b") != nil ? try t("conv.\(c.name).b") : nil
            let y = (try t("conv.\(c.name).x")).conv2d(weight: try t("conv.\(c.name).w"), bias: bias,
                                                       stride: c.stride, padding: c.pad, groups: c.groups)
            assertClose(y, try t("conv.\(c.name).y"), Tolerances.gemm, "conv \(c.name) (\(label))")
        }
    }

    func testConv2dDefaultPaths() throws { try runConvCases("default") }

    /// The 3×3 stride-1 padding-1 cases on Winograd F(4×4, 3×3) against torch.
    func testConv2dWinograd() throws {
        let saved = KernelPlan.current
        KernelPlan.current.winograd = .on
        defer { KernelPlan.current = saved }
        for c in cases where c.stride == 1 && c.pad == .symmetric(1) && c.groups == 1 {
            let w = try t("conv.\(c.name).w")
            XCTAssertTrue(Winograd.applies(weight: w.shape, stride: 1, padding: c.pad, groups: 1))
            let y = (try t("conv.\(c.name).x")).conv2d(weight: w, bias: try t("conv.\(c.name).b"), padding: c.pad)
            assertClose(y, try t("conv.\(c.name).y"), Tolerances.winograd, "conv \(c.name) (winograd)")
        }
    }

    /// A tiny im2col budget forces several bands per image (the VAE path at 512²).
    func testConv2dBanded() throws {
        let saved = KernelPlan.current
        KernelPlan.current.im2colFloats = 300
        defer { KernelPlan.current = saved }
        try runConvCases("banded")
    }
}
