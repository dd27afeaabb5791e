// DPT-hybrid depth estimation (MiDaS dpt_hybrid as stable-diffusion-2-depth ships it):
// transformers models/dpt/modeling_dpt.py — DPTViTHybridEmbeddings, DPTViTLayer, DPTReassembleStage
// (hybrid: stages 0 and 1 are the BiT features as they are), DPTNeck, DPTFeatureFusionStage /
// DPTFeatureFusionLayer / DPTPreActResidualLayer, DPTDepthEstimationHead, DPTForDepthEstimation.forward.
// Key names are the checkpoint's (dpt.embeddings…, dpt.encoder.layer.{i}…, neck…, head.head.{0,2,4}).
import SDCore

/// DPTViTLayer: pre-LN self-attention and MLP, both residual.
struct DPTViTLayer {
    let before: LayerNorm, after: LayerNorm
    let query: Linear, key: Linear, value: Linear, output: Linear
    let fc1: Linear, fc2: Linear
    let heads: Int

    init(_ w: Weights, _ c: DPTConfig) throws {
        let d = c.hiddenSize
        before = try LayerNorm(w.scoped("layernorm_before"), d, eps: c.layerNormEps)
        after = try LayerNorm(w.scoped("layernorm_after"), d, eps: c.layerNormEps)
        let a = w.scoped("attention").scoped("attention")
        query = try Linear(a.scoped("query"), d, d, bias: c.qkvBias)
        key = try Linear(a.scoped("key"), d, d, bias: c.qkvBias)
        value = try Linear(a.scoped("value"), d, d, bias: c.qkvBias)
        output = try Linear(w.scoped("attention").scoped("output").scoped("dense"), d, d)
        fc1 = try Linear(w.scoped("intermediate").scoped("dense"), d, c.intermediateSize)
        fc2 = try Linear(w.scoped("output").scoped("dense"), c.intermediateSize, d)
        heads = c.heads
    }

    // x: [B, T, D]
    func callAsFunction(_ x: Tensor) -> Tensor {
        var x = x
        let h = before(x)
        x.add(output(Tensor.attention(q: query(h), k: key(h), v: value(h), heads: heads, precision: query.weight.precision)))
        x.add(fc2(fc1(after(x)).gelu()))
        return x
    }
}

/// DPTPreActResidualLayer without batch-norm: x + conv2(relu(conv1(relu(x)))).
struct ResidualConvUnit {
    let conv1: Conv2d, conv2: Conv2d
    init(_ w: Weights, _ ch: Int) throws {
        conv1 = try Conv2d(w.scoped("convolution1"), ch, ch, kernel: 3, padding: 1)
        conv2 = try Conv2d(w.scoped("convolution2"), ch, ch, kernel: 3, padding: 1)
    }
    func callAsFunction(_ x: Tensor) -> Tensor { x + conv2(conv1(x.relu()).relu()) }
}

/// DPTFeatureFusionLayer: add the refined residual (bilinearly resized if sizes differ), refine,
/// upsample ×2 (bilinear, align_corners=True), 1×1 projection.
struct FusionLayer {
    let residual1: ResidualConvUnit, residual2: ResidualConvUnit
    let projection: Conv2d
    init(_ w: Weights, _ ch: Int) throws {
        residual1 = try ResidualConvUnit(w.scoped("residual_layer1"), ch)
        residual2 = try ResidualConvUnit(w.scoped("residual_layer2"), ch)
        projection = try Conv2d(w.scoped("projection"), ch, ch, kernel: 1)
    }
    func callAsFunction(_ x: Tensor, residual: Tensor?) -> Tensor {
        var x = x
        if var r = residual {
            if r.shape != x.shape { r = r.interpolated(height: x.dim(2), width: x.dim(3), mode: .bilinear) }
            x = x + residual1(r)
        }
        x = residual2(x)
        x = x.interpolated(height: 2 * x.dim(2), width: 2 * x.dim(3), mode: .bilinear, alignCorners: true)
        return projection(x)
    }
}

public struct DPTForDepthEstimation {
    public let config: DPTConfig
    let backbone: BiTBackbone
    let tokenProjection: Conv2d
    let clsToken: Tensor            // [1, 1, D]
    let positionEmbeddings: Tensor  // [1, 1 + grid², D]
    let layers: [DPTViTLayer]
    /// Reassemble of the ViT features (neck stages 2 and 3): readout projection, 1×1, resize.
    let readout: [Linear], reassembleProjection: [Conv2d], reassembleResize: [Conv2d?]
    let neckConvs: [Conv2d]
    let fusion: [FusionLayer]
    let head: (Conv2d, Conv2d, Conv2d)

