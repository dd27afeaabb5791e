// UNet2DConditionModel: diffusers models/unets/unet_2d_condition.py (+ unet_2d_blocks.py,
// embeddings.py). One type for the 9-channel inpainting, 5-channel depth and 7-channel x4 UNets:
// they differ by config only (in_channels, class embedding, only_cross_attention, head counts).
import Foundation
import SDCore

public struct UNetConfig {
    public let inChannels: Int, outChannels: Int
    public let blockOutChannels: [Int]
    public let downBlockTypes: [String], upBlockTypes: [String]
    public let layersPerBlock: Int
    public let heads: [Int]
    public let crossAttentionDim: Int
    public let groups: Int
    public let normEps: Float
    public let linearProjection: Bool
    public let onlyCrossAttention: [Bool]
    public let flipSinToCos: Bool
    public let freqShift: Float
    public let numClassEmbeds: Int?
    public let transformerLayers: Int
    public let downsamplePadding: Int
    public let sampleSize: Int

    public init(_ r: ConfigReader) throws {
        inChannels = try r.int("in_channels", default: 4, range: 1...64)
        outChannels = try r.int("out_channels", default: 4, range: 1...64)
        blockOutChannels = try r.ints("block_out_channels", count: -1, default: [320, 640, 1280, 1280])
        try checkChannels(r, "block_out_channels", blockOutChannels)
        let n = blockOutChannels.count
        guard (1...8).contains(n) else { throw SDError.badFile(path: r.path, message: "block_out_channels: \(n) levels") }
        downBlockTypes = try r.strings("down_block_types")
        upBlockTypes = try r.strings("up_block_types")
        guard downBlockTypes.count == n, upBlockTypes.count == n else {
            throw SDError.badFile(path: r.path, message: "down/up block types must have \(n) entries")
        }
        for t in downBlockTypes where t != "CrossAttnDownBlock2D" && t != "DownBlock2D" {
            throw SDError.badFile(path: r.path, message: "down block type \(t) is not supported")
        }
        for t in upBlockTypes where t != "CrossAttnUpBlock2D" && t != "UpBlock2D" {
            throw SDError.badFile(path: r.path, message: "up block type \(t) is not supported")
        }
        layersPerBlock = try r.int("layers_per_block", default: 2, range: 1...16)
        // diffusers naming quirk: attention_head_dim holds the number of heads when num_attention_heads is absent.
        if r.present("num_attention_heads") != nil {
            heads = try r.ints("num_attention_heads", count: n, range: 1...512)
        } else {
            heads = try r.ints("attention_head_dim", count: n, default: Array(repeating: 8, count: n), range: 1...512)
        }
        crossAttentionDim = try r.int("cross_attention_dim", default: 1280, range: 1...8192)
        groups = try r.int("norm_num_groups", default: 32, range: 1...1024)
        normEps = Float(try r.double("norm_eps", default: 1e-5, range: 0...1))
        linearProjection = try r.bool("use_linear_projection", default: false)
        onlyCrossAttention = try r.bools("only_cross_attention", count: n, default: false)
        flipSinToCos = try r.bool("flip_sin_to_cos", default: true)
        freqShift = Float(try r.int("freq_shift", default: 0, range: 0...1))
        numClassEmbeds = try r.optionalInt("num_class_embeds", range: 1...100_000)
        transformerLayers = try r.int("transformer_layers_per_block", default: 1, range: 1...16)
        downsamplePadding = try r.int("downsample_padding", default: 1, range: 0...1)
        sampleSize = try r.int("sample_size", default: 64, range: 1...4096)
        for (key, want) in [("act_fn", "silu"), ("time_embedding_type", "positional")] {
            if let v = try r.optionalString(key), v != want {
                throw SDError.badFile(path: r.path, message: "\(key) \(v) is not supported")
            }
        }
        for key in ["class_embed_type", "addition_embed_type", "time_cond_proj_dim", "encoder_hid_dim"] where r.present(key) != nil {
            throw SDError.badFile(path: r.path, message: "\(key) is not supported")
        }
        if try r.bool("upcast_attention", default: false) { /* fp32 throughout: no effect */ }
        if try r.bool("dual_cross_attention", default: false) {
            throw SDError.badFile(path: r.path, message: "dual_cross_attention is not supported")
        }
        for (c, h) in zip(blockOutChannels, heads) where c % h != 0 {
            throw SDError.badFile(path: r.path, message: "\(c) channels are not divisible into \(h) heads")
        }
    }

    /// Total downsampling of the latent (2^(levels − 1)).
    public var downFactor: Int { 1 << (blockOutChannels.count - 1) }
}

/// One down or up block: resnets, optional transformers, optional resampler.
struct UNetBlock {
    let resnets: [ResnetBlock2D]
    let attentions: [Transformer2D]
    let down: Downsample2D?
    let up: Upsample2D?
}

