// GroupNorm (with fused SiLU), LayerNorm and attention (plain, scaled, causal, chunked) against torch.
// Fixtures: scripts/make_fixtures.py core → fixtures/core/ops.safetensors.
import SDCore
import SDTestSupport
import XCTest

final class NormAttentionTests: XCTestCase {
    var f: SafetensorsFile!
    override func setUpWithError() throws { f = try Fixtures.file("core/ops.safetensors") }
    func t(_ k: String) throws -> Tensor { try f.tensor(k) }

    /// Every kernel ISA this CPU can run (GroupNorm is a per-ISA C kernel).
    func testGroupNorm() throws {
        let saved = KernelPlan.current
        defer { KernelPlan.current = saved }
        let x = try t("gn.x"), w = try t("gn.w"), b = try t("gn.b")
        for isa in CPU.available {
            KernelPlan.current.isa = isa
            assertClose(x.groupNorm(groups: 4, weight: w, bias: b, eps: 1e-6), try t("gn.y_eps6"), Tolerances.reduction, "gn \(isa)")
            assertClose(x.groupNorm(groups: 2, weight: w, bias: b, eps: 1e-5, silu: true), try t("gn.y_eps5_silu"),
                        Tolerances.reduction, "gn+silu \(isa)")
            assertClose(x.groupNorm(groups: 8, weight: nil, bias: nil, eps: 1e-5), try t("gn.y_noaffine"),
                        Tolerances.reduction, "gn no affine \(isa)")
        }
    }

    func testLayerNorm() throws {
        let x = try t("ln.x"), w = try t("ln.w"), b = try t("ln.b")
        assertClose(x.layerNorm(weight: w, bias: b, eps: 1e-5), try t("ln.y"), Tolerances.reduction, "ln")
        assertClose(x.layerNorm(weight: w, bias: b, eps: 1e-12), try t("ln.y12"), Tolerances.reduction, "ln eps 1e-12")
    }

    func runAttention(_ label: String) throws {
        let q = try t("attn.q"), k = try t("attn.k"), v = try t("attn.v")
        assertClose(Tensor.attention(q: q, k: k, v: v, heads: 4), try t("attn.y"), Tolerances.gemm, "attention \(label)")
        assertClose(Tensor.attention(q: q, k: k, v: v, heads: 4, scale: 0.3), try t("attn.y_scale"),
                    Tolerances.gemm, "attention scale \(label)")
        assertClose(Tensor.attention(q: try t("attn.qs"), k: k, v: v, heads: 4, causal: true), try t("attn.y_causal"),
                    Tolerances.gemm, "attention causal \(label)")
    }

    /// Every kernel ISA this CPU can run (SDEDIT_MAX_ISA's levels), each against torch.
    func testAttention() throws {
        let saved = KernelPlan.current
        defer { KernelPlan.current = saved }
        for isa in CPU.available {
            KernelPlan.current.isa = isa
            try runAttention("\(isa)")
        }
    }

    /// The real models' head sizes (64, 40, the VAE's 512) through every kernel ISA this CPU runs,
    /// against torch's scaled_dot_product_attention (fixtures/core/attention_sizes.safetensors).
    func testAttentionAtModelHeadSizes() throws {
        let sizes = try Fixtures.file("core/attention_sizes.safetensors")
        let saved = KernelPlan.current
        defer { KernelPlan.current = saved }
        let cases: [(String, Int, Bool)] = [("self64", 1, false), ("cross64", 2, false), ("causal40", 1, true), ("vae512", 1, false)]
        for isa in CPU.available {
            KernelPlan.current.isa = isa
            for (name, heads, causal) in cases {
                let y = Tensor.attention(q: try sizes.tensor("\(name).q"), k: try sizes.tensor("\(name).k"),
                                         v: try sizes.tensor("\(name).v"), heads: heads, causal: causal)
                assertClose(y, try sizes.tensor("\(name).y"), Tolerances.gemm, "\(name) (\(isa))")
            }
        }
    }
}
