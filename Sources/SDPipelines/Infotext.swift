// AUTOMATIC1111's generation-parameters text ("infotext", the PNG "parameters" chunk) as a value.
// parse follows parse_generation_parameters in modules/infotext_utils.py (v1.10.1): the text is
// stripped and split on "\n"; a last line with fewer than 3 key: value pairs belongs to the prompt;
// lines from one starting "Negative prompt:" on are the negative prompt; pairs are found with
// re_param's rules and quoted values unquoted with json.loads. formatted writes what create_infotext
// (modules/processing.py) writes, values quoted by quote() in infotext_utils.py. The settings-driven
// parts of A1111's parser (styles, defaults for absent keys, Version back-compat) are left to callers.
// Everything works on Unicode scalars, as Python's str does (Swift's Characters would join "\r\n").
import SDCore

public struct Infotext: Equatable {
    public var prompt: String
    public var negativePrompt: String
    /// The parameter line's pairs in order, values unquoted; duplicates kept (see `value(_:)`).
    public var fields: [(key: String, value: String)]

    public init(prompt: String, negativePrompt: String = "", fields: [(key: String, value: String)] = []) {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.fields = fields
    }

    public static func == (a: Infotext, b: Infotext) -> Bool {
        a.prompt == b.prompt && a.negativePrompt == b.negativePrompt
            && a.fields.map { $0.key } == b.fields.map { $0.key } && a.fields.map { $0.value } == b.fields.map { $0.value }
    }

    // MARK: Parsing

    public static func parse(_ text: String) -> Infotext {
        let all = strip(Array(text.unicodeScalars)[...])
        var lines = all.split(separator: "\n", omittingEmptySubsequences: false)
        var last = lines.removeLast()
        if pairs(in: last).count < 3 {
            lines.append(last)
            last = []
        }
        var prompt: [String] = [], negative: [String] = []
        var doneWithPrompt = false
        let marker = Array("Negative prompt:".unicodeScalars)
        for raw in lines {
            var line = strip(raw)
            if line.starts(with: marker) {
                doneWithPrompt = true
                line = strip(line.dropFirst(marker.count))
            }
            let s = String(String.UnicodeScalarView(line))
            if doneWithPrompt { negative.append(s) } else { prompt.append(s) }
        }
        // A1111 joins with "\n" but skips the separator while the text so far is empty.
        func join(_ parts: [String]) -> String {
            parts.reduce("") { acc, p in acc.isEmpty ? p : acc + "\n" + p }
        }
        var fields: [(key: String, value: String)] = []
        for (k, v) in pairs(in: last) {
            // v[0] on an empty value raises in A1111's loop, which drops the pair.
            guard let first = v.first else { continue }
            let value = first == "\"" && v.last == "\"" ? (jsonString(v) ?? v) : v
            fields.append((String(String.UnicodeScalarView(k)), String(String.UnicodeScalarView(value))))
        }
        return Infotext(prompt: join(prompt), negativePrompt: join(negative), fields: fields)
    }

    /// re_param.findall: `\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)` over one line, with
    /// the regex's backtracking resolved by hand (each step below has one way to succeed) and a
    /// failed key run skipped whole, so the scan is linear.
    static func pairs(in s: ArraySlice<Unicode.Scalar>) -> [(ArraySlice<Unicode.Scalar>, ArraySlice<Unicode.Scalar>)] {
        var out: [(ArraySlice<Unicode.Scalar>, ArraySlice<Unicode.Scalar>)] = []
        let n = s.endIndex
        var p = s.startIndex
        while p < n {
            var q = p
            while q < n && isSpace(s[q]) { q += 1 }
            guard q < n else { break }
            guard isWord(s[q]) else { p = q + 1; continue }
            var r = q + 1
            while r < n && (isWord(s[r]) || s[r] == " " || s[r] == "-" || s[r] == "/") { r += 1 }
            // Every start inside q..<r runs to the same r, so a failure here fails them all.
            guard r - q >= 2, r < n, s[r] == ":" else { p = r; continue }
            var v = r + 1
            while v < n && isSpace(s[v]) { v += 1 }
            if let end = quotedEnd(s, from: v), end == n || s[end] == "," {
                out.append((s[q..<r], s[v..<end]))
                p = end == n ? n : end + 1
                continue
            }
            var e = v
            while e < n && s[e] != "," { e += 1 }
            out.append((s[q..<r], s[v..<e]))
            p = e == n ? n : e + 1
        }
        return out
    }

