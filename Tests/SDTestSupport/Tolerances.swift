// The one table of test tolerances. Each entry says why it is that size.
// A comparison passes when |actual − expected| ≤ atol + rtol·|expected| for every element.

public struct Tolerance: CustomStringConvertible {
    public let atol: Float
    public let rtol: Float
    public init(atol: Float, rtol: Float) { self.atol = atol; self.rtol = rtol }
    public var description: String { "atol \(atol), rtol \(rtol)" }
}

public enum Tolerances {
    /// Bit-exact: integer arithmetic, copies, IEEE single operations done in the same order
    /// (add/sub/mul/div, permute/concat/pad, RNG, Pillow fixed-point resize, PNG decode).
    public static let exact = Tolerance(atol: 0, rtol: 0)
    /// SIMD exp/erf/sigmoid polynomials vs ATen's vectorised math: both within a few ulp of the true
    /// value. Measured (2026-11-23): GELU 7.2e-7, SiLU 4.8e-7, softmax 1.2e-7 absolute; exp 1.1e-8 relative.
    public static let transcendental = Tolerance(atol: 1e-6, rtol: 2e-6)
    /// Reductions and norms: float vs double accumulation order. Measured: GroupNorm 7.2e-7,
    /// LayerNorm 7.2e-7, sum 2.4e-7 absolute on O(1–10) values.
    public static let reduction = Tolerance(atol: 1e-5, rtol: 1e-5)
    /// sgemm-based ops (linear, matmul, conv, attention): OpenBLAS vs MKL/oneDNN summation order.
    /// Measured: conv ≤ 3.8e-6 (7×7 stem, K = 147), linear 2.9e-6 absolute on outputs up to ~12;
    /// relative to the largest output ≤ 3.2e-7. The fused attention kernel against torch's SDPA
    /// (2026-12-01, SSE2 and AVX2 levels): ≤ 7.2e-7 at head widths 6–64, 1.0e-6 at the VAE's 512.
    public static let gemm = Tolerance(atol: 2e-5, rtol: 1e-5)
    /// Interpolation weights computed in float as ATen does; only association order differs.
    /// Measured: bicubic 1.8e-6, bilinear 1.3e-6 absolute on values up to ~3.
    public static let interpolation = Tolerance(atol: 3e-6, rtol: 1e-6)
    /// JPEG decode: system libjpeg-turbo vs the copy bundled in Pillow's wheel. Both use the same
    /// islow IDCT and fancy upsampling; measured 0 difference on the fixtures (baseline, progressive, gray).
    public static let jpeg = Tolerance(atol: 0, rtol: 0)
    /// Whole networks (text encoder, VAE, UNet) on the tiny random models: GEMM order differences
    /// compounded through the layers. Measured: text encoder 1.3e-6, UNet 1.8e-6, VAE decode 3.8e-6,
    /// posterior sample 2.1e-6 absolute on outputs up to ~4; DPT-hybrid predicted_depth 1.7e-5 on
    /// values up to 5.9 (2026-12-02; transformers' own 1-vs-2-thread noise 5.3e-6).
    public static let model = Tolerance(atol: 2e-5, rtol: 1e-5)
    /// Scheduler arithmetic: float32 scalar formulas; torch's sqrt/pow on x86 are not correctly
    /// rounded (spec §5.1), so constants can differ by 1 ulp and compound over the steps.
    /// Measured: ≤ 2.7e-6 absolute over 10 steps on samples up to 17 (all six schedulers).
    public static let scheduler = Tolerance(atol: 1e-5, rtol: 1e-5)
    /// Whole inpaint pipelines (tiny model, 6–10 steps): final latents. diffusers' own run-to-run noise
    /// (1 vs 2 torch threads, fixtures/inpaint/reference_noise.json) reaches 2.0e-4.
    public static let pipelineLatents = Tolerance(atol: 3e-4, rtol: 1e-4)
    /// Whole inpaint pipelines: 8-bit output pixels. diffusers' own run-to-run noise reaches 1 grey level.
    public static let pipelineImage = Tolerance(atol: 1, rtol: 0)
    /// --precision bf16 end to end on the tiny inpainting model against diffusers fp32 (all the
    /// pipeline cases, 8-bit output). Measured 2026-12-01 on the portable bf16 kernels (Zen 3): worst
    /// case max 11 grey levels (euler_a), worst mean 1.36; other cases 3–9 max, 0.35–1.16 mean. On
    /// the native kernels (oneDNN AMX GEMMs with packed linear weights, AMX attention; Xeon family 6
    /// model 207; packed conv and linear weights): worst max 9 (ddim_strength), worst mean 1.24 (euler_a).
    /// On oneDNN avx512_core_bf16 GEMMs and the VDPBF16PS attention (2026-12-02, AMD Zen 4, family 25
    /// model 17): worst max 12 (ddim), worst mean 1.34 (ddim); the other cases 3–9 max, 0.35–1.08 mean.
    /// bf16 attention against fp32 SDPA on the same bf16-rounded q, k, v: what remains is the bf16
    /// rounding of the softmax numerators before P·V (relative 2⁻⁹ each) and summation order.
    /// Measured 2026-12-01 (Xeon family 6 model 207; AMX and the portable kernel at every ISA agree
    /// to 2e-8): max 1.6e-3 – 3.7e-3 on outputs up to ~4; torch's own bf16 SDPA is 3.4e-3 – 1.7e-2
    /// from the same reference (it also rounds its output to bf16). The VDPBF16PS kernel (Zen 4,
    /// 2026-12-02) is within 2.4e-7 of the portable one: max 1.6e-3 – 3.7e-3 likewise.
    public static let bf16Attention = Tolerance(atol: 5e-3, rtol: 0)
    /// txt2img with the 9-channel inpainting model (grey-image conditioning): final latents. diffusers'
    /// own run-to-run noise on these cases (1 vs 2 torch threads, fixtures/txt2img/reference_noise.json)
    /// reaches 3.5e-3, and an A1111 twin written on diffusers' components is 3.8e-3 from it (the tiny
    /// UNet amplifies rounding on this input). Measured 2026-12-06: sdedit 1.5e-3 (PNDM, CFG), 3.8e-3 (Euler a).
    public static let txt2imgInpaintingLatents = Tolerance(atol: 5e-3, rtol: 1e-3)
    public static let bf16PipelineMaxGrey: Float = 14
    public static let bf16PipelineMeanGrey: Float = 1.6
    /// Winograd F(4×4, 3×3) against a direct convolution in double (WinogradTests: randn input,
    /// PyTorch-init weights, outputs up to ~2.2). Measured 2026-12-06 (AMD EPYC, AVX2): max |Δ| by
    /// input channels 128: 1.3e-5, 256: 2.0e-5, 320: 1.7e-5, 512: 2.2e-5, 640: 3.1e-5, 960: 3.4e-5,
    /// 1280: 6.1e-5, 1920: 7.5e-5, 2560: 7.4e-5; im2col + sgemm on the same data ≤ 2.0e-6.
    public static let winograd = Tolerance(atol: 1.5e-4, rtol: 0)
    /// A1111 "Original" emphasis on the tiny text encoders: the output is scaled by mean(z)/mean(z·w),
    /// a ratio of means near 0.01 beside |z| up to ~4, which magnifies the encoder's GEMM-order error.
    /// Measured 2026-12-06: max 1.6e-5 (sd2.long_emphasis), ≤ 1.4e-5 on the other SD 2.x cases,
    /// ≤ 3.3e-6 on SD 1.x; prompts without emphasis stay at the text encoder's 1.3e-6–1.7e-6.
    public static let promptEmphasis = Tolerance(atol: 4e-5, rtol: 1e-5)
    /// LoRA-merged weights against A1111's formulas in torch (fixtures/lora/expected.safetensors):
    /// the same products summed in another order. Measured 2026-12-06: max 1.2e-7 over 54 weights.
    public static let loraMerge = Tolerance(atol: 1e-6, rtol: 1e-5)
}

// Swift 6 mode: the tolerance table is shared by every test.
extension Tolerance: Sendable {}
