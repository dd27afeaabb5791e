// vocab.json (token → id, one flat JSON object of 49,408 entries) read without JSONSerialization:
// Foundation builds an NSDictionary of NSString and NSNumber first and bridges it, a noticeable part
// of a one-step job's start (figures in docs/benchmarks.md). This reader takes only the plain form
// tokenizers writes (strings with JSON escapes, integer ids, no duplicate keys) and returns nil for
// anything else, which then goes to JSONSerialization as before — so the result is always
// JSONSerialization's (the `vocab` fuzz target compares the two on every input).
import Foundation

public enum VocabJSON {
    /// The object's entries, or nil when the bytes are not a flat object of string → integer in
    /// the plain form (the caller falls back to JSONSerialization).
    public static func parse(_ data: Data) -> [String: Int]? {
        data.withUnsafeBytes { parse($0) }
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) -> [String: Int]? {
        var r = Reader(p: bytes.bindMemory(to: UInt8.self))
        var out: [String: Int] = [:]
        out.reserveCapacity(bytes.count / 12)
        r.skipSpace()
        guard r.take(UInt8(ascii: "{")) else { return nil }
        r.skipSpace()
        if r.take(UInt8(ascii: "}")) { r.skipSpace(); return r.atEnd ? out : nil }
        while true {
            r.skipSpace()
            guard let key = r.string() else { return nil }
            r.skipSpace()
            guard r.take(UInt8(ascii: ":")) else { return nil }
            r.skipSpace()
            guard let value = r.integer(), out.updateValue(value, forKey: key) == nil else { return nil }
            r.skipSpace()
            if r.take(UInt8(ascii: ",")) { continue }
            guard r.take(UInt8(ascii: "}")) else { return nil }
            r.skipSpace()
            return r.atEnd ? out : nil
        }
    }

    private struct Reader {
        let p: UnsafeBufferPointer<UInt8>
        var i = 0

        var atEnd: Bool { i == p.count }

        mutating func take(_ c: UInt8) -> Bool {
            guard i < p.count, p[i] == c else { return false }
            i += 1
            return true
        }

        mutating func skipSpace() {
            while i < p.count, p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09 { i += 1 }
        }

        /// A JSON integer that fits in 15 digits (ids do); nil for fractions, exponents and the rest.
        mutating func integer() -> Int? {
            let negative = take(UInt8(ascii: "-"))
            let start = i
            var v = 0
            while i < p.count, p[i] >= 0x30, p[i] <= 0x39, i - start < 15 {
                v = v * 10 + Int(p[i] - 0x30)
                i += 1
            }
            let digits = i - start
            guard digits > 0, digits < 15, !(digits > 1 && p[start] == 0x30) else { return nil }
            if i < p.count, p[i] == UInt8(ascii: ".") || p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E") { return nil }
            return negative ? -v : v
        }

        /// A JSON string: valid UTF-8, no control characters, escapes decoded (a lone surrogate: nil).
        mutating func string() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = i
            while i < p.count, p[i] != UInt8(ascii: "\""), p[i] != UInt8(ascii: "\\"), p[i] >= 0x20 { i += 1 }
            guard i < p.count else { return nil }
            if p[i] == UInt8(ascii: "\"") {
                defer { i += 1 }
                return String(validating: UnsafeBufferPointer(rebasing: p[start..<i]), as: UTF8.self)
            }
            guard p[i] == UInt8(ascii: "\\") else { return nil }
            var bytes = Array(p[start..<i])
            while i < p.count {
                let c = p[i]
                i += 1
                if c == UInt8(ascii: "\"") { return String(validating: bytes, as: UTF8.self) }
                if c < 0x20 { return nil }
                if c != UInt8(ascii: "\\") { bytes.append(c); continue }
                guard i < p.count else { return nil }
                let e = p[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(e)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "u"):
                    guard var u = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(u) {
                        guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")), let low = hex4(),
                              (0xDC00..<0xE000).contains(low) else { return nil }
                        u = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(u) {
                        return nil
                    }
                    guard let scalar = Unicode.Scalar(u) else { return nil }
                    UTF8.encode(scalar) { bytes.append($0) }
                default: return nil
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard i + 4 <= p.count else { return nil }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = p[i]
                let d: UInt8
                switch c {
                case 0x30...0x39: d = c - 0x30
                case 0x41...0x46: d = c - 0x41 + 10
                case 0x61...0x66: d = c - 0x61 + 10
                default: return nil
                }
                v = v << 4 | UInt32(d)
                i += 1
            }
            return v
        }
    }
}
