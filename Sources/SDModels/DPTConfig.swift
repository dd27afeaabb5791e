// depth_estimator/config.json of a DPT-hybrid (transformers models/dpt/configuration_dpt.py, with
// backbone_config = models/bit/configuration_bit.py). Only what StableDiffusionDepth2ImgPipeline's
// checkpoint uses is accepted: is_hybrid with a BiT "bottleneck" backbone, SAME padding, readout
// "project", reassemble factors ≤ 1, no batch-norm; anything else is refused by name rather than
// run differently. Defaults are the classes' own (DPTConfig / BitConfig __init__).
import Foundation
import SDCore

public struct BiTConfig: Sendable {
    public let numChannels: Int, embeddingSize: Int, numGroups: Int
    /// Output channels and block count per stage (only as many stages as `depths`).
    public let stageChannels: [Int], depths: [Int]
    public let dynamicPoolPadding: Bool

    init(_ r: ConfigReader) throws {
        func bad(_ m: String) -> SDError { .badFile(path: r.path, message: "backbone_config: " + m) }
        numChannels = try r.int("num_channels", default: 3, range: 1...4)
        embeddingSize = try r.int("embedding_size", default: 64, range: 1...4096)
        numGroups = try r.int("num_groups", default: 32, range: 1...1024)
        depths = try r.ints("depths", count: -1, default: [3, 4, 6, 3], range: 1...64)
        let hidden = try r.ints("hidden_sizes", count: -1, default: [256, 512, 1024, 2048], range: 1...8192)
        let width = try r.double("width_factor", default: 1, range: 0.01...16)
        guard try r.string("layer_type", default: "preactivation") == "bottleneck" else { throw bad("layer_type must be \"bottleneck\"") }
        guard try r.string("global_padding", default: "").uppercased() == "SAME" else { throw bad("global_padding must be \"SAME\"") }
        guard try r.string("hidden_act", default: "relu") == "relu" else { throw bad("hidden_act must be relu") }
        guard depths.count == 3, hidden.count >= 3 else { throw bad("DPT-hybrid needs 3 stages (depths) and 3+ hidden_sizes") }
        let features = try r.strings("out_features", default: ["stage1", "stage2", "stage3"])
        guard features == ["stage1", "stage2", "stage3"] else { throw bad("out_features must be [stage1, stage2, stage3]") }
        // Stage strides 1, 2, 2 after the stride-4 stem: /16 in all; a smaller output_stride would dilate.
        guard try r.int("output_stride", default: 32, range: 1...1024) >= 16 else { throw bad("output_stride below 16 (dilated stages) is not supported") }
        dynamicPoolPadding = try r.bool("embedding_dynamic_padding", default: false)
        stageChannels = hidden.prefix(3).map { BiTConfig.makeDiv(Double($0) * width) }
        for c in stageChannels + [embeddingSize] where c % numGroups != 0 || c > 8192 {
            throw bad("num_groups \(numGroups) does not divide \(c) channels")
        }
    }

    /// modeling_bit.make_div: round to a multiple of 8, never more than 10 % down.
    static func makeDiv(_ v: Double, _ d: Int = 8) -> Int {
        var n = Swift.max(d, Int(v + Double(d) / 2) / d * d)
        if Double(n) < 0.9 * v { n += d }
        return n
    }
}

public struct DPTConfig: Sendable {
    public let backbone: BiTConfig
    public let hiddenSize: Int, layers: Int, heads: Int, intermediateSize: Int
    public let layerNormEps: Float
    public let imageSize: Int, patchSize: Int
    public let qkvBias: Bool
    /// Encoder layers whose outputs feed the neck's last two stages (backbone_out_indices[2...]).
    public let outLayers: [Int]
    /// Spatial resize of the reassembled ViT features: 1 = none, s = a 3×3 stride-s conv.
    public let reassembleStrides: [Int]
    public let neckHiddenSizes: [Int], fusionHiddenSize: Int

