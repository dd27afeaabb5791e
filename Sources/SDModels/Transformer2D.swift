// Transformer2DModel (continuous input) and BasicTransformerBlock as the SD2 / x4 UNets use them:
// diffusers models/transformers/transformer_2d.py, models/attention.py (BasicTransformerBlock,
// FeedForward with GEGLU), models/attention_processor.py (Attention: q/k/v without bias, to_out.0 with).
import SDCore

struct CrossAttention {
    let q: Linear, k: Linear, v: Linear, out: Linear
    let heads: Int

    init(_ w: Weights, dim: Int, contextDim: Int, heads: Int) throws {
        q = try Linear(w.scoped("to_q"), dim, dim, bias: false)
        k = try Linear(w.scoped("to_k"), contextDim, dim, bias: false)
        v = try Linear(w.scoped("to_v"), contextDim, dim, bias: false)
        out = try Linear(w.scoped("to_out").scoped(0), dim, dim)
        self.heads = heads
    }

    // x: [B, T, C], context: [B, S, Cctx]
    func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        out(Tensor.attention(q: q(x), k: k(context), v: v(context), heads: heads, precision: q.weight.precision))
    }
}

struct BasicTransformerBlock {
    let norm1: LayerNorm, attn1: CrossAttention
    let norm2: LayerNorm, attn2: CrossAttention
    let norm3: LayerNorm, ffIn: Linear, ffOut: Linear
    let onlyCrossAttention: Bool

    init(_ w: Weights, dim: Int, contextDim: Int, heads: Int, onlyCrossAttention: Bool) throws {
        norm1 = try LayerNorm(w.scoped("norm1"), dim, eps: 1e-5)
        // only_cross_attention: attn1 attends to the text too (x4 upscaler), it is not removed.
        attn1 = try CrossAttention(w.scoped("attn1"), dim: dim, contextDim: onlyCrossAttention ? contextDim : dim, heads: heads)
        norm2 = try LayerNorm(w.scoped("norm2"), dim, eps: 1e-5)
        attn2 = try CrossAttention(w.scoped("attn2"), dim: dim, contextDim: contextDim, heads: heads)
        norm3 = try LayerNorm(w.scoped("norm3"), dim, eps: 1e-5)
        ffIn = try Linear(w.scoped("ff").scoped("net").scoped(0).scoped("proj"), dim, 8 * dim)   // GEGLU: 2 × 4·dim
        ffOut = try Linear(w.scoped("ff").scoped("net").scoped(2), 4 * dim, dim)                // net.1 is dropout
        self.onlyCrossAttention = onlyCrossAttention
    }

    // h: [B, T, C]
    func callAsFunction(_ h: Tensor, context: Tensor) -> Tensor {
        var h = h
        let n1 = norm1(h)
        h.add(attn1(n1, context: onlyCrossAttention ? context : n1))
        h.add(attn2(norm2(h), context: context))
        h.add(ffOut(ffIn(norm3(h)).geglu()))
        return h
    }
}

struct Transformer2D {
    let norm: GroupNorm
    let projIn: Linear?, projInConv: Conv2d?
    let blocks: [BasicTransformerBlock]
    let projOut: Linear?, projOutConv: Conv2d?

    init(_ w: Weights, channels c: Int, heads: Int, contextDim: Int, groups: Int, layers: Int,
         linearProjection: Bool, onlyCrossAttention: Bool) throws {
        norm = try GroupNorm(w.scoped("norm"), groups: groups, channels: c, eps: 1e-6)
        if linearProjection {
            projIn = try Linear(w.scoped("proj_in"), c, c); projInConv = nil
        } else {
            projInConv = try Conv2d(w.scoped("proj_in"), c, c, kernel: 1); projIn = nil
        }
        blocks = try (0..<layers).map {
            try BasicTransformerBlock(w.scoped("transformer_blocks").scoped($0), dim: c, contextDim: contextDim,
                                      heads: heads, onlyCrossAttention: onlyCrossAttention)
        }
        if linearProjection {
            projOut = try Linear(w.scoped("proj_out"), c, c); projOutConv = nil
        } else {
            projOutConv = try Conv2d(w.scoped("proj_out"), c, c, kernel: 1); projOut = nil
        }
    }

    // x: [B, C, H, W], context: [B, S, Cctx]
    func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        let b = x.dim(0), c = x.dim(1), hh = x.dim(2), ww = x.dim(3)
        var h = norm(x)
        if let p = projInConv { h = p(h) }
        h = h.reshaped([b, c, hh * ww]).transposed(1, 2)            // [B, HW, C]
        if let p = projIn { h = p(h) }
        for blk in blocks { h = blk(h, context: context) }
        if let p = projOut { h = p(h) }
        h = h.transposed(1, 2).reshaped([b, c, hh, ww])              // [B, C, H, W]
        if let p = projOutConv { h = p(h) }
        h.add(x)
        return h
    }
}
