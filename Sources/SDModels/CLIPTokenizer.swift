// CLIP BPE tokenizer as diffusers loads it for SD2: transformers 5.23 `CLIPTokenizer`
// (models/clip/tokenization_clip.py, tokenizers backend) built from vocab.json + merges.txt, with the
// special tokens of special_tokens_map.json (SD2: pad = "!" = id 0, which also makes "!" in a prompt a
// special token). Pipeline call: padding="max_length", max_length=77, truncation=True.
//
// 1. split the raw text on special tokens (longest first);
// 2. other text: NFC, runs of whitespace → " ", lowercase;
// 3. pre-tokenise with <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+;
// 4. byte-level map (GPT-2 bytes_to_unicode), BPE with "</w>" on the last symbol;
// 5. [bos] + first (maxLength − 2) ids + [eos], padded with the pad id.
import CVocab
import Foundation
import SDCore

public final class CLIPTokenizer {
    public let vocab: [String: Int]
    let ranks: [String: Int]  // "a b" -> merge rank
    public let bosID: Int, eosID: Int, padID: Int, unkID: Int
    public let maxLength: Int
    let specials: [(String, Int)]  // longest first
    /// Textual-inversion tokens: a name and the ids it stands for (several for a multi-vector one).
    private(set) var added: [(String, [Int])] = []
    /// The ids an added (textual-inversion) token stands for, nil for any other text.
    public func addedIDs(_ token: String) -> [Int]? { added.first { $0.0 == token }?.1 }
    let byteMap: [Character]
    private var cache: [String: [Int]] = [:]

    public convenience init(folder: String) throws {
        let vocabPath = folder + "/vocab.json", mergesPath = folder + "/merges.txt"
        guard let vd = try CLIPTokenizer.file(vocabPath) else {
            throw SDError.missingModel("\(vocabPath): tokenizer vocabulary not found")
        }
        guard let vocab = VocabJSON.parse(vd) ?? (try? JSONSerialization.jsonObject(with: vd)) as? [String: Int], !vocab.isEmpty else {
            throw SDError.badFile(path: vocabPath, message: "not a JSON object of token → id")
        }
        guard let md = try CLIPTokenizer.file(mergesPath) else {
            throw SDError.missingModel("\(mergesPath): tokenizer merges not found")
        }
        guard let text = String(data: md, encoding: .utf8) else {
            throw SDError.badFile(path: mergesPath, message: "not valid UTF-8")
        }
        let merges = try CLIPTokenizer.parseMerges(text, path: mergesPath)
        var pad = "<|endoftext|>"
        var maxLength = 77
        let configPath = folder + "/tokenizer_config.json", mapPath = folder + "/special_tokens_map.json"
        if let cfg = try CLIPTokenizer.jsonObject(configPath) {
            if let p = try CLIPTokenizer.tokenContent(cfg["pad_token"], key: "pad_token", path: configPath) { pad = p }
            if let v = cfg["model_max_length"] {
                guard let m = v as? Int, (3...4096).contains(m) else {
                    throw SDError.badFile(path: configPath, message: "model_max_length \(v) is outside 3…4096")
                }
                maxLength = m
            }
        }
        // special_tokens_map.json overrides tokenizer_config.json (SD2: pad "!").
        if let cfg = try CLIPTokenizer.jsonObject(mapPath),
           let p = try CLIPTokenizer.tokenContent(cfg["pad_token"], key: "pad_token", path: mapPath) {
            pad = p
        }
        try self.init(vocab: vocab, merges: merges, padToken: pad, maxLength: maxLength, name: vocabPath)
    }

