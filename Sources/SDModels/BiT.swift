// BiT ResNet backbone of DPT-hybrid (transformers models/bit/modeling_bit.py: BitEmbeddings,
// BitBottleneckLayer, BitDownsampleConv, BitStage, BitEncoder with layer_type "bottleneck" and
// global_padding "SAME"). Keys under `bit.`: embedder.convolution / embedder.norm,
// encoder.stages.{s}.layers.{l}.{conv1,conv2,conv3,norm1,norm2,norm3,downsample.conv,downsample.norm}.
import SDCore

/// WeightStandardizedConv2d (no bias): each filter standardised once at load —
/// (w − mean) / √(var + eps), biased variance over in·kh·kw — as the F.batch_norm(training=True) the
/// reference runs on every call (statistics in double, as ATen's CPU batch_norm; the affine step in
/// float). TF "SAME" padding: static (k−1)/2 for stride 1, else DynamicPad2d's split at run time.
struct StandardizedConv {
    let weight: LayerWeight
    let kernel: Int, stride: Int

    init(_ w: Weights, _ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, eps: Double = 1e-8) throws {
        let raw = try w("weight", [outChannels, inChannels, kernel, kernel])
        let per = inChannels * kernel * kernel
        let standardized = Tensor(shape: raw.shape) { o in
            raw.withUnsafeBufferPointer { src in
                for f in 0..<outChannels {
                    let row = UnsafeBufferPointer(rebasing: src[(f * per)..<((f + 1) * per)])
                    let mean = row.reduce(0.0) { $0 + Double($1) } / Double(per)
                    let variance = row.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(per)
                    let alpha = Float(1 / (variance + eps).squareRoot()), beta = Float(-mean) * alpha
                    for i in 0..<per { o[f * per + i] = row[i] * alpha + beta }
                }
            }
        }
        weight = LayerWeight(standardized, precision: w.store.precision)
        self.kernel = kernel
        self.stride = stride
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        x.conv2d(weight: weight, bias: nil, stride: stride, padding: samePadding(kernel: kernel, stride: stride,
                                                                                  height: x.dim(2), width: x.dim(3)))
    }
}

/// get_padding_value("SAME") / DynamicPad2d: TF's SAME split (the extra pixel goes right and bottom).
func samePadding(kernel k: Int, stride s: Int, height h: Int, width w: Int) -> Padding2D {
    if s == 1 && (k - 1) % 2 == 0 { return .symmetric((k - 1) / 2) }
    func total(_ x: Int) -> Int { Swift.max(((x + s - 1) / s - 1) * s + k - x, 0) }
    let ph = total(h), pw = total(w)
    return Padding2D(top: ph / 2, bottom: ph - ph / 2, left: pw / 2, right: pw - pw / 2)
}

/// BitGroupNormActivation: GroupNorm (eps 1e-5) then ReLU, or no activation.
struct GroupNormAct {
    let norm: GroupNorm
    let relu: Bool
    init(_ w: Weights, groups: Int, channels: Int, relu: Bool = true) throws {
        norm = try GroupNorm(w, groups: groups, channels: channels, eps: 1e-5)
        self.relu = relu
    }
    func callAsFunction(_ x: Tensor) -> Tensor { relu ? norm(x).relu() : norm(x) }
}

/// BitBottleneckLayer (non-pre-activation): the stride sits on the 3×3 conv; the first layer of a
/// stage has a downsample shortcut (1×1 strided conv + GroupNorm without activation).
struct BiTBottleneck {
    let conv1: StandardizedConv, conv2: StandardizedConv, conv3: StandardizedConv
    let norm1: GroupNormAct, norm2: GroupNormAct, norm3: GroupNormAct
    let downsample: (conv: StandardizedConv, norm: GroupNormAct)?

    init(_ w: Weights, _ c: BiTConfig, inChannels: Int, outChannels: Int, stride: Int, first: Bool) throws {
        let mid = BiTConfig.makeDiv(Double(outChannels) * 0.25)
        let g = c.numGroups
        guard mid % g == 0 else {
            throw SDError.badFile(path: w.store.name + "/config.json", message: "num_groups \(g) does not divide the \(mid) bottleneck channels")
        }
        conv1 = try StandardizedConv(w.scoped("conv1"), inChannels, mid, kernel: 1)
        norm1 = try GroupNormAct(w.scoped("norm1"), groups: g, channels: mid)
        conv2 = try StandardizedConv(w.scoped("conv2"), mid, mid, kernel: 3, stride: stride)
        norm2 = try GroupNormAct(w.scoped("norm2"), groups: g, channels: mid)
        conv3 = try StandardizedConv(w.scoped("conv3"), mid, outChannels, kernel: 1)
        norm3 = try GroupNormAct(w.scoped("norm3"), groups: g, channels: outChannels, relu: false)
        downsample = first ? (try StandardizedConv(w.scoped("downsample").scoped("conv"), inChannels, outChannels, kernel: 1, stride: stride),
                              try GroupNormAct(w.scoped("downsample").scoped("norm"), groups: g, channels: outChannels, relu: false)) : nil
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let shortcut = downsample.map { $0.norm($0.conv(x)) } ?? x
        var h = norm1(conv1(x))
        h = norm2(conv2(h))
        h = norm3(conv3(h))
        return (h + shortcut).relu()
    }
}

/// The stem and three stages; returns the three stage outputs ([B, C_s, H/4, W/4], /8, /16).
struct BiTBackbone {
    let config: BiTConfig
    let stem: StandardizedConv, stemNorm: GroupNormAct
    let stages: [[BiTBottleneck]]

    init(_ w: Weights, _ c: BiTConfig) throws {
        config = c
        let e = w.scoped("embedder")
        stem = try StandardizedConv(e.scoped("convolution"), c.numChannels, c.embeddingSize, kernel: 7, stride: 2)
        stemNorm = try GroupNormAct(e.scoped("norm"), groups: c.numGroups, channels: c.embeddingSize)
        var prev = c.embeddingSize
        var stages: [[BiTBottleneck]] = []
        for (s, (depth, out)) in zip(c.depths, c.stageChannels).enumerated() {
            let sw = w.scoped("encoder").scoped("stages").scoped(s).scoped("layers")
            var layers: [BiTBottleneck] = []
            for l in 0..<depth {
                let stride = l == 0 && s > 0 ? 2 : 1
                layers.append(try BiTBottleneck(sw.scoped(l), c, inChannels: l == 0 ? prev : out, outChannels: out,
                                                stride: stride, first: l == 0))
            }
            stages.append(layers)
            prev = out
        }
        self.stages = stages
    }

    func callAsFunction(_ pixels: Tensor) -> [Tensor] {
        var x = stemNorm(stem(pixels))
        // BitMaxPool2d 3×3 stride 2: SAME-padded with zeros (safe after the ReLU), or unpadded.
        if config.dynamicPoolPadding {
            let p = samePadding(kernel: 3, stride: 2, height: x.dim(2), width: x.dim(3))
            x = x.padded2D(left: p.left, right: p.right, top: p.top, bottom: p.bottom)
        }
        x = x.maxPool2d(kernel: 3, stride: 2)
        var outputs: [Tensor] = []
        for stage in stages {
            for layer in stage { x = layer(x) }
            outputs.append(x)
        }
        return outputs
    }
}
