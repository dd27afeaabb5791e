// CLIPTextModel as SD2 uses it: transformers models/clip/modeling_clip.py (CLIPTextEmbeddings,
// CLIPAttention, CLIPMLP, CLIPEncoderLayer, CLIPTextTransformer) — pre-LN blocks, causal mask, no
// padding mask, exact GELU, final layer norm; the output is last_hidden_state.
// Keys are the real repos' (text_model.…); ModelSource maps the other spellings onto them.
import SDCore

public struct CLIPTextConfig {
    public let hiddenSize: Int, intermediateSize: Int, heads: Int, layers: Int
    public let vocabSize: Int, maxPositions: Int
    public let layerNormEps: Float
    public let quickGELU: Bool

    public init(_ r: ConfigReader) throws {
        hiddenSize = try r.int("hidden_size", default: 512, range: 1...8192)
        intermediateSize = try r.int("intermediate_size", default: 2048, range: 1...65536)
        heads = try r.int("num_attention_heads", default: 8, range: 1...256)
        layers = try r.int("num_hidden_layers", default: 12, range: 1...128)
        vocabSize = try r.int("vocab_size", default: 49408, range: 1...1_000_000)
        maxPositions = try r.int("max_position_embeddings", default: 77, range: 1...4096)
        layerNormEps = Float(try r.double("layer_norm_eps", default: 1e-5, range: 0...1))
        let act = try r.string("hidden_act", default: "quick_gelu")
        guard act == "gelu" || act == "quick_gelu" else {
            throw SDError.badFile(path: r.path, message: "hidden_act \(act) is not supported (gelu, quick_gelu)")
        }
        quickGELU = act == "quick_gelu"
        guard hiddenSize % heads == 0 else {
            throw SDError.badFile(path: r.path, message: "hidden_size \(hiddenSize) is not divisible by \(heads) heads")
        }
    }
}

struct CLIPEncoderLayer {
    let layerNorm1: LayerNorm, layerNorm2: LayerNorm
    let q: Linear, k: Linear, v: Linear, out: Linear
    let fc1: Linear, fc2: Linear
    let heads: Int
    let quickGELU: Bool

    init(_ w: Weights, _ c: CLIPTextConfig) throws {
        let d = c.hiddenSize
        layerNorm1 = try LayerNorm(w.scoped("layer_norm1"), d, eps: c.layerNormEps)
        layerNorm2 = try LayerNorm(w.scoped("layer_norm2"), d, eps: c.layerNormEps)
        let a = w.scoped("self_attn")
        q = try Linear(a.scoped("q_proj"), d, d)
        k = try Linear(a.scoped("k_proj"), d, d)
        v = try Linear(a.scoped("v_proj"), d, d)
        out = try Linear(a.scoped("out_proj"), d, d)
        fc1 = try Linear(w.scoped("mlp").scoped("fc1"), d, c.intermediateSize)
        fc2 = try Linear(w.scoped("mlp").scoped("fc2"), c.intermediateSize, d)
        heads = c.heads
        quickGELU = c.quickGELU
    }

    // x: [B, T, D]
    func callAsFunction(_ x: Tensor) -> Tensor {
        var x = x
        let h = layerNorm1(x)
        x.add(out(Tensor.attention(q: q(h), k: k(h), v: v(h), heads: heads, causal: true, precision: q.weight.precision)))
        var m = fc1(layerNorm2(x))
        m = quickGELU ? m * (m * 1.702).sigmoid() : m.gelu()
        x.add(fc2(m))
        return x
    }
}

public struct CLIPTextModel {
    public let config: CLIPTextConfig
    private(set) var tokenEmbedding: LayerWeight     // [vocab (+ added tokens), D], fp32
    let positionEmbedding: Tensor  // [positions, D]
    let layers: [CLIPEncoderLayer]
    let finalLayerNorm: LayerNorm

    public init(config: CLIPTextConfig, weights store: WeightStore) throws {
        self.config = config
        let w = Weights(store).scoped("text_model")
        let emb = w.scoped("embeddings")
        tokenEmbedding = try emb.scoped("token_embedding").table("weight", [config.vocabSize, config.hiddenSize])
        positionEmbedding = try emb.scoped("position_embedding")("weight", [config.maxPositions, config.hiddenSize])
        layers = try (0..<config.layers).map { try CLIPEncoderLayer(w.scoped("encoder").scoped("layers").scoped($0), config) }
        finalLayerNorm = try LayerNorm(w.scoped("final_layer_norm"), config.hiddenSize, eps: config.layerNormEps)
    }

    /// Rows for tokens added after the vocabulary (textual inversion): ids vocabSize, vocabSize + 1, …
    public mutating func appendTokenEmbeddings(_ rows: Tensor) {
        precondition(rows.rank == 2 && rows.shape[1] == config.hiddenSize)
        // One copy: the (mapped) table and the new rows straight into the owned one.
        let n = tokenEmbedding.shape[0] * config.hiddenSize
        let grown = tokenEmbedding.withFloats { table in
            Tensor(shape: [tokenEmbedding.shape[0] + rows.shape[0], config.hiddenSize]) { o in
                o.baseAddress!.initialize(from: table.baseAddress!, count: n)
                rows.withUnsafeBufferPointer { (o.baseAddress! + n).initialize(from: $0.baseAddress!, count: $0.count) }
            }
        }!
        tokenEmbedding = LayerWeight(grown)
    }

    /// last_hidden_state [B, T, D] for token ids [B][T].
    public func callAsFunction(_ ids: [[Int]]) -> Tensor {
        let b = ids.count, t = ids.first?.count ?? 0, d = config.hiddenSize
        precondition(t <= config.maxPositions, "\(t) tokens exceed \(config.maxPositions) positions")
        let rows = tokenEmbedding.shape[0]
        var x = tokenEmbedding.withFloats { table in
            Tensor(shape: [b, t, d]) { o in
                for (bi, row) in ids.enumerated() {
                    for (ti, id) in row.enumerated() {
                        let tok = Swift.min(Swift.max(id, 0), rows - 1)
                        for j in 0..<d {
                            o[(bi * t + ti) * d + j] = table[tok * d + j] + positionEmbedding.storage[ti * d + j]
                        }
                    }
                }
            }
        }!
        for layer in layers { x = layer(x) }
        return finalLayerNorm(x)
    }
}
