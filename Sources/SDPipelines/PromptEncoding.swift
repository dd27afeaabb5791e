// Prompt encoding as AUTOMATIC1111 does it (stable-diffusion-webui modules/sd_hijack_clip.py,
// FrozenCLIPEmbedderWithCustomWordsBase: tokenize_line, forward, process_tokens; modules/sd_emphasis.py,
// EmphasisOriginal; modules/sd_hijack_open_clip.py for SD 2.x; the "pad prompt/negative prompt" option,
// modules/sd_samplers_cfg_denoiser.py pad_cond_uncond):
// 1. parse the attention syntax; tokenize each piece on its own (SD 1.x: the transformers tokenizer,
//    SD 2.x: open_clip's), without start/end tokens;
// 2. fill 75-token chunks, each wrapped as [start] + 75 + [end] and padded with the end token (SD 2.x:
//    everything after the first end token becomes the pad id 0); BREAK closes a chunk; a full chunk
//    whose last 20 tokens hold a comma moves the tokens after that comma to the next chunk;
// 3. encode each chunk on its own, scale the output by the token weights and restore the chunk's mean
//    (mean(z) / mean(z·w)); concatenate the chunks along the sequence.
// A chunk whose weights are all 1 skips step 3's scaling: it is the identity, and the mean restore
// would be 0/0 on an encoder whose output has a zero mean.
import SDCore
import SDModels

/// Which of A1111's two embedders a model gets: CLIP ViT-L (SD 1.x) or OpenCLIP ViT-H (SD 2.x).
public enum PromptEmbedder: Sendable {
    case clip, openCLIP
}

/// One chunk: the ids the text encoder sees and one multiplier per id.
public struct PromptChunk: Equatable {
    public var tokens: [Int]
    public var multipliers: [Float]
    public init(tokens: [Int], multipliers: [Float]) { self.tokens = tokens; self.multipliers = multipliers }
}

public struct A1111PromptEncoder {
    public let tokenizer: CLIPTokenizer
    public let embedder: PromptEmbedder
    /// Tokens per chunk between the start and end tokens (75 for CLIP's 77 positions).
    public let chunkLength: Int
    /// opts.comma_padding_backtrack (A1111's default 20; 0 turns the word wrap off).
    public var commaBacktrack = 20
    let commaID: Int?

    public init(tokenizer: CLIPTokenizer, embedder: PromptEmbedder) {
        self.tokenizer = tokenizer
        self.embedder = embedder
        chunkLength = tokenizer.maxLength - 2
        commaID = tokenizer.vocab[",</w>"]
    }

    /// SD 2.x tokenizers pad with an id other than the end token ("!" = 0); A1111 tells the two
    /// embedders apart by the same difference (id_end != id_pad).
    public init(tokenizer: CLIPTokenizer) {
        self.init(tokenizer: tokenizer, embedder: tokenizer.padID != tokenizer.eosID ? .openCLIP : .clip)
    }

    func tokenize(_ text: String) -> [Int] {
        embedder == .openCLIP ? tokenizer.openCLIPTokenIDs(text) : tokenizer.tokenIDs(text)
    }

    /// The chunks of one prompt (no <lora:…> tags left in it).
    public func chunks(_ prompt: String) throws -> [PromptChunk] { chunks(try PromptAttention.parse(prompt)) }

    /// tokenize_line over parsed pieces.
    public func chunks(_ parsed: [WeightedText]) -> [PromptChunk] {
        var chunks: [PromptChunk] = []
        var tokens: [Int] = [], weights: [Float] = []
        var lastComma = -1
        func close() {
            let fill = chunkLength - tokens.count
            if fill > 0 {
                tokens += Array(repeating: tokenizer.eosID, count: fill)
                weights += Array(repeating: 1, count: fill)
            }
            var ids = [tokenizer.bosID] + tokens + [tokenizer.eosID]
            if embedder == .openCLIP, let end = ids.firstIndex(of: tokenizer.eosID) {
                for i in (end + 1)..<ids.count { ids[i] = 0 }
            }
            chunks.append(PromptChunk(tokens: ids, multipliers: [1] + weights + [1]))
            tokens = []; weights = []; lastComma = -1
        }
        for piece in parsed {
            if piece.isBreak { close(); continue }
            let w = Float(piece.weight)
            for token in tokenize(piece.text) {
                if token == commaID {
                    lastComma = tokens.count
                } else if commaBacktrack != 0, tokens.count == chunkLength, lastComma != -1, tokens.count - lastComma <= commaBacktrack {
                    let cut = lastComma + 1
                    let (movedTokens, movedWeights) = (Array(tokens[cut...]), Array(weights[cut...]))
                    tokens.removeSubrange(cut...); weights.removeSubrange(cut...)
                    close()
                    tokens = movedTokens; weights = movedWeights
                }
                if tokens.count == chunkLength { close() }
                tokens.append(token)
                weights.append(w)
            }
        }
        if !tokens.isEmpty || chunks.isEmpty { close() }
        return chunks
    }

