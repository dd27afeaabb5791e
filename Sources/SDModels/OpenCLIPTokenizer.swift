// The CLIP BPE as open_clip tokenizes (open_clip_torch 3.3 tokenizer.py, SimpleTokenizer.encode with
// clean="lower"), which A1111 uses for SD 2.x prompts (modules/sd_hijack_open_clip.py). Same vocabulary
// and merges as the transformers tokenizer; what differs is the text cleaning and that no pad token is
// special (the SD 2 repos' pad "!" is ordinary punctuation here):
// 1. basic_clean: ftfy.fix_text (ftfy 6.3), html.unescape twice, strip;
// 2. whitespace_clean: whitespace runs → " ", then lowercase;
// 3. the pre-tokeniser pattern with <start_of_text>|<end_of_text> as its special alternatives, and BPE.
// Of ftfy's fixes this implements C1 controls as Windows-1252, Latin ligatures, character width,
// curly quotes, terminal escapes, control characters and NFC; mojibake detection (fix_encoding) is
// not reproduced. html.unescape covers numeric references and the named ones prompts carry.
import Foundation

extension CLIPTokenizer {
    /// open_clip's `tokenizer.encode(text)`: ids without start/end tokens.
    public func openCLIPTokenIDs(_ text: String) -> [Int] {
        // Textual-inversion tokens (addTokens) are matched in the raw text first, as the transformers
        // tokenizer matches added tokens before its normaliser runs.
        guard added.isEmpty else {
            return splitSpecials(text).flatMap { segment, ids in ids ?? openCLIPPlainIDs(segment) }
        }
        return openCLIPPlainIDs(text)
    }

    func openCLIPPlainIDs(_ text: String) -> [Int] {
        let specials = ["<start_of_text>": bosID, "<end_of_text>": eosID]
        var out: [Int] = []
        for piece in CLIPTokenizer.preTokenize(CLIPTokenizer.openCLIPClean(text), markers: Array(specials.keys)) {
            if let id = specials[piece] { out.append(id) } else { out += bpeIDs(piece) }
        }
        return out
    }

    /// _clean_lower: whitespace_clean(basic_clean(text)).lower().
    static func openCLIPClean(_ text: String) -> String {
        var s = text
        for _ in 0..<4 {   // ftfy repeats its fixes until the text stops changing
            let fixed = ftfyFixes(s)
            let unchanged = fixed.unicodeScalars.elementsEqual(s.unicodeScalars)   // == would equate NFC and NFD
            s = fixed
            if unchanged { break }
        }
        s = htmlUnescape(htmlUnescape(s))
        let words = s.unicodeScalars.split(whereSeparator: isPythonSpace).map { v -> String in
            var w = String.UnicodeScalarView()
            w.append(contentsOf: v)
            return String(w)
        }
        return words.joined(separator: " ").lowercased()
    }

    /// Python's str.isspace (str.split() and strip() split on these).
    static func isPythonSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace || (0x1C...0x1F).contains(c.value) }

    static let windows1252: [UInt32: UInt32] = [
        0x80: 0x20AC, 0x82: 0x201A, 0x83: 0x0192, 0x84: 0x201E, 0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021, 0x88: 0x02C6,
        0x89: 0x2030, 0x8A: 0x0160, 0x8B: 0x2039, 0x8C: 0x0152, 0x8E: 0x017D, 0x91: 0x2018, 0x92: 0x2019, 0x93: 0x201C,
        0x94: 0x201D, 0x95: 0x2022, 0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02DC, 0x99: 0x2122, 0x9A: 0x0161, 0x9B: 0x203A,
        0x9C: 0x0153, 0x9E: 0x017E, 0x9F: 0x0178]

    static let ligatures: [UInt32: String] = [
        0x0132: "IJ", 0x0133: "ij", 0x0149: "\u{02BC}n", 0x01F1: "DZ", 0x01F2: "Dz", 0x01F3: "dz", 0x01C4: "D\u{017D}",
        0x01C5: "D\u{017E}", 0x01C6: "d\u{017E}", 0x01C7: "LJ", 0x01C8: "Lj", 0x01C9: "lj", 0x01CA: "NJ", 0x01CB: "Nj",
        0x01CC: "nj", 0xFB00: "ff", 0xFB01: "fi", 0xFB02: "fl", 0xFB03: "ffi", 0xFB04: "ffl", 0xFB05: "\u{017F}t", 0xFB06: "st"]

    /// One pass of ftfy.fix_text's fixers, in its order (fix_c1_controls … remove_control_chars, NFC).
    static func ftfyFixes(_ text: String) -> String {
        var v = String.UnicodeScalarView()
        for c in text.unicodeScalars {
            var s = c
            if let w = windows1252[s.value] { s = Unicode.Scalar(w)! }
            if let l = ligatures[s.value] { v.append(contentsOf: l.unicodeScalars); continue }
            if s.value == 0x3000 { v.append(" "); continue }
            if (0xFF01..<0xFFF0).contains(s.value) {
                v.append(contentsOf: String(Character(s)).precomposedStringWithCompatibilityMapping.unicodeScalars)
                continue
            }
            if s.value == 0x02BC || (0x2018...0x201B).contains(s.value) { s = "'" }
            if (0x201C...0x201F).contains(s.value) { s = "\"" }
            v.append(s)
        }
        // Terminal escapes: ESC [ (digits or ;)* letter.
        var out = String.UnicodeScalarView()
        let u = Array(v)
        var i = 0
        while i < u.count {
            if u[i] == "\u{1B}", i + 1 < u.count, u[i + 1] == "[" {
                var j = i + 2
                while j < u.count, ("0"..."9").contains(u[j]) || u[j] == ";" { j += 1 }
                if j < u.count, u[j].isASCII, u[j].properties.isAlphabetic { i = j + 1; continue }
            }
            if !isFTFYControl(u[i].value) { out.append(u[i]) }
            i += 1
        }
        return String(out).precomposedStringWithCanonicalMapping
    }

    /// ftfy's CONTROL_CHARS: removed outright (tab, line feed, form feed and carriage return stay).
    static func isFTFYControl(_ c: UInt32) -> Bool {
        c < 0x09 || c == 0x0B || (0x0E..<0x20).contains(c) || c == 0x7F || (0x206A..<0x2070).contains(c) || c == 0xFEFF
            || (0xFFF9..<0xFFFD).contains(c)
    }

    static let entities: [String: String] = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'", "nbsp": "\u{A0}"]

    /// html.unescape for `&#N;`, `&#xH;` and the named references in `entities` (semicolon form).
    static func htmlUnescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        let u = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < u.count {
            guard u[i] == "&", let semi = u[(i + 1)...].prefix(12).firstIndex(of: ";"), semi > i + 1 else {
                out.append(u[i]); i += 1; continue
            }
            var body = String.UnicodeScalarView()
            body.append(contentsOf: u[(i + 1)..<semi])
            let name = String(body)
            if let e = entities[name] {
                out.append(contentsOf: e.unicodeScalars)
            } else if name.hasPrefix("#"), let code = name.dropFirst().first == "x" || name.dropFirst().first == "X"
                        ? UInt32(name.dropFirst(2), radix: 16) : UInt32(name.dropFirst(), radix: 10) {
                // Python maps 0, surrogates and values past U+10FFFF to U+FFFD.
                let s = code == 0 ? nil : Unicode.Scalar(code)
                out.append(s ?? "\u{FFFD}")
            } else {
                out.append(u[i]); i += 1; continue
            }
            i = semi + 1
        }
        return String(out)
    }
}
