// AutoencoderKL: diffusers models/autoencoders/autoencoder_kl.py and vae.py (Encoder, Decoder,
// DiagonalGaussianDistribution). GroupNorm eps 1e-6 throughout; the posterior sample draws from the
// caller's torch-compatible generator exactly as `latent_dist.sample(generator)` does.
import SDCore

public struct VAEConfig {
    public let inChannels: Int, outChannels: Int, latentChannels: Int
    public let blockOutChannels: [Int]
    public let layersPerBlock: Int, groups: Int
    public let scalingFactor: Float
    public let midAttention: Bool, useQuantConv: Bool, usePostQuantConv: Bool

    public init(_ r: ConfigReader) throws {
        inChannels = try r.int("in_channels", default: 3, range: 1...16)
        outChannels = try r.int("out_channels", default: 3, range: 1...16)
        latentChannels = try r.int("latent_channels", default: 4, range: 1...64)
        blockOutChannels = try r.ints("block_out_channels", count: -1, default: [64])
        try checkChannels(r, "block_out_channels", blockOutChannels)
        guard (1...8).contains(blockOutChannels.count) else {
            throw SDError.badFile(path: r.path, message: "block_out_channels: \(blockOutChannels.count) levels")
        }
        layersPerBlock = try r.int("layers_per_block", default: 1, range: 1...16)
        groups = try r.int("norm_num_groups", default: 32, range: 1...1024)
        scalingFactor = Float(try r.double("scaling_factor", default: 0.18215, range: 1e-6...1e6))
        midAttention = try r.bool("mid_block_add_attention", default: true)
        useQuantConv = try r.bool("use_quant_conv", default: true)
        usePostQuantConv = try r.bool("use_post_quant_conv", default: true)
        for t in try r.strings("down_block_types", default: []) where t != "DownEncoderBlock2D" {
            throw SDError.badFile(path: r.path, message: "down block type \(t) is not supported")
        }
        for t in try r.strings("up_block_types", default: []) where t != "UpDecoderBlock2D" {
            throw SDError.badFile(path: r.path, message: "up block type \(t) is not supported")
        }
    }

    /// Spatial factor between image and latent (2^(levels − 1)).
    public var scaleFactor: Int { 1 << (blockOutChannels.count - 1) }
}

struct VAEMidBlock {
    let resnet0: ResnetBlock2D, attention: SpatialAttention?, resnet1: ResnetBlock2D

    init(_ w: Weights, channels c: Int, groups: Int, attention useAttention: Bool) throws {
        resnet0 = try ResnetBlock2D(w.scoped("resnets").scoped(0), in: c, out: c, tembChannels: nil, groups: groups, eps: 1e-6)
        attention = useAttention ? try SpatialAttention(w.scoped("attentions").scoped(0), channels: c, groups: groups, eps: 1e-6) : nil
        resnet1 = try ResnetBlock2D(w.scoped("resnets").scoped(1), in: c, out: c, tembChannels: nil, groups: groups, eps: 1e-6)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = resnet0(x)
        if let a = attention { h = a(h) }
        return resnet1(h)
    }
}

struct VAEEncoder {
    let convIn: Conv2d
    let blocks: [([ResnetBlock2D], Downsample2D?)]
    let mid: VAEMidBlock
    let normOut: GroupNorm, convOut: Conv2d

    init(_ w: Weights, _ c: VAEConfig) throws {
        let ch = c.blockOutChannels
        convIn = try Conv2d(w.scoped("conv_in"), c.inChannels, ch[0], kernel: 3, padding: 1)
        var blocks: [([ResnetBlock2D], Downsample2D?)] = []
        var cin = ch[0]
        for (i, cout) in ch.enumerated() {
            let b = w.scoped("down_blocks").scoped(i)
            let resnets = try (0..<c.layersPerBlock).map { j in
                try ResnetBlock2D(b.scoped("resnets").scoped(j), in: j == 0 ? cin : cout, out: cout,
                                  tembChannels: nil, groups: c.groups, eps: 1e-6)
            }
            let down = i < ch.count - 1 ? try Downsample2D(b.scoped("downsamplers").scoped(0), channels: cout, padding: 0) : nil
            blocks.append((resnets, down))
            cin = cout
        }
        self.blocks = blocks
        mid = try VAEMidBlock(w.scoped("mid_block"), channels: ch.last!, groups: c.groups, attention: c.midAttention)
        normOut = try GroupNorm(w.scoped("conv_norm_out"), groups: c.groups, channels: ch.last!, eps: 1e-6)
        convOut = try Conv2d(w.scoped("conv_out"), ch.last!, 2 * c.latentChannels, kernel: 3, padding: 1)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = convIn(x)
        for (resnets, down) in blocks {
            for r in resnets { h = r(h) }
            if let d = down { h = d(h) }
        }
        return convOut(normOut(mid(h), silu: true))
    }
}