    /// End (after the closing quote) of `"(?:\\.|[^\\"])+"` at `i`, or nil.
    static func quotedEnd(_ s: ArraySlice<Unicode.Scalar>, from i: Int) -> Int? {
        let n = s.endIndex
        guard i < n, s[i] == "\"" else { return nil }
        var j = i + 1, items = 0
        while j < n {
            if s[j] == "\\" {
                // `.` matches anything but "\n".
                guard j + 1 < n, s[j + 1] != "\n" else { break }
                j += 2
            } else if s[j] != "\"" {
                j += 1
            } else {
                break
            }
            items += 1
        }
        guard items > 0, j < n, s[j] == "\"" else { return nil }
        return j + 1
    }

    /// json.loads of a text that starts and ends with a quote: the JSON string it is, or nil when
    /// Python raises (bad escape, raw control character, anything after the closing quote).
    /// A lone surrogate escape, which Python keeps, becomes U+FFFD.
    static func jsonString(_ s: ArraySlice<Unicode.Scalar>) -> ArraySlice<Unicode.Scalar>? {
        var out: [Unicode.Scalar] = []
        var i = s.startIndex + 1
        let n = s.endIndex
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= n else { return nil }
            var v: UInt32 = 0
            for c in s[at..<(at + 4)] {
                guard let d = Int(String(c), radix: 16), c.isASCII else { return nil }
                v = v << 4 | UInt32(d)
            }
            return v
        }
        while i < n {
            let c = s[i]
            if c == "\"" { return i == n - 1 ? out[...] : nil }
            if c.value < 0x20 { return nil }
            guard c == "\\" else { out.append(c); i += 1; continue }
            guard i + 1 < n else { return nil }
            switch s[i + 1] {
            case "\"", "\\", "/": out.append(s[i + 1])
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "u":
                guard let u = hex4(i + 2) else { return nil }
                i += 6
                if (0xD800...0xDBFF).contains(u), i + 1 < n, s[i] == "\\", s[i + 1] == "u",
                   let low = hex4(i + 2), (0xDC00...0xDFFF).contains(low) {
                    out.append(Unicode.Scalar(0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00))!)
                    i += 6
                } else {
                    out.append(Unicode.Scalar(u) ?? "\u{FFFD}")
                }
                continue
            default: return nil
            }
            i += 2
        }
        return nil
    }

    /// Python's str.isspace, which is also what `\s` and strip() use.
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// Python's `\w` for str patterns: "_" and what str.isalnum accepts (letters Lu Ll Lt Lm Lo, and
    /// every character with a numeric value).
    static func isWord(_ c: Unicode.Scalar) -> Bool {
        if c.isASCII {
            let v = c.value
            return (0x30...0x39).contains(v) || (0x41...0x5A).contains(v) || (0x61...0x7A).contains(v) || v == 0x5F
        }
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return c.properties.numericType != nil
        }
    }

    static func strip(_ s: ArraySlice<Unicode.Scalar>) -> ArraySlice<Unicode.Scalar> {
        var a = s.startIndex, b = s.endIndex
        while a < b && isSpace(s[a]) { a += 1 }
        while b > a && isSpace(s[b - 1]) { b -= 1 }
        return s[a..<b]
    }

    // MARK: Values

    /// The value A1111's result dict holds for `key`: the last pair with that key.
    public func value(_ key: String) -> String? { fields.last { $0.key == key }?.value }

    /// A1111's result dict as ordered pairs: a later duplicate replaces the value in place, and a
    /// value "WxH" (re_imagesize, `^(\d+)x(\d+)$`) becomes "KEY-1" and "KEY-2".
    public var a1111Values: [(key: String, value: String)] {
        var out: [(key: String, value: String)] = []
        var index: [String: Int] = [:]
        func set(_ k: String, _ v: String) {
            if let i = index[k] { out[i].value = v } else { index[k] = out.count; out.append((k, v)) }
        }
        for (k, v) in fields {
            if let (w, h) = Infotext.imageSize(v) { set(k + "-1", w); set(k + "-2", h) } else { set(k, v) }
        }
        return out
    }

    /// The two numbers of re_imagesize ("\d" is any Unicode decimal digit; "$" also matches before a
    /// final "\n").
    static func imageSize(_ v: String) -> (String, String)? {
        var s = Array(v.unicodeScalars)[...]
        if s.last == "\n" { s = s.dropLast() }
        guard let x = s.firstIndex(of: "x") else { return nil }
        let w = s[..<x], h = s[(x + 1)...]
        func digits(_ d: ArraySlice<Unicode.Scalar>) -> Bool {
            !d.isEmpty && d.allSatisfy { $0.properties.generalCategory == .decimalNumber }
        }
        guard digits(w), digits(h) else { return nil }
        return (String(String.UnicodeScalarView(w)), String(String.UnicodeScalarView(h)))
    }

    private func number<T: LosslessStringConvertible>(_ key: String) -> T? {
        value(key).flatMap { T(String(String.UnicodeScalarView(Infotext.strip(Array($0.unicodeScalars)[...])))) }
    }

    public var steps: Int? { number("Steps") }
    public var cfgScale: Double? { number("CFG scale") }
    public var seed: UInt64? { number("Seed") }
    public var denoisingStrength: Double? { number("Denoising strength") }
    public var samplerName: String? { value("Sampler") }
    public var scheduleType: String? { value("Schedule type") }
    /// The checkpoint's name ("Model"); A1111 also writes "Model hash".
    public var model: String? { value("Model") }
    public var width: Int? { value("Size").flatMap(Infotext.imageSize).flatMap { Int($0.0) } }
    public var height: Int? { value("Size").flatMap(Infotext.imageSize).flatMap { Int($0.1) } }

    // MARK: Writing

    /// The text create_infotext writes: prompt, "\nNegative prompt: …" when there is one, then
    /// "\n" and the pairs joined by ", " (a pair whose value equals its key is written as the key
    /// alone), the whole stripped.
    public func formatted() -> String {
        var s = prompt
        if !negativePrompt.isEmpty { s += "\nNegative prompt: " + negativePrompt }
        s += "\n" + fields.map { $0.key == $0.value ? $0.key : "\($0.key): \(Infotext.quote($0.value))" }.joined(separator: ", ")
        return String(String.UnicodeScalarView(Infotext.strip(Array(s.unicodeScalars)[...])))
    }

    /// A1111's quote(): a value holding ",", "\n" or ":" as json.dumps(ensure_ascii=False) writes it.
    public static func quote(_ v: String) -> String {
        guard v.unicodeScalars.contains(where: { $0 == "," || $0 == "\n" || $0 == ":" }) else { return v }
        var out = "\""
        for c in v.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if c.value < 0x20 {
                    let h = String(c.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        return out + "\""
    }
}

/// The values of an infotext a generation job takes (`--params-from`); nil where the text has none.
public struct InfotextSettings: Equatable {
    public var prompt: String
    public var negativePrompt: String?
    public var seed: UInt64?
    public var steps: Int?
    public var cfgScale: Double?
    public var scheduler: SchedulerKind?
    public var width: Int?
    public var height: Int?
    public var denoisingStrength: Double?
}

extension Infotext {
    /// The job values, checked: a field that is present but unusable (not a number, a sampler or
    /// schedule sdedit does not run) throws, naming `source` (the file) and the field.
    public func settings(source: String) throws -> InfotextSettings {
        func bad(_ key: String, _ why: String) -> SDError {
            .invalidInput("\(source): parameters field \"\(key): \(value(key) ?? "")\" \(why)")
        }
        func checked<T>(_ key: String, _ v: T?) throws -> T? {
            if value(key) != nil && v == nil { throw bad(key, "is not a number sdedit can use") }
            return v
        }
        var scheduler: SchedulerKind? = nil
        if let name = samplerName {
            guard let k = SchedulerKind(a1111Name: name, scheduleType: scheduleType) else {
                throw bad(scheduleType == nil ? "Sampler" : "Schedule type", "names a sampler sdedit does not run (accepted: "
                          + SchedulerKind.a1111Samplers.map(\.name).joined(separator: ", ") + "; schedule Automatic, Uniform or Karras)")
            }
            scheduler = k
        }
        if value("Size") != nil && (width == nil || height == nil) { throw bad("Size", "is not WIDTHxHEIGHT") }
        return InfotextSettings(prompt: prompt, negativePrompt: negativePrompt.isEmpty ? nil : negativePrompt,
                                seed: try checked("Seed", seed), steps: try checked("Steps", steps),
                                cfgScale: try checked("CFG scale", cfgScale), scheduler: scheduler, width: width, height: height,
                                denoisingStrength: try checked("Denoising strength", denoisingStrength))
    }
}
