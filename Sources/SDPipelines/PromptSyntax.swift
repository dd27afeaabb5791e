// AUTOMATIC1111's prompt syntax: stable-diffusion-webui modules/prompt_parser.py
// (parse_prompt_attention with its re_attention and re_break patterns) and modules/extra_networks.py
// (parse_prompt, re_extra_net; the LoRA multipliers as extensions-builtin/Lora/extra_networks_lora.py
// reads them). Python strings are sequences of code points, so both scanners walk Unicode scalars.
import Foundation
import SDCore

/// How prompt text becomes token ids and weights: A1111's emphasis, BREAK, unlimited length and
/// <lora:…> tags, or diffusers' literal text cut at 77 tokens.
public enum PromptSyntax: String, CaseIterable, Sendable {
    case a1111, diffusers
}

/// A piece of a parsed prompt and its attention multiplier. A1111 marks BREAK as ("BREAK", −1).
public struct WeightedText: Equatable, CustomStringConvertible {
    public var text: String
    public var weight: Double
    public init(_ text: String, _ weight: Double) { self.text = text; self.weight = weight }
    /// A chunk break: only the marker itself, not the word typed inside brackets (whose −1 got scaled).
    public var isBreak: Bool { text == "BREAK" && weight == -1 }
    public var description: String { "[\(text.debugDescription), \(weight)]" }
}

/// A `<lora:NAME:WEIGHT>` tag: the text-encoder and UNet multipliers (`<lora:NAME:TE:UNET>`,
/// `te=`/`unet=` named), both 1 when absent.
public struct LoRATag: Equatable {
    public var name: String
    public var weight: Double
    public var unetWeight: Double
    public init(name: String, weight: Double, unetWeight: Double) { self.name = name; self.weight = weight; self.unetWeight = unetWeight }
}

public enum PromptAttention {
    static let roundMultiplier = 1.1
    static let squareMultiplier = 1 / 1.1

    /// parse_prompt_attention: `(x)` ×1.1, `[x]` ×(1/1.1), `(x:w)` ×w, `\(` `\)` `\[` `\]` `\\` literals,
    /// unclosed brackets applied at the end, BREAK markers, runs of equal weight merged.
    /// Throws only where A1111's float() would: an `(x:w)` weight that is not a finite number.
    public static func parse(_ text: String) throws -> [WeightedText] {
        let u = Array(text.unicodeScalars)
        var res: [(text: [Unicode.Scalar], weight: Double)] = []
        var round: [Int] = [], square: [Int] = []
        func multiply(from start: Int, _ m: Double) { for p in start..<res.count { res[p].weight *= m } }
        func plain(_ s: ArraySlice<Unicode.Scalar>) {
            for (i, part) in splitOnBreak(Array(s)).enumerated() {
                if i > 0 { res.append((Array("BREAK".unicodeScalars), -1)) }
                res.append((part, 1))
            }
        }
        let special: Set<Unicode.Scalar> = ["\\", "(", ")", "[", "]", ":"]
        var i = 0
        while i < u.count {
            let c = u[i]
            switch c {
            case "\\":
                // `\(` `\)` `\[` `\]` `\\` keep the second character; a lone backslash is dropped.
                if i + 1 < u.count, "()[]\\".unicodeScalars.contains(u[i + 1]) {
                    res.append(([u[i + 1]], 1)); i += 2
                } else {
                    res.append(([], 1)); i += 1
                }
            case "(": round.append(res.count); i += 1
            case "[": square.append(res.count); i += 1
            case ":":
                // `:NUMBER)` with NUMBER = [+-]?[.\d]+ closes a weighted round bracket.
                var j = i + 1
                if j < u.count, u[j] == "+" || u[j] == "-" { j += 1 }
                var k = j
                while k < u.count, u[k] == "." || isDecimal(u[k]) { k += 1 }
                if k > j, k < u.count, u[k] == ")" {
                    if let start = round.popLast() {
                        multiply(from: start, try weight(u[(i + 1)..<k], in: text))
                    } else {
                        plain(u[i...k])
                    }
                    i = k + 1
                } else {
                    plain(u[i...i]); i += 1
                }
            case ")":
                if let start = round.popLast() { multiply(from: start, roundMultiplier) } else { plain(u[i...i]) }
                i += 1
            case "]":
                if let start = square.popLast() { multiply(from: start, squareMultiplier) } else { plain(u[i...i]) }
                i += 1
            default:
                var j = i + 1
                while j < u.count, !special.contains(u[j]) { j += 1 }
                plain(u[i..<j]); i = j
            }
        }
        for start in round { multiply(from: start, roundMultiplier) }
        for start in square { multiply(from: start, squareMultiplier) }
        if res.isEmpty { res = [([], 1)] }
        var merged: [(text: [Unicode.Scalar], weight: Double)] = []
        for r in res {
            if let last = merged.last, last.weight == r.weight { merged[merged.count - 1].text += r.text } else { merged.append(r) }
        }
        return merged.map { WeightedText(string($0.text), $0.weight) }
    }