struct VAEDecoder {
    let convIn: Conv2d
    let mid: VAEMidBlock
    let blocks: [([ResnetBlock2D], Upsample2D?)]
    let normOut: GroupNorm, convOut: Conv2d

    init(_ w: Weights, _ c: VAEConfig) throws {
        let rev = Array(c.blockOutChannels.reversed())
        convIn = try Conv2d(w.scoped("conv_in"), c.latentChannels, rev[0], kernel: 3, padding: 1)
        mid = try VAEMidBlock(w.scoped("mid_block"), channels: rev[0], groups: c.groups, attention: c.midAttention)
        var blocks: [([ResnetBlock2D], Upsample2D?)] = []
        var prev = rev[0]
        for (i, cout) in rev.enumerated() {
            let b = w.scoped("up_blocks").scoped(i)
            let resnets = try (0...c.layersPerBlock).map { j in
                try ResnetBlock2D(b.scoped("resnets").scoped(j), in: j == 0 ? prev : cout, out: cout,
                                  tembChannels: nil, groups: c.groups, eps: 1e-6)
            }
            let up = i < rev.count - 1 ? try Upsample2D(b.scoped("upsamplers").scoped(0), channels: cout) : nil
            blocks.append((resnets, up))
            prev = cout
        }
        self.blocks = blocks
        normOut = try GroupNorm(w.scoped("conv_norm_out"), groups: c.groups, channels: rev.last!, eps: 1e-6)
        convOut = try Conv2d(w.scoped("conv_out"), rev.last!, c.outChannels, kernel: 3, padding: 1)
    }

    func callAsFunction(_ z: Tensor) -> Tensor {
        var h = mid(convIn(z))
        for (resnets, up) in blocks {
            for r in resnets { h = r(h) }
            if let u = up { h = u(h) }
        }
        return convOut(normOut(h, silu: true))
    }
}

/// The encoder's posterior N(mean, std²) (DiagonalGaussianDistribution; logvar clamped to [−30, 20]).
public struct DiagonalGaussian {
    public let mean: Tensor, std: Tensor

    init(moments: Tensor) {
        let parts = moments.chunked(2, dim: 1)
        mean = parts[0]
        std = (parts[1].clamped(-30, 20) * 0.5).exp()
    }

    /// mean + std · randn(mean.shape, generator): one draw of mean.count normals.
    public func sample(_ g: TorchGenerator) -> Tensor { mean + std * g.randn(mean.shape) }
}

public struct AutoencoderKL {
    public let config: VAEConfig
    let encoder: VAEEncoder, decoder: VAEDecoder
    let quantConv: Conv2d?, postQuantConv: Conv2d?

    public init(config: VAEConfig, weights store: WeightStore) throws {
        self.config = config
        let w = Weights(store)
        let l = config.latentChannels
        encoder = try VAEEncoder(w.scoped("encoder"), config)
        decoder = try VAEDecoder(w.scoped("decoder"), config)
        quantConv = config.useQuantConv ? try Conv2d(w.scoped("quant_conv"), 2 * l, 2 * l, kernel: 1) : nil
        postQuantConv = config.usePostQuantConv ? try Conv2d(w.scoped("post_quant_conv"), l, l, kernel: 1) : nil
    }

    /// Posterior for images [B, 3, H, W] in [−1, 1].
    public func encode(_ x: Tensor) -> DiagonalGaussian {
        var m = encoder(x)
        if let q = quantConv { m = q(m) }
        return DiagonalGaussian(moments: m)
    }

    /// Images [B, 3, H, W] in [−1, 1] (unclamped) from latents (already divided by the scaling factor).
    public func decode(_ z: Tensor) -> Tensor {
        decoder(postQuantConv.map { $0(z) } ?? z)
    }
}