    /// [1, 77·chunks, D]: each chunk through `encoder` ([[ids]] → [1, 77, D]), emphasis, concatenated.
    public func encode(_ chunks: [PromptChunk], encoder: ([[Int]]) -> Tensor) -> Tensor {
        Tensor.concat(chunks.map { emphasize(encoder([$0.tokens]), $0.multipliers) }, dim: 1)
    }

    /// EmphasisOriginal.after_transformers on z [1, T, D] with T multipliers.
    func emphasize(_ z: Tensor, _ w: [Float]) -> Tensor {
        guard w.contains(where: { $0 != 1 }) else { return z }
        let d = z.dim(2)
        let before = z.mean()
        var scaled = z
        scaled.storage.withUnsafeMutableBufferPointer { p in
            for t in 0..<w.count { for j in 0..<d { p[t * d + j] *= w[t] } }
        }
        let ratio = before / scaled.mean()
        return scaled * ratio
    }
}

extension StableDiffusionModel {
    /// Prompt embeddings, [uncond, cond] when guidance is on. `.diffusers`: encode_prompt (one
    /// 77-token sequence each). `.a1111`: A1111PromptEncoder with the model's embedder; the shorter of
    /// the two is padded with the empty prompt's chunk, so both have the same length.
    public func encodePrompt(_ prompt: String, negative: String?, guidance: Bool, syntax: PromptSyntax) throws -> Tensor {
        defer {
            if releasesTextEncoderAfterUse {
                releasesTextEncoderAfterUse = false
                Winograd.grant(source.releaseTextEncoderPages())
            }
        }
        guard syntax == .a1111 else { return encodePrompt(prompt, negative: negative, guidance: guidance) }
        let enc = A1111PromptEncoder(tokenizer: tokenizer)
        let text = { (ids: [[Int]]) in self.textEncoder(ids) }
        let cond = enc.encode(try enc.chunks(try ExtraNetworks.parse(prompt).prompt), encoder: text)
        guard guidance else { return cond }
        let uncond = enc.encode(try enc.chunks(negative ?? ""), encoder: text)
        return Tensor.concat(A1111PromptEncoder.padToSameLength(uncond, cond, empty: { enc.encode(enc.chunks([WeightedText("", 1)]), encoder: text) }), dim: 0)
    }
}

extension A1111PromptEncoder {
    /// pad_cond_uncond: the shorter of [1, T, D] embeddings gets `empty()` ([1, 77, D]) repeated at its end.
    static func padToSameLength(_ a: Tensor, _ b: Tensor, empty: () -> Tensor) -> [Tensor] {
        guard a.dim(1) != b.dim(1) else { return [a, b] }
        let e = empty()
        func pad(_ x: Tensor, to n: Int) -> Tensor {
            Tensor.concat([x] + Array(repeating: e, count: (n - x.dim(1)) / e.dim(1)), dim: 1)
        }
        let n = max(a.dim(1), b.dim(1))
        return [pad(a, to: n), pad(b, to: n)]
    }
}

extension StableDiffusionModel {
    /// What a user should hear about a prompt before it runs: in diffusers syntax, text past the 75
    /// tokens CLIP reads (diffusers logs the same); in A1111 syntax, the <lora:…> and other
    /// extra-network tags taken out of the text. Throws for what A1111 refuses (a weight that is not a number).
    public func promptNotes(_ prompt: String, negative: String?, syntax: PromptSyntax) throws -> [String] {
        var notes: [String] = []
        switch syntax {
        case .diffusers:
            let limit = tokenizer.maxLength - 2
            for (label, text) in [("prompt", prompt), ("negative prompt", negative ?? "")] {
                let n = tokenizer.tokenIDs(text).count
                if n > limit {
                    notes.append("the \(label) is \(n) tokens; CLIP reads the first \(limit) and drops the rest "
                                 + "(--prompt-syntax a1111 encodes long prompts in \(limit)-token chunks)")
                }
            }
        case .a1111:
            let parsed = try ExtraNetworks.parse(prompt)
            for text in [parsed.prompt, negative ?? ""] { _ = try PromptAttention.parse(text) }
            for t in parsed.loras where t.unetWeight != t.weight {
                notes.append("<lora:\(t.name)…> has separate text-encoder and UNet weights; \(t.weight) is used for both")
            }
            for name in Set(parsed.others).sorted() {
                notes.append("<\(name):…> tags are taken out of the prompt; \(name) networks are not supported")
            }
        }
        return notes
    }
}