    /// The CLIP tokenizer built into sdedit (for single-file checkpoints): the merges of
    /// Sources/CVocab, and the vocabulary they imply, as OpenAI's CLIP builds it (simple_tokenizer.py):
    /// the 256 byte symbols, the same with "</w>", each merge's result in order, then
    /// <|startoftext|> and <|endoftext|> — 49,408 entries, the repos' vocab.json exactly. SD 1.x pads
    /// with <|endoftext|>, SD 2.x with "!" (their special_tokens_map.json).
    public static func builtin(padToken: String) throws -> CLIPTokenizer {
        let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(sd_clip_merges()), count: Int(sd_clip_merges_size()))
        let merges = try parseMerges(String(decoding: bytes, as: UTF8.self), path: "built-in merges")
        // Byte symbols in bytes_to_unicode's order: the printable bytes, then the rest.
        let table = bytesToUnicode(), printable = Array(33...126) + Array(161...172) + Array(174...255)
        let chars = (printable + (0..<256).filter { !printable.contains($0) }).map { String(table[$0]) }
        let tokens = chars + chars.map { $0 + "</w>" } + merges.map { String(decoding: $0.utf8.filter { $0 != 0x20 }, as: UTF8.self) }
            + ["<|startoftext|>", "<|endoftext|>"]
        var vocab: [String: Int] = [:]
        for (i, t) in tokens.enumerated() where vocab[t] == nil { vocab[t] = i }
        return try CLIPTokenizer(vocab: vocab, merges: merges, padToken: padToken, name: "built-in CLIP vocabulary")
    }

    /// merges.txt's lines as "left right", skipping blank lines and the "#version" line. Read as
    /// UTF-8 bytes: splitting the String by Characters (grapheme breaking, ~49k lines) was most of the
    /// tokenizer's load (docs/benchmarks.md). A line needs
    /// exactly two space-separated parts; a carriage return makes it bad, as it was when lines were
    /// split by Characters ("\r\n" is one).
    public static func parseMerges(_ text: String, path: String) throws -> [String] {
        var text = text
        return try text.withUTF8 { u in
            var merges: [String] = []
            merges.reserveCapacity(u.count / 8)
            var start = 0
            while start < u.count {
                var end = start
                while end < u.count && u[end] != 0x0A { end += 1 }
                let line = UnsafeBufferPointer(rebasing: u[start..<end])
                start = end + 1
                if line.isEmpty || line.starts(with: "#version".utf8) { continue }
                var parts = 0, inPart = false, cr = false
                for b in line {
                    if b == 0x20 { inPart = false; continue }
                    if !inPart { parts += 1; inPart = true }
                    if b == 0x0D { cr = true }
                }
                let merge = String(decoding: line, as: UTF8.self)
                guard parts == 2, !cr else { throw SDError.badFile(path: path, message: "bad merge line '\(merge.prefix(80))'") }
                merges.append(merge)
            }
            return merges
        }
    }

    /// A tokenizer file's bytes (bounded, regular files only), nil when absent.
    static func file(_ path: String) throws -> Data? {
        try FileInput.readIfPresent(path, limit: FileInput.metadataLimit, regularOnly: true).map { Data($0) }
    }

    /// An optional JSON object file: nil when absent, an error naming the file when malformed.
    static func jsonObject(_ path: String) throws -> [String: Any]? {
        guard let d = try file(path) else { return nil }
        guard let obj = (try? JSONSerialization.jsonObject(with: d)) as? [String: Any] else {
            throw SDError.badFile(path: path, message: "not a JSON object")
        }
        return obj
    }

    /// A special token given as "text" or {"content": "text", …}; an empty one would match everywhere.
    static func tokenContent(_ v: Any?, key: String, path: String) throws -> String? {
        guard let v = v, !(v is NSNull) else { return nil }
        let s = (v as? String) ?? ((v as? [String: Any])?["content"] as? String)
        guard let token = s else { throw SDError.badFile(path: path, message: "\(key) is neither a string nor {\"content\": …}") }
        guard !token.isEmpty else { throw SDError.badFile(path: path, message: "\(key) is an empty string") }
        return token
    }

    public init(vocab: [String: Int], merges: [String], padToken: String, maxLength: Int = 77, name: String = "tokenizer") throws {
        self.vocab = vocab
        var r: [String: Int] = [:]
        r.reserveCapacity(merges.count)
        for (i, m) in merges.enumerated() where r[m] == nil { r[m] = i }
        ranks = r
        guard !padToken.isEmpty else { throw SDError.badFile(path: name, message: "the pad token is an empty string") }
        func id(_ t: String) throws -> Int {
            guard let i = vocab[t] else { throw SDError.badFile(path: name, message: "vocabulary lacks \(t)") }
            return i
        }
        bosID = try id("<|startoftext|>")
        eosID = try id("<|endoftext|>")
        unkID = eosID
        padID = try id(padToken)
        self.maxLength = maxLength
        specials = [("<|startoftext|>", bosID), ("<|endoftext|>", eosID), (padToken, padID)]
            .reduce(into: [(String, Int)]()) { acc, s in if !acc.contains(where: { $0.0 == s.0 }) { acc.append(s) } }
            .sorted { $0.0.count > $1.0.count }
        byteMap = CLIPTokenizer.bytesToUnicode()
    }

    /// GPT-2's reversible byte → printable character table.
    static func bytesToUnicode() -> [Character] {
        var bs = Array(33...126) + Array(161...172) + Array(174...255)
        var cs = bs
        var n = 0
        for b in 0..<256 where !bs.contains(b) {
            bs.append(b)
            cs.append(256 + n)
            n += 1
        }
        var table = [Character](repeating: " ", count: 256)
        for (b, c) in zip(bs, cs) { table[b] = Character(Unicode.Scalar(UInt32(c))!) }
        return table
    }

    /// Tokens added after the vocabulary (diffusers load_textual_inversion: tokenizer.add_tokens), each
    /// name expanding to its ids; matched in the raw text before BPE, as special tokens are.
    public func addTokens(_ tokens: [(String, [Int])]) throws {
        for (t, ids) in tokens {
            if vocab[t] != nil || vocab[t + "</w>"] != nil || added.contains(where: { $0.0 == t }) || specials.contains(where: { $0.0 == t }) {
                throw SDError.invalidInput("embedding \(t): the tokenizer already has this token; rename the file")
            }
            added.append((t, ids))
        }
        added.sort { $0.0.count > $1.0.count }
    }

    /// Ids for one prompt: [bos] + tokens (truncated) + [eos], padded to maxLength.
    public func encode(_ text: String) -> [Int] {
        var ids = [bosID]
        ids += tokenIDs(text).prefix(maxLength - 2)
        ids.append(eosID)
        while ids.count < maxLength { ids.append(padID) }
        return ids
    }

    /// Token ids without bos/eos/padding.
    public func tokenIDs(_ text: String) -> [Int] {
        var out: [Int] = []
        for (segment, special) in splitSpecials(text) {
            if let s = special { out += s; continue }
            for piece in CLIPTokenizer.preTokenize(CLIPTokenizer.normalize(segment)) { out += bpeIDs(piece) }
        }
        return out
    }

    /// Split on special-token strings, longest match first, scanning left to right.
    func splitSpecials(_ text: String) -> [(String, [Int]?)] {
        var result: [(String, [Int]?)] = []
        let all = (specials.map { ($0.0, [$0.1]) } + added).sorted { $0.0.count > $1.0.count }
        var current = ""
        var rest = Substring(text)
        outer: while !rest.isEmpty {
            for (tok, id) in all where rest.hasPrefix(tok) {
                if !current.isEmpty { result.append((current, nil)); current = "" }
                result.append((tok, id))
                rest = rest.dropFirst(tok.count)
                continue outer
            }
            current.append(rest.removeFirst())
        }
        if !current.isEmpty { result.append((current, nil)) }
        return result
    }

    /// NFC, whitespace runs → one space, lowercase (the tokenizers-backend normalizer).
    static func normalize(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        var inSpace = false
        for u in s.precomposedStringWithCanonicalMapping.unicodeScalars {
            if u.properties.isWhitespace {
                if !inSpace { out.append(" ") }
                inSpace = true
            } else {
                out.append(u)
                inSpace = false
            }
        }
        return String(out).lowercased()
    }

    static func isLetter(_ u: Unicode.Scalar) -> Bool {
        switch u.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ u: Unicode.Scalar) -> Bool {
        switch u.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// The CLIP pre-tokeniser pattern, over Unicode scalars; whitespace is dropped.
    /// `markers` are the pattern's leading special-token alternatives (open_clip spells them
    /// <start_of_text> and <end_of_text>).
    static func preTokenize(_ s: String, markers: [String] = ["<|startoftext|>", "<|endoftext|>"]) -> [String] {
        let u = Array(s.unicodeScalars)
        var pieces: [String] = []
        var i = 0
        let contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map { Array($0.unicodeScalars) }
        let markers = markers.map { Array($0.unicodeScalars) }
        func matches(_ p: [Unicode.Scalar], at i: Int) -> Bool {
            i + p.count <= u.count && u[i..<(i + p.count)].elementsEqual(p)
        }
        func emit(_ a: Int, _ b: Int) {
            var v = String.UnicodeScalarView()
            v.append(contentsOf: u[a..<b])
            pieces.append(String(v))
        }
        while i < u.count {
            if let m = markers.first(where: { matches($0, at: i) }) { emit(i, i + m.count); i += m.count; continue }
            if let c = contractions.first(where: { matches($0, at: i) }) { emit(i, i + c.count); i += c.count; continue }
            let c = u[i]
            if isLetter(c) {
                var j = i + 1
                while j < u.count && isLetter(u[j]) { j += 1 }
                emit(i, j); i = j
            } else if isNumber(c) {
                emit(i, i + 1); i += 1
            } else if c.properties.isWhitespace {
                i += 1
            } else {
                var j = i + 1
                while j < u.count && !isLetter(u[j]) && !isNumber(u[j]) && !u[j].properties.isWhitespace { j += 1 }
                emit(i, j); i = j
            }
        }
        return pieces
    }

    /// Byte-level BPE of one pre-token, as the tokenizers backend does it (tokenizers
    /// src/models/bpe/word.rs, merge_all): a min-heap of adjacent pairs by (merge rank, position),
    /// popping the lowest, skipping pairs that a previous merge changed. O(n log n) in the word's
    /// length, so a 100 KB one-word prompt takes milliseconds, not tens of seconds.
    func bpeIDs(_ piece: String) -> [Int] {
        if let c = cache[piece] { return c }
        var sym = piece.utf8.map { String(byteMap[Int($0)]) }
        guard !sym.isEmpty else { return [] }
        sym[sym.count - 1] += "</w>"
        let n = sym.count
        var next = Array(1...n), prev = Array(-1..<(n - 1))
        next[n - 1] = -1
        var alive = [Bool](repeating: true, count: n)
        var heap = PairHeap()
        for i in 0..<(n - 1) { if let r = ranks[sym[i] + " " + sym[i + 1]] { heap.push(rank: r, pos: i) } }
        while let (rank, i) = heap.pop() {
            let j = next[i]
            // Stale: the left symbol was merged away, or either side changed since the push.
            guard alive[i], j >= 0, ranks[sym[i] + " " + sym[j]] == rank else { continue }
            sym[i] += sym[j]
            alive[j] = false
            next[i] = next[j]
            if next[j] >= 0 { prev[next[j]] = i }
            if prev[i] >= 0, let r = ranks[sym[prev[i]] + " " + sym[i]] { heap.push(rank: r, pos: prev[i]) }
            if next[i] >= 0, let r = ranks[sym[i] + " " + sym[next[i]]] { heap.push(rank: r, pos: i) }
        }
        var ids: [Int] = []
        var i = 0
        while i >= 0 { ids.append(vocab[sym[i]] ?? unkID); i = next[i] }
        if cache.count < 4096 { cache[piece] = ids }
        return ids
    }
}

/// Binary min-heap of (rank, position), ordered by rank then position (leftmost first).
struct PairHeap {
    private var items: [(Int, Int)] = []

    private static func less(_ a: (Int, Int), _ b: (Int, Int)) -> Bool { a.0 != b.0 ? a.0 < b.0 : a.1 < b.1 }

    mutating func push(rank: Int, pos: Int) {
        items.append((rank, pos))
        var c = items.count - 1
        while c > 0 {
            let p = (c - 1) / 2
            guard PairHeap.less(items[c], items[p]) else { break }
            items.swapAt(c, p)
            c = p
        }
    }

    mutating func pop() -> (Int, Int)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var p = 0
            while true {
                let l = 2 * p + 1, r = l + 1
                var m = p
                if l < items.count && PairHeap.less(items[l], items[m]) { m = l }
                if r < items.count && PairHeap.less(items[r], items[m]) { m = r }
                if m == p { break }
                items.swapAt(p, m)
                p = m
            }
        }
        return top
    }
}
