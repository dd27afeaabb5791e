// AutoencoderTiny (TAESD): diffusers models/autoencoders/autoencoder_tiny.py, with vae.py EncoderTiny /
// DecoderTiny and unets/unet_2d_blocks.py AutoencoderTinyBlock. Plain 3×3 convolutions and ReLUs; the
// encoder returns latents directly (no posterior, so no RNG draw: pipelines' retrieve_latents takes
// `.latents`), already in the UNet's latent space (scaling_factor 1.0 in the published configs).
// Keys are diffusers' `encoder.layers.N…` / `decoder.layers.N…`, where N counts every entry of the
// nn.Sequential (ReLUs and Upsamples hold no weights but take an index).
import SDCore

public struct AutoencoderTinyConfig {
    public let inChannels: Int, outChannels: Int, latentChannels: Int
    public let encoderChannels: [Int], decoderChannels: [Int]
    public let encoderBlocks: [Int], decoderBlocks: [Int]
    public let upsamplingFactor: Int
    public let scalingFactor: Float

    /// Keys absent from the file take AutoencoderTiny.__init__'s defaults (madebyollin/taesd's sizes).
    public init(_ r: ConfigReader) throws {
        func bad(_ m: String) -> SDError { .badFile(path: r.path, message: m) }
        inChannels = try r.int("in_channels", default: 3, range: 1...16)
        outChannels = try r.int("out_channels", default: 3, range: 1...16)
        latentChannels = try r.int("latent_channels", default: 4, range: 1...64)
        encoderChannels = try r.ints("encoder_block_out_channels", count: -1, default: [64, 64, 64, 64])
        decoderChannels = try r.ints("decoder_block_out_channels", count: -1, default: [64, 64, 64, 64])
        try checkChannels(r, "encoder_block_out_channels", encoderChannels)
        try checkChannels(r, "decoder_block_out_channels", decoderChannels)
        encoderBlocks = try r.ints("num_encoder_blocks", count: -1, default: [1, 3, 3, 3], range: 0...64)
        decoderBlocks = try r.ints("num_decoder_blocks", count: -1, default: [3, 3, 3, 1], range: 0...64)
        guard encoderChannels.count == encoderBlocks.count, decoderChannels.count == decoderBlocks.count,
              (1...8).contains(encoderChannels.count), (1...8).contains(decoderChannels.count) else {
            throw bad("encoder/decoder_block_out_channels and num_encoder/decoder_blocks must have equal lengths of 1…8")
        }
        // EncoderTiny's stride-2 conv and DecoderTiny's blocks map a level's channels to themselves, so
        // diffusers only runs configs whose levels all have one width.
        guard Set(encoderChannels).count == 1, Set(decoderChannels).count == 1 else {
            throw bad("block_out_channels must be equal across levels (diffusers' EncoderTiny/DecoderTiny need it)")
        }
        upsamplingFactor = try r.int("upsampling_scaling_factor", default: 2, range: 1...8)
        scalingFactor = Float(try r.double("scaling_factor", default: 1.0, range: 1e-6...1e6))
        let act = try r.string("act_fn", default: "relu"), up = try r.string("upsample_fn", default: "nearest")
        guard act == "relu" else { throw bad("act_fn \(act) is not supported (relu)") }
        guard up == "nearest" else { throw bad("upsample_fn \(up) is not supported (nearest)") }
        if try r.double("shift_factor", default: 0) != 0 { throw bad("shift_factor is not supported") }
    }

    /// Spatial factor between image and latent on the encoding side (one stride-2 conv per level after the first).
    public var encoderScale: Int { 1 << (encoderChannels.count - 1) }
    /// Spatial factor on the decoding side (one upsample per level before the last).
    public var decoderScale: Int {
        (0..<(decoderChannels.count - 1)).reduce(1) { s, _ in s * upsamplingFactor }
    }
}

/// AutoencoderTinyBlock: ReLU(conv(ReLU(conv(ReLU(conv(x))))) + skip(x)); conv.1 and conv.3 are ReLUs.
struct TinyBlock {
    let conv0: Conv2d, conv2: Conv2d, conv4: Conv2d
    let skip: Conv2d?

    init(_ w: Weights, in cin: Int, out cout: Int) throws {
        let c = w.scoped("conv")
        conv0 = try Conv2d(c.scoped(0), cin, cout, kernel: 3, padding: 1)
        conv2 = try Conv2d(c.scoped(2), cout, cout, kernel: 3, padding: 1)
        conv4 = try Conv2d(c.scoped(4), cout, cout, kernel: 3, padding: 1)
        skip = cin != cout ? try Conv2d(w.scoped("skip"), cin, cout, kernel: 1, bias: false) : nil
    }