    /// re.split(r"\s*\bBREAK\b\s*", s): the pieces between BREAK words (whitespace around them dropped).
    static func splitOnBreak(_ s: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        let word = Array("BREAK".unicodeScalars)
        var parts: [[Unicode.Scalar]] = [], from = 0, p = 0
        while p < s.count {
            var q = p
            while q < s.count, isSpace(s[q]) { q += 1 }
            let end = q + word.count
            if end <= s.count, s[q..<end].elementsEqual(word), q == 0 || !isWord(s[q - 1]), end == s.count || !isWord(s[end]) {
                var after = end
                while after < s.count, isSpace(s[after]) { after += 1 }
                parts.append(Array(s[from..<p]))
                from = after; p = after
            } else {
                p += 1
            }
        }
        parts.append(Array(s[from...]))
        return parts
    }

    /// Python's float() of the `[+-]?[.\d]+` text (Unicode decimal digits count as digits).
    static func weight(_ s: ArraySlice<Unicode.Scalar>, in prompt: String) throws -> Double {
        var ascii = ""
        for c in s {
            if isDecimal(c), let v = c.properties.numericValue { ascii += String(Int(v)) } else { ascii.unicodeScalars.append(c) }
        }
        guard let w = Double(ascii), w.isFinite else {
            throw SDError.invalidInput("prompt: emphasis weight '\(string(Array(s)))' is not a number (in '(…:\(string(Array(s))))')")
        }
        return w
    }

    static func isDecimal(_ c: Unicode.Scalar) -> Bool { c.properties.numericType == .decimal }

    /// Python's `\s` on str: Unicode whitespace, including the information separators U+001C…U+001F.
    static func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace || (0x1C...0x1F).contains(c.value) }

    /// Python's `\w` on str: letters, numbers and the underscore (combining marks are not word characters).
    static func isWord(_ c: Unicode.Scalar) -> Bool {
        if c == "_" { return true }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return c.properties.numericType != nil
        }
    }

    static func string(_ s: [Unicode.Scalar]) -> String {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: s)
        return String(v)
    }
}

public enum ExtraNetworks {
    /// extra_networks.parse_prompt: every `<NAME:ARGS>` tag (re `<(\w+):([^>]+)>`) is removed from the
    /// prompt; the `lora` tags (and A1111's alias `lyco`) are returned in order, the names of any other
    /// networks (hypernet, …) separately, as A1111 skips those it does not know.
    public static func parse(_ prompt: String) throws -> (prompt: String, loras: [LoRATag], others: [String]) {
        let u = Array(prompt.unicodeScalars)
        var out: [Unicode.Scalar] = [], loras: [LoRATag] = [], others: [String] = []
        var i = 0
        while i < u.count {
            if u[i] == "<", let (name, args, end) = tag(u, at: i) {
                if name == "lora" || name == "lyco" { loras.append(try lora(args, tag: PromptAttention.string(Array(u[i..<end])))) } else { others.append(name) }
                i = end
            } else {
                out.append(u[i]); i += 1
            }
        }
        return (PromptAttention.string(out), loras, others)
    }

    /// `<(\w+):([^>]+)>` at `i`: the name, the argument text and the index after `>`.
    static func tag(_ u: [Unicode.Scalar], at i: Int) -> (String, String, Int)? {
        var j = i + 1
        while j < u.count, PromptAttention.isWord(u[j]) { j += 1 }
        guard j > i + 1, j < u.count, u[j] == ":" else { return nil }
        var k = j + 1
        while k < u.count, u[k] != ">" { k += 1 }
        guard k > j + 1, k < u.count else { return nil }
        return (PromptAttention.string(Array(u[(i + 1)..<j])), PromptAttention.string(Array(u[(j + 1)..<k])), k + 1)
    }

    /// ExtraNetworkParams(args.split(":")): `key=value` items are named, the rest positional; then
    /// te = positional[1] or 1, named te; unet = positional[2] or te, named unet.
    static func lora(_ args: String, tag: String) throws -> LoRATag {
        var positional: [String] = [], named: [String: String] = [:]
        for item in args.split(separator: ":", omittingEmptySubsequences: false).map(String.init) {
            let parts = item.split(separator: "=", maxSplits: 2, omittingEmptySubsequences: false)
            if parts.count == 2 { named[String(parts[0])] = String(parts[1]) } else { positional.append(item) }
        }
        func number(_ s: String) throws -> Double {
            guard let v = Double(s.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                throw SDError.invalidInput("prompt: \(tag): '\(s)' is not a number")
            }
            return v
        }
        var te = positional.count > 1 ? try number(positional[1]) : 1
        if let s = named["te"] { te = try number(s) }
        var unet = positional.count > 2 ? try number(positional[2]) : te
        if let s = named["unet"] { unet = try number(s) }
        guard let name = positional.first else { throw SDError.invalidInput("prompt: \(tag) names no LoRA") }
        return LoRATag(name: name, weight: te, unetWeight: unet)
    }
}
