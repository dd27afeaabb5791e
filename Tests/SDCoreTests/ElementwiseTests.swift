// Elementwise, activation, softmax, reduction and shape ops against torch.
// Fixtures: scripts/make_fixtures.py core → fixtures/core/ops.safetensors.
import SDCore
import SDTestSupport
import XCTest

final class ElementwiseTests: XCTestCase {
    var f: SafetensorsFile!
    override func setUpWithError() throws { f = try Fixtures.file("core/ops.safetensors") }
    func t(_ k: String) throws -> Tensor { try f.tensor(k) }

    func testBroadcastingBinaryOps() throws {
        let a = try t("ew.a"), b = try t("ew.b")
        assertClose(a + b, try t("ew.add"), Tolerances.exact, "add")
        assertClose(a - b, try t("ew.sub"), Tolerances.exact, "sub")
        assertClose(a * b, try t("ew.mul"), Tolerances.exact, "mul")
        assertClose(a / (try t("ew.b_div")), try t("ew.div"), Tolerances.exact, "div")
        assertClose(a + (try t("ew.c")), try t("ew.add_c"), Tolerances.exact, "add [4,1]")
        assertClose(a * 0.18215 - 1.5, try t("ew.scalar"), Tolerances.exact, "scalar")
        XCTAssertNil(Tensor.broadcastShape([2, 3], [4, 3, 2]))
    }

    /// Every kernel ISA this CPU can run (the activations, GEGLU and softmax are per-ISA C kernels).
    func testActivations() throws {
        let saved = KernelPlan.current
        defer { KernelPlan.current = saved }
        let x = try t("act.x")
        for isa in CPU.available {
            KernelPlan.current.isa = isa
            assertClose(x.silu(), try t("act.silu"), Tolerances.transcendental, "silu \(isa)")
            assertClose(x.gelu(), try t("act.gelu"), Tolerances.transcendental, "gelu \(isa)")
            assertClose(x.sigmoid(), try t("act.sigmoid"), Tolerances.transcendental, "sigmoid \(isa)")
            assertClose((try t("act.x_exp")).exp(), try t("act.exp"), Tolerances.transcendental, "exp \(isa)")
            assertClose((try t("geglu.x")).geglu(), try t("geglu.y"), Tolerances.transcendental, "geglu \(isa)")
            assertClose((try t("softmax.x")).softmax(), try t("softmax.y"), Tolerances.transcendental, "softmax \(isa)")
        }
    }

    func testReductions() throws {
        let a = try t("ew.a")
        assertClose(a.reduced(.sum, dim: 1), try t("red.sum1"), Tolerances.reduction, "sum")
        assertClose(a.reduced(.mean, dim: 3), try t("red.mean3"), Tolerances.reduction, "mean")
        assertClose(a.reduced(.max, dim: 2), try t("red.max2"), Tolerances.exact, "max")
        assertClose(a.reduced(.min, dim: 0), try t("red.min0"), Tolerances.exact, "min")
        XCTAssertEqual(a.reduced(.sum, dim: 1, keepDim: true).shape, [2, 1, 4, 5])
    }

    func testShapeOps() throws {
        let a = try t("ew.a")
        assertClose(a.permuted([0, 2, 3, 1]), try t("shape.permute"), Tolerances.exact, "permute")
        assertClose(a.transposed(1, 3), try t("shape.transpose"), Tolerances.exact, "transpose")
        assertClose(Tensor.concat([a, a * 2], dim: 1), try t("shape.cat1"), Tolerances.exact, "cat")
        assertClose(a.narrowed(dim: 2, start: 1, length: 2), try t("shape.narrow"), Tolerances.exact, "narrow")
        assertClose(a.padded2D(left: 0, right: 1, top: 0, bottom: 1), try t("shape.pad"), Tolerances.exact, "pad")
        assertClose(a.padded2D(left: 2, right: 1, top: 3, bottom: 0, value: -1), try t("shape.pad2"), Tolerances.exact, "pad value")
        let parts = Tensor.concat([a, a * 2], dim: 1).chunked(2, dim: 1)
        assertClose(parts[0], a, Tolerances.exact, "chunk 0")
        assertClose(parts[1], a * 2, Tolerances.exact, "chunk 1")
        XCTAssertEqual(a.reshaped([2, -1]).shape, [2, 60])
        XCTAssertEqual(a.repeatedBatch(2).shape, [4, 3, 4, 5])
    }
}