public struct UNet2DConditionModel {
    public let config: UNetConfig
    let convIn: Conv2d
    let timeLinear1: Linear, timeLinear2: Linear
    let classEmbedding: Tensor?     // [numClasses, 4·C0]
    let downBlocks: [UNetBlock]
    let mid: (ResnetBlock2D, Transformer2D, ResnetBlock2D)
    let upBlocks: [UNetBlock]
    let normOut: GroupNorm, convOut: Conv2d

    public init(config c: UNetConfig, weights store: WeightStore) throws {
        config = c
        let w = Weights(store)
        let ch = c.blockOutChannels, n = ch.count
        let temb = 4 * ch[0]
        convIn = try Conv2d(w.scoped("conv_in"), c.inChannels, ch[0], kernel: 3, padding: 1)
        timeLinear1 = try Linear(w.scoped("time_embedding").scoped("linear_1"), ch[0], temb)
        timeLinear2 = try Linear(w.scoped("time_embedding").scoped("linear_2"), temb, temb)
        classEmbedding = try c.numClassEmbeds.map { try w.scoped("class_embedding")("weight", [$0, temb]) }

        func transformer(_ w: Weights, _ channels: Int, _ heads: Int, _ onlyCross: Bool) throws -> Transformer2D {
            try Transformer2D(w, channels: channels, heads: heads, contextDim: c.crossAttentionDim, groups: c.groups,
                              layers: c.transformerLayers, linearProjection: c.linearProjection, onlyCrossAttention: onlyCross)
        }
        func resnet(_ w: Weights, _ cin: Int, _ cout: Int) throws -> ResnetBlock2D {
            try ResnetBlock2D(w, in: cin, out: cout, tembChannels: temb, groups: c.groups, eps: c.normEps)
        }

        var downs: [UNetBlock] = []
        var cin = ch[0]
        for i in 0..<n {
            let b = w.scoped("down_blocks").scoped(i), cout = ch[i]
            let cross = c.downBlockTypes[i] == "CrossAttnDownBlock2D"
            let resnets = try (0..<c.layersPerBlock).map { try resnet(b.scoped("resnets").scoped($0), $0 == 0 ? cin : cout, cout) }
            let attns = cross ? try (0..<c.layersPerBlock).map {
                try transformer(b.scoped("attentions").scoped($0), cout, c.heads[i], c.onlyCrossAttention[i])
            } : []
            let down = i < n - 1 ? try Downsample2D(b.scoped("downsamplers").scoped(0), channels: cout, padding: c.downsamplePadding) : nil
            downs.append(UNetBlock(resnets: resnets, attentions: attns, down: down, up: nil))
            cin = cout
        }
        downBlocks = downs

        let m = w.scoped("mid_block")
        mid = (try resnet(m.scoped("resnets").scoped(0), ch[n - 1], ch[n - 1]),
               try transformer(m.scoped("attentions").scoped(0), ch[n - 1], c.heads[n - 1], false),
               try resnet(m.scoped("resnets").scoped(1), ch[n - 1], ch[n - 1]))

        let rev = Array(ch.reversed()), revHeads = Array(c.heads.reversed())
        let revOnlyCross = Array(c.onlyCrossAttention.reversed())
        var ups: [UNetBlock] = []
        var prev = rev[0]
        for i in 0..<n {
            let b = w.scoped("up_blocks").scoped(i), cout = rev[i], skipIn = rev[Swift.min(i + 1, n - 1)]
            let cross = c.upBlockTypes[i] == "CrossAttnUpBlock2D"
            let layers = c.layersPerBlock + 1
            let resnets = try (0..<layers).map { j -> ResnetBlock2D in
                let skip = j == layers - 1 ? skipIn : cout
                return try resnet(b.scoped("resnets").scoped(j), (j == 0 ? prev : cout) + skip, cout)
            }
            let attns = cross ? try (0..<layers).map {
                try transformer(b.scoped("attentions").scoped($0), cout, revHeads[i], revOnlyCross[i])
            } : []
            let up = i < n - 1 ? try Upsample2D(b.scoped("upsamplers").scoped(0), channels: cout) : nil
            ups.append(UNetBlock(resnets: resnets, attentions: attns, down: nil, up: up))
            prev = cout
        }
        upBlocks = ups
        normOut = try GroupNorm(w.scoped("conv_norm_out"), groups: c.groups, channels: ch[0], eps: c.normEps)
        convOut = try Conv2d(w.scoped("conv_out"), ch[0], c.outChannels, kernel: 3, padding: 1)
    }