    /// relu(conv4(relu(conv2(relu(conv0(x))))) + skip(x)), the ReLUs and the skip add in the convs.
    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = conv2(conv0(x, residual: nil, relu: true), residual: nil, relu: true)
        return conv4(h, residual: skip.map { $0(x) } ?? x, relu: true)
    }
}

/// One entry of EncoderTiny's / DecoderTiny's nn.Sequential.
enum TinyLayer {
    case conv(Conv2d), relu, block(TinyBlock), upsample(Int)

    func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case let .conv(c): return c(x)
        case .relu: return x.relu()
        case let .block(b): return b(x)
        case let .upsample(s): return x.interpolated(height: x.dim(2) * s, width: x.dim(3) * s, mode: .nearest)
        }
    }
}

public struct TinyEncoder {
    let layers: [TinyLayer]

    init(_ w: Weights, _ c: AutoencoderTinyConfig) throws {
        var layers: [TinyLayer] = []
        func at(_ i: Int) -> Weights { w.scoped(i) }
        for (i, n) in c.encoderBlocks.enumerated() {
            let ch = c.encoderChannels[i]
            layers.append(.conv(i == 0 ? try Conv2d(at(layers.count), c.inChannels, ch, kernel: 3, padding: 1)
                                : try Conv2d(at(layers.count), ch, ch, kernel: 3, stride: 2, padding: 1, bias: false)))
            for _ in 0..<n { layers.append(.block(try TinyBlock(at(layers.count), in: ch, out: ch))) }
        }
        layers.append(.conv(try Conv2d(at(layers.count), c.encoderChannels.last!, c.latentChannels, kernel: 3, padding: 1)))
        self.layers = layers
    }

    /// Latents [B, L, H/f, W/f] from images [B, 3, H, W] in [−1, 1] (TAESD itself takes [0, 1]).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        layers.reduce((x + 1) / 2) { h, layer in layer(h) }
    }
}

public struct TinyDecoder {
    let layers: [TinyLayer]

    init(_ w: Weights, _ c: AutoencoderTinyConfig) throws {
        var layers: [TinyLayer] = []
        func at(_ i: Int) -> Weights { w.scoped(i) }
        layers.append(.conv(try Conv2d(at(0), c.latentChannels, c.decoderChannels[0], kernel: 3, padding: 1)))
        layers.append(.relu)
        for (i, n) in c.decoderBlocks.enumerated() {
            let ch = c.decoderChannels[i], last = i == c.decoderBlocks.count - 1
            for _ in 0..<n { layers.append(.block(try TinyBlock(at(layers.count), in: ch, out: ch))) }
            if !last { layers.append(.upsample(c.upsamplingFactor)) }
            layers.append(.conv(try Conv2d(at(layers.count), ch, last ? c.outChannels : ch, kernel: 3, padding: 1, bias: last)))
        }
        self.layers = layers
    }

    /// Images [B, 3, H·f, W·f] in [−1, 1] (unclamped) from latents [B, L, H, W].
    public func callAsFunction(_ z: Tensor) -> Tensor {
        // Soft clamp tanh(z/3)·3, written as 6·σ(2z/3) − 3 (tanh(u) = 2σ(2u) − 1).
        let clamped = z.map { 6 * vsigmoid($0 * (2 / 3)) - 3 }
        return layers.reduce(clamped) { h, layer in layer(h) } * 2 - 1
    }
}

/// TAESD: either half may be absent when only one of madebyollin's taesd_encoder / taesd_decoder
/// files was loaded.
public struct AutoencoderTiny {
    public let config: AutoencoderTinyConfig
    public let encoder: TinyEncoder?
    public let decoder: TinyDecoder?

    /// `encoder` / `decoder`: which halves the store holds (under `encoder.` / `decoder.`).
    public init(config: AutoencoderTinyConfig, weights store: WeightStore, encoder: Bool = true, decoder: Bool = true) throws {
        self.config = config
        let w = Weights(store)
        self.encoder = encoder ? try TinyEncoder(w.scoped("encoder").scoped("layers"), config) : nil
        self.decoder = decoder ? try TinyDecoder(w.scoped("decoder").scoped("layers"), config) : nil
    }
}