    public init(_ r: ConfigReader) throws {
        func bad(_ m: String) -> SDError { .badFile(path: r.path, message: m) }
        guard try r.bool("is_hybrid", default: false) else { throw bad("is_hybrid: only DPT-hybrid (is_hybrid: true) is supported") }
        guard let sub = r.present("backbone_config") as? [String: Any] else { throw bad("backbone_config: missing") }
        backbone = try BiTConfig(ConfigReader(dict: sub, path: r.path))
        hiddenSize = try r.int("hidden_size", default: 768, range: 1...8192)
        layers = try r.int("num_hidden_layers", default: 12, range: 1...128)
        heads = try r.int("num_attention_heads", default: 12, range: 1...256)
        intermediateSize = try r.int("intermediate_size", default: 3072, range: 1...65536)
        layerNormEps = Float(try r.double("layer_norm_eps", default: 1e-12, range: 0...1))
        imageSize = try r.int("image_size", default: 384, range: 16...4096)
        patchSize = try r.int("patch_size", default: 16, range: 1...1024)
        qkvBias = try r.bool("qkv_bias", default: true)
        guard hiddenSize % heads == 0 else { throw bad("hidden_size \(hiddenSize) is not divisible by \(heads) heads") }
        guard try r.string("hidden_act", default: "gelu") == "gelu" else { throw bad("hidden_act: only gelu is supported") }
        guard try r.string("readout_type", default: "ignore") == "project" else { throw bad("readout_type: DPT-hybrid needs \"project\"") }
        let indices = try r.ints("backbone_out_indices", count: 4, default: [2, 5, 8, 11], range: 0...127)
        let nLayers = layers
        guard indices.allSatisfy({ $0 < nLayers }) else { throw bad("backbone_out_indices \(indices) reach past \(nLayers) layers") }
        outLayers = Array(indices[2...])
        neckHiddenSizes = try r.ints("neck_hidden_sizes", count: 4, default: [96, 192, 384, 768], range: 1...8192)
        fusionHiddenSize = try r.int("fusion_hidden_size", default: 256, range: 2...8192)
        let listed = (r.present("reassemble_factors") as? [Any] ?? [4, 2, 1, 0.5]).filter { !isJSONBool($0) }
        let factors = listed.compactMap { ($0 as? NSNumber)?.doubleValue }
        guard factors.count == 4, listed.count == 4 else { throw bad("reassemble_factors: expected 4 numbers") }
        for f in factors where !(f > 0 && f <= 1 && (1 / f).rounded() == 1 / f && 1 / f <= 8) {
            throw bad("reassemble_factors: \(f) is not supported (1 or 1/n; upsampling transposed convs are not)")
        }
        reassembleStrides = factors.map { Int(1 / $0) }
        guard try r.ints("neck_ignore_stages", count: 2, default: [0, 1]) == [0, 1] else { throw bad("neck_ignore_stages must be [0, 1]") }
        guard try r.int("head_in_index", default: -1, range: -8...8) == -1 else { throw bad("head_in_index must be -1") }
        guard try !r.bool("use_batch_norm_in_fusion_residual", default: false) else { throw bad("use_batch_norm_in_fusion_residual is not supported") }
        guard try r.bool("use_bias_in_fusion_residual", default: true) else { throw bad("use_bias_in_fusion_residual false is not supported") }
        guard try !r.bool("add_projection", default: false) else { throw bad("add_projection is not supported") }
        // Stages 1 and 2 of the backbone enter the neck unchanged, so their widths must agree.
        guard Array(neckHiddenSizes.prefix(2)) == Array(backbone.stageChannels.prefix(2)) else {
            throw bad("neck_hidden_sizes \(neckHiddenSizes) must start with the backbone's stage widths \(backbone.stageChannels.prefix(2))")
        }
        // The embeddings' 1×1 projection reads backbone_featmap_shape[1] channels: the last stage's.
        let featmap = try r.ints("backbone_featmap_shape", count: 4, default: [1, 1024, 24, 24], range: 1...8192)
        guard featmap[1] == backbone.stageChannels[2] else {
            throw bad("backbone_featmap_shape \(featmap) does not match the backbone's last stage width \(backbone.stageChannels[2])")
        }
        guard imageSize % 16 == 0, patchSize == 16 else {
            throw bad("image_size \(imageSize) / patch_size \(patchSize): the BiT backbone downsamples by 16, so patch_size must be 16 and image_size a multiple of it")
        }
    }

    /// Tokens per side of the position-embedding grid.
    public var grid: Int { imageSize / patchSize }
}
