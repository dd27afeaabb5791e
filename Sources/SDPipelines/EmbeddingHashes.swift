// A1111's `TI hashes` infotext field (stable-diffusion-webui ≥ 1.6, modules/sd_hijack_clip.py
// FrozenCLIPEmbedderWithCustomWordsBase.forward, option textual_inversion_add_hashes_to_infotext on by
// default): `TI hashes: "NAME: 0123456789ab, …"` for the embeddings a prompt's tokens use, the name
// with ':' and ',' removed, the value quoted as infotext quotes any value holding ':' or ','
// (modules/infotext_utils.py quote: json.dumps).
import SDCore
import SDModels

public enum EmbeddingHashes {
    /// The embeddings the prompt, then the negative prompt, use, in the order they first occur.
    /// A1111 encodes the negative prompt first and appends the earlier field after the later one, so
    /// its text lists the prompt's embeddings, then the negative prompt's; an embedding in both is
    /// listed once here (A1111 repeats it).
    public static func used(prompt: String, negative: String?, syntax: PromptSyntax, tokenizer: CLIPTokenizer,
                            embeddings: [TextualInversion]) throws -> [TextualInversion] {
        var owner: [Int: Int] = [:]
        for (i, e) in embeddings.enumerated() { for id in tokenizer.addedIDs(e.name) ?? [] { owner[id] = i } }
        guard !owner.isEmpty else { return [] }
        func ids(_ text: String, stripTags: Bool) throws -> [Int] {
            // The ids the text encoder sees, as encodePrompt makes them (diffusers truncates to 77).
            guard syntax == .a1111 else { return tokenizer.encode(text) }
            let enc = A1111PromptEncoder(tokenizer: tokenizer)
            return try enc.chunks(stripTags ? try ExtraNetworks.parse(text).prompt : text).flatMap(\.tokens)
        }
        var order: [Int] = []
        for id in try ids(prompt, stripTags: true) + ids(negative ?? "", stripTags: false) {
            if let i = owner[id], !order.contains(i) { order.append(i) }
        }
        return order.map { embeddings[$0] }
    }

    /// ("TI hashes", "NAME: hash, …") for the embeddings the prompts use, nil when they use none. The
    /// value is unquoted: Infotext.formatted quotes it, as A1111's create_infotext does.
    public static func infotextField(prompt: String, negative: String?, syntax: PromptSyntax, tokenizer: CLIPTokenizer,
                                     embeddings: [TextualInversion]) throws -> (String, String)? {
        let list = try used(prompt: prompt, negative: negative, syntax: syntax, tokenizer: tokenizer, embeddings: embeddings)
        guard !list.isEmpty else { return nil }
        let items = try list.map { e in
            e.name.replacingOccurrences(of: ":", with: "").replacingOccurrences(of: ",", with: "") + ": " + (try e.shortHash())
        }
        return ("TI hashes", items.joined(separator: ", "))
    }
}
