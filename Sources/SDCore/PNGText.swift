// The text chunks of a PNG file (tEXt, and uncompressed iTXt), read from bytes without decoding
// pixels: what Pillow's PngImageFile.text gives A1111's png-info route. Chunk layout from the PNG
// specification (ISO/IEC 15948, 5.3 and 11.3.4); every length is checked against the bytes left.
import Foundation

public enum PNGText {
    /// (keyword, text) pairs in file order; empty for anything that is not a PNG. Reading stops at
    /// IEND, at a truncated chunk, or after `limit` chunks.
    public static func chunks(_ bytes: [UInt8], limit: Int = 10_000) -> [(String, String)] {
        guard Image.sniff(bytes) == .png else { return [] }
        var out: [(String, String)] = []
        var at = 8, seen = 0
        while at + 8 <= bytes.count, seen < limit {
            let length = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            let type = String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self)
            let start = at + 8
            guard length <= bytes.count - start else { break }
            let data = bytes[start..<(start + length)]
            if type == "tEXt" { text(data).map { out.append($0) } }
            if type == "iTXt" { internationalText(data).map { out.append($0) } }
            if type == "IEND" { break }
            at = start + length + 4   // + CRC
            seen += 1
        }
        return out
    }

    /// keyword NUL text, both Latin-1.
    static func text(_ d: ArraySlice<UInt8>) -> (String, String)? {
        guard let nul = d.firstIndex(of: 0) else { return nil }
        return (latin1(d[d.startIndex..<nul]), latin1(d[(nul + 1)...]))
    }

    /// keyword NUL flag method language NUL translated-keyword NUL text (UTF-8); compressed ones skipped.
    static func internationalText(_ d: ArraySlice<UInt8>) -> (String, String)? {
        guard let k = d.firstIndex(of: 0), k + 2 < d.endIndex, d[k + 1] == 0 else { return nil }
        guard let lang = d[(k + 3)...].firstIndex(of: 0), let trans = d[(lang + 1)...].firstIndex(of: 0) else { return nil }
        return (latin1(d[d.startIndex..<k]), String(decoding: d[(trans + 1)...], as: UTF8.self))
    }

    static func latin1(_ d: ArraySlice<UInt8>) -> String { String(d.map { Character(Unicode.Scalar($0)) }) }
}