    public init(config c: DPTConfig, weights store: WeightStore) throws {
        config = c
        let root = Weights(store)
        let dpt = root.scoped("dpt"), emb = dpt.scoped("embeddings"), d = c.hiddenSize
        backbone = try BiTBackbone(emb.scoped("backbone").scoped("bit"), c.backbone)
        tokenProjection = try Conv2d(emb.scoped("projection"), c.backbone.stageChannels[2], d, kernel: 1)
        clsToken = try emb("cls_token", [1, 1, d])
        positionEmbeddings = try emb("position_embeddings", [1, c.grid * c.grid + 1, d])
        // Only the layers up to the last one the neck reads run.
        layers = try (0...c.outLayers.max()!).map { try DPTViTLayer(dpt.scoped("encoder").scoped("layer").scoped($0), c) }
        let neck = root.scoped("neck"), re = neck.scoped("reassemble_stage")
        readout = try [2, 3].map { try Linear(re.scoped("readout_projects").scoped($0).scoped(0), 2 * d, d) }
        reassembleProjection = try [2, 3].map { try Conv2d(re.scoped("layers").scoped($0).scoped("projection"), d, c.neckHiddenSizes[$0], kernel: 1) }
        reassembleResize = try [2, 3].map { i in
            c.reassembleStrides[i] == 1 ? nil : try Conv2d(re.scoped("layers").scoped(i).scoped("resize"), c.neckHiddenSizes[i],
                                                            c.neckHiddenSizes[i], kernel: 3, stride: c.reassembleStrides[i], padding: 1)
        }
        let f = c.fusionHiddenSize
        neckConvs = try (0..<4).map { try Conv2d(neck.scoped("convs").scoped($0), c.neckHiddenSizes[$0], f, kernel: 3, padding: 1, bias: false) }
        // layers.0.residual_layer1 is in the checkpoint but never runs (the coarsest level has no residual).
        fusion = try (0..<4).map { try FusionLayer(neck.scoped("fusion_stage").scoped("layers").scoped($0), f) }
        let h = root.scoped("head").scoped("head")
        head = (try Conv2d(h.scoped(0), f, f / 2, kernel: 3, padding: 1), try Conv2d(h.scoped(2), f / 2, 32, kernel: 3, padding: 1),
                try Conv2d(h.scoped(4), 32, 1, kernel: 1))
    }

    /// Checkpoint keys this model never reads (the loader's strictness skips them): the final
    /// LayerNorm feeds only DPTModel's last_hidden_state, which depth estimation never reads; the
    /// encoder layers past the neck's last input likewise.
    public static func unreadKeys(_ c: DPTConfig) -> (keys: [String], prefixes: [String]) {
        (["dpt.layernorm.weight", "dpt.layernorm.bias"], ((c.outLayers.max()! + 1)..<c.layers).map { "dpt.encoder.layer.\($0)." })
    }

    /// predicted_depth [B, H, W] (relative inverse depth, ≥ 0) for pixel values [B, 3, H, W],
    /// H = W = image_size (the reference refuses other sizes without interpolate_pos_encoding).
    public func callAsFunction(_ pixels: Tensor) -> Tensor {
        precondition(pixels.rank == 4 && pixels.dim(1) == config.backbone.numChannels
                     && pixels.dim(2) == config.imageSize && pixels.dim(3) == config.imageSize,
                     "DPT expects [B, \(config.backbone.numChannels), \(config.imageSize), \(config.imageSize)], got \(pixels.shape)")
        let b = pixels.dim(0), d = config.hiddenSize, g = config.grid, n = g * g
        // 1. BiT stages; the last one becomes the ViT tokens.
        let stages = backbone(pixels)
        let tokens = tokenProjection(stages[2]).reshaped([b, d, n]).transposed(1, 2)          // [B, N, D]
        var x = Tensor.concat([clsToken.repeatedBatch(b), tokens], dim: 1) + positionEmbeddings // [B, 1+N, D]
        // 2. Encoder, keeping the outputs the neck reads.
        var kept: [Int: Tensor] = [:]
        for (i, layer) in layers.enumerated() {
            x = layer(x)
            if config.outLayers.contains(i) { kept[i] = x }
        }
        // 3. Reassemble: tokens back to [B, C, g, g] with the CLS readout projected in.
        var features = [stages[0], stages[1]]
        for (j, index) in config.outLayers.enumerated() {
            let h = kept[index]!
            let cls = h.narrowed(dim: 1, start: 0, length: 1)
            let rest = h.narrowed(dim: 1, start: 1, length: n)
            let r = readout[j](Tensor.concat([rest, Tensor.concat(Array(repeating: cls, count: n), dim: 1)], dim: 2)).gelu()
            var map = reassembleProjection[j](r.transposed(1, 2).reshaped([b, d, g, g]))
            if let resize = reassembleResize[j] { map = resize(map) }
            features.append(map)
        }
        // 4. Neck convs, then fusion from the coarsest level to the finest.
        let necked = features.enumerated().map { neckConvs[$0.offset]($0.element) }
        var fused = fusion[0](necked[3], residual: nil)
        for (k, level) in [necked[2], necked[1], necked[0]].enumerated() { fused = fusion[k + 1](fused, residual: level) }
        // 5. Head: conv, ×2 bilinear (align_corners), conv, ReLU, 1×1 conv, ReLU.
        var y = head.0(fused)
        y = y.interpolated(height: 2 * y.dim(2), width: 2 * y.dim(3), mode: .bilinear, alignCorners: true)
        y = head.2(head.1(y).relu()).relu()
        return y.reshaped([b, y.dim(2), y.dim(3)])
    }
}
