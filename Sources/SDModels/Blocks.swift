// Convolutional building blocks shared by the VAE and the UNet: diffusers models/resnet.py
// (ResnetBlock2D), models/downsampling.py (Downsample2D), models/upsampling.py (Upsample2D), and the
// VAE's single-head spatial attention (models/attention_processor.py Attention, residual_connection).
import SDCore

/// ResnetBlock2D, time_embedding_norm "default", output_scale_factor 1.
struct ResnetBlock2D {
    let norm1: GroupNorm, conv1: Conv2d, norm2: GroupNorm, conv2: Conv2d
    let timeEmbProj: Linear?
    let convShortcut: Conv2d?

    init(_ w: Weights, in cin: Int, out cout: Int, tembChannels: Int?, groups: Int, eps: Float) throws {
        norm1 = try GroupNorm(w.scoped("norm1"), groups: groups, channels: cin, eps: eps)
        conv1 = try Conv2d(w.scoped("conv1"), cin, cout, kernel: 3, padding: 1)
        timeEmbProj = try tembChannels.map { try Linear(w.scoped("time_emb_proj"), $0, cout) }
        norm2 = try GroupNorm(w.scoped("norm2"), groups: groups, channels: cout, eps: eps)
        conv2 = try Conv2d(w.scoped("conv2"), cout, cout, kernel: 3, padding: 1)
        convShortcut = cin != cout ? try Conv2d(w.scoped("conv_shortcut"), cin, cout, kernel: 1) : nil
    }

    /// x [B, C, H, W]; tembAct = SiLU(temb) [B, T] (computed once per UNet call).
    func callAsFunction(_ x: Tensor, tembAct: Tensor? = nil) -> Tensor {
        var h = conv1(norm1(x, silu: true))
        if let proj = timeEmbProj, let t = tembAct {
            let e = proj(t)                               // [B, C]
            h = h + e.reshaped([e.dim(0), e.dim(1), 1, 1])
        }
        // The residual added in conv2's output transform where it is on Winograd (the same bits:
        // float addition commutes).
        return conv2(norm2(h, silu: true), residual: convShortcut.map { $0(x) } ?? x, relu: false)
    }
}

/// Downsample2D with a conv: the UNet pads 1 on every side; the VAE (padding 0) pads right and bottom.
struct Downsample2D {
    let conv: Conv2d
    let asymmetric: Bool

    init(_ w: Weights, channels: Int, padding: Int) throws {
        conv = try Conv2d(w.scoped("conv"), channels, channels, kernel: 3, stride: 2, padding: padding)
        asymmetric = padding == 0
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        if asymmetric {
            return x.conv2d(weight: conv.weight, bias: conv.bias, stride: 2,
                            padding: Padding2D(top: 0, bottom: 1, left: 0, right: 1))
        }
        return conv(x)
    }
}

/// Upsample2D: nearest ×2 (or to the skip's size when the latent is not divisible), then a 3×3 conv.
struct Upsample2D {
    let conv: Conv2d

    init(_ w: Weights, channels: Int) throws {
        conv = try Conv2d(w.scoped("conv"), channels, channels, kernel: 3, padding: 1)
    }

    func callAsFunction(_ x: Tensor, size: (Int, Int)? = nil) -> Tensor {
        let (h, w) = size ?? (x.dim(2) * 2, x.dim(3) * 2)
        return conv(x.interpolated(height: h, width: w, mode: .nearest))
    }
}

/// The VAE mid-block attention: one head over C channels, GroupNorm first, residual added.
struct SpatialAttention {
    let groupNorm: GroupNorm
    let q: Linear, k: Linear, v: Linear, out: Linear

    init(_ w: Weights, channels c: Int, groups: Int, eps: Float) throws {
        groupNorm = try GroupNorm(w.scoped("group_norm"), groups: groups, channels: c, eps: eps)
        // (diffusers ≤ 0.13's query/key/value/proj_attn are renamed by ModelSource.)
        q = try Linear(w.scoped("to_q"), c, c)
        k = try Linear(w.scoped("to_k"), c, c)
        v = try Linear(w.scoped("to_v"), c, c)
        out = try Linear(w.scoped("to_out").scoped(0), c, c)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let b = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3)
        let n = groupNorm(x).reshaped([b, c, h * wd]).transposed(1, 2)   // [B, HW, C]
        let a = out(Tensor.attention(q: q(n), k: k(n), v: v(n), heads: 1, precision: q.weight.precision))
        var y = a.transposed(1, 2).reshaped([b, c, h, wd])               // [B, C, H, W]
        y.add(x)
        return y
    }
}
