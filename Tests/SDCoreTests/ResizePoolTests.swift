// F.interpolate (nearest, bilinear ± align_corners, bicubic) and pooling against torch.
// Fixtures: scripts/make_fixtures.py core → fixtures/core/ops.safetensors.
import SDCore
import SDTestSupport
import XCTest

final class ResizePoolTests: XCTestCase {
    var f: SafetensorsFile!
    override func setUpWithError() throws { f = try Fixtures.file("core/ops.safetensors") }
    func t(_ k: String) throws -> Tensor { try f.tensor(k) }

    func testInterpolate() throws {
        let x = try t("interp.x"), big = try t("interp.big")
        let cases: [(String, Tensor, Int, Int, InterpolationMode, Bool)] = [
            ("nearest_down", big, 8, 6, .nearest, false),
            ("nearest_odd", x, 5, 7, .nearest, false),
            ("nearest_up2", x, 26, 34, .nearest, false),
            ("nearest_up", x, 30, 23, .nearest, false),
            ("bilinear", x, 24, 30, .bilinear, false),
            ("bilinear_ac", x, 24, 30, .bilinear, true),
            ("bilinear_down", x, 5, 7, .bilinear, false),
            ("bicubic", x, 24, 30, .bicubic, false),
            ("bicubic_down", x, 6, 8, .bicubic, false),
            ("bicubic_ac", x, 24, 30, .bicubic, true),
        ]
        for (name, input, h, w, mode, ac) in cases {
            let tol = mode == .nearest ? Tolerances.exact : Tolerances.interpolation
            assertClose(input.interpolated(height: h, width: w, mode: mode, alignCorners: ac),
                        try t("interp.\(name)"), tol, name)
        }
    }

    func testPooling() throws {
        let x = try t("pool.x")
        assertClose(x.avgPool2d(kernel: 2), try t("pool.avg"), Tolerances.reduction, "avg")
        assertClose(x.avgPool2d(kernel: 3, stride: 2, padding: 1), try t("pool.avg3"), Tolerances.reduction, "avg pad")
        assertClose(x.maxPool2d(kernel: 3, stride: 2, padding: 1), try t("pool.max"), Tolerances.exact, "max")
    }
}