    /// Sinusoidal timestep features [B, C0] (embeddings.py get_timestep_embedding), in float32 as torch.
    func timestepFeatures(_ t: Float, batch: Int) -> Tensor {
        let dim = config.blockOutChannels[0], half = dim / 2
        let logMax = Float(-Foundation.log(10000.0))
        let row: [Float] = {
            var sinPart = [Float](), cosPart = [Float]()
            for i in 0..<half {
                let freq = Foundation.exp(logMax * Float(i) / (Float(half) - config.freqShift))
                let a = t * freq
                sinPart.append(Foundation.sin(a)); cosPart.append(Foundation.cos(a))
            }
            return config.flipSinToCos ? cosPart + sinPart : sinPart + cosPart
        }()
        return Tensor(shape: [batch, dim], storage: Array((0..<batch).map { _ in row }.joined()))
    }

    /// The time embedding after its SiLU [B, 4·C0], with the class embedding (x4 noise level) added.
    func timeEmbedding(_ timestep: Float, batch b: Int, classLabel: Int?) -> Tensor {
        var emb = timeLinear2(timeLinear1(timestepFeatures(timestep, batch: b)).silu())
        if let table = classEmbedding, let label = classLabel {
            let d = table.dim(1), l = Swift.min(Swift.max(label, 0), table.dim(0) - 1)
            let row = Tensor(shape: [1, d], storage: Array(table.storage[(l * d)..<((l + 1) * d)]))
            emb = emb + row
        }
        return emb.silu()
    }

    /// Noise (or v) prediction. sample [B, in, h, w], context [B, S, cross_dim], timestep as a float
    /// (integer schedules pass whole numbers), classLabel for the class embedding (x4 noise level).
    /// With `cache`, also stores the feature a later `shallow` call reuses (DeepCache).
    public func callAsFunction(_ sample: Tensor, timestep: Float, context: Tensor, classLabel: Int? = nil,
                               storingIn cache: UNetDeepCache? = nil) -> Tensor {
        let embAct = timeEmbedding(timestep, batch: sample.dim(0), classLabel: classLabel)
        var h = convIn(sample)
        var skips = [h]
        for block in downBlocks {
            for (j, r) in block.resnets.enumerated() {
                h = r(h, tembAct: embAct)
                if !block.attentions.isEmpty { h = block.attentions[j](h, context: context) }
                skips.append(h)
            }
            if let d = block.down { h = d(h); skips.append(h) }
        }
        h = mid.0(h, tembAct: embAct)
        h = mid.1(h, context: context)
        h = mid.2(h, tembAct: embAct)
        for (i, block) in upBlocks.enumerated() {
            let last = block.resnets.count - 1
            for (j, r) in block.resnets.enumerated() {
                h = r(Tensor.concat([h, skips.removeLast()], dim: 1), tembAct: embAct)   // [B, C + Cskip, H, W]
                if !block.attentions.isEmpty { h = block.attentions[j](h, context: context) }
                if i == upBlocks.count - 1, j == last - 1 { cache?.feature = h }
            }
            // Upsample to the next skip's size: equals ×2 unless the latent is not divisible by the total downsampling.
            if let u = block.up, let next = skips.last { h = u(h, size: (next.dim(2), next.dim(3))) }
        }
        return convOut(normOut(h, silu: true))
    }

    /// DeepCache's cached step with cache_branch_id 0 (DeepCache extension/deepcache.py,
    /// DeepCacheSDHelper): every down, mid and up block returns what the last full call stored,
    /// except the last layer of the last up block, which runs on [stored feature, conv_in(sample)]
    /// (conv_in is that layer's skip input) with this step's time embedding, then the output norm
    /// and conv. The stored feature's batch must be the sample's (CFG: both halves).
    public func shallow(_ sample: Tensor, timestep: Float, context: Tensor, classLabel: Int? = nil,
                        from cache: UNetDeepCache) -> Tensor {
        guard let stored = cache.feature else { preconditionFailure("shallow UNet call before a full one filled the cache") }
        precondition(stored.dim(0) == sample.dim(0), "DeepCache feature batch \(stored.dim(0)) ≠ sample batch \(sample.dim(0))")
        let embAct = timeEmbedding(timestep, batch: sample.dim(0), classLabel: classLabel)
        let block = upBlocks[upBlocks.count - 1], j = block.resnets.count - 1
        var h = block.resnets[j](Tensor.concat([stored, convIn(sample)], dim: 1), tembAct: embAct)
        if !block.attentions.isEmpty { h = block.attentions[j](h, context: context) }
        return convOut(normOut(h, silu: true))
    }
}

/// What DeepCache (cache_branch_id 0) keeps between UNet calls: the output of the second-to-last
/// layer (resnet, then attention if any) of the last up block, from the last full call. One per
/// image (and per tile where the UNet runs tiled).
public final class UNetDeepCache {
    public internal(set) var feature: Tensor?
    public init() {}
}
