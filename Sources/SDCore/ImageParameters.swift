// The generation-parameters text of an image file, found where AUTOMATIC1111 reads it back
// (modules/images.py read_info_from_image): Pillow's image.info["parameters"] — a PNG tEXt, zTXt or
// iTXt chunk, decoded as Pillow's PngImagePlugin does (chunk_tEXt/zTXt: Latin-1, iTXt: UTF-8, the
// last such chunk wins) — replaced by a non-empty EXIF UserComment, decoded as
// piexif.helper.UserComment.load does with A1111's UTF-8 fallback. Every read is bounds-checked; a
// compressed text inflating past `ImageText.maxTextBytes` (Pillow's MAX_TEXT_CHUNK) is refused as
// Pillow refuses it, and so is a stored text chunk that long (Pillow would read it).
import CImageCodecs

public enum ImageText {
    /// Largest "parameters" text accepted, stored or inflated (PngImagePlugin.MAX_TEXT_CHUNK).
    public static let maxTextBytes = 1 << 20

    /// The "parameters" text of PNG or JPEG `bytes`, or nil when there is none. Throws when the
    /// text is over the limit or its compressed stream would inflate past it.
    public static func parameters(in bytes: [UInt8], name: String) throws -> String? {
        var text: String? = nil
        if Image.sniff(bytes) == .png { text = try pngText(bytes, keyword: "parameters", name: name) }
        if let tiff = EXIF.tiffBlock(in: bytes), let comment = try userComment(tiff: tiff, name: name), !comment.isEmpty {
            text = comment
        }
        return text
    }

    /// The value of the last tEXt/zTXt/iTXt chunk named `keyword` before IEND; a truncated file
    /// ends the walk (what came before still counts).
    static func pngText(_ b: [UInt8], keyword: String, name: String) throws -> String? {
        let key = Array(keyword.utf8)
        var found: String? = nil
        var i = 8
        while i + 12 <= b.count {
            let length = Int(EXIF.be32(b, i))
            guard length <= b.count - i - 12 else { break }
            let type = String(decoding: b[(i + 4)..<(i + 8)], as: UTF8.self)
            if type == "IEND" { break }
            let data = b[(i + 8)..<(i + 8 + length)]
            i += 12 + length
            guard ["tEXt", "zTXt", "iTXt"].contains(type), let nul = data.firstIndex(of: 0),
                  data[data.startIndex..<nul].elementsEqual(key) else { continue }
            if length > maxTextBytes {
                throw SDError.badFile(path: name, message: "PNG \(type) \"\(keyword)\" is \(length) bytes, more than the \(maxTextBytes) read")
            }
            let rest = data[(nul + 1)...]
            switch type {
            case "tEXt":
                found = latin1(rest)
            case "zTXt":
                // Pillow: a method other than 0 is an error; a corrupt stream reads as "".
                if let method = rest.first, method != 0 {
                    throw SDError.badFile(path: name, message: "PNG zTXt \"\(keyword)\" has unknown compression method \(method)")
                }
                found = latin1(try inflate(rest.dropFirst(), keyword: keyword, name: name) ?? [])
            default:
                if let v = try iTXtValue(rest, keyword: keyword, name: name) { found = v }
            }
        }
        return found
    }

    /// An iTXt value after its keyword: flag, method, language\0, translated keyword\0, text. nil
    /// where Pillow's chunk_iTXt skips the chunk (short, unknown method, corrupt stream, not UTF-8).
    static func iTXtValue(_ r: ArraySlice<UInt8>, keyword: String, name: String) throws -> String? {
        guard r.count >= 2 else { return nil }
        let flag = r[r.startIndex], method = r[r.startIndex + 1]
        let afterFlags = r.dropFirst(2)
        guard let langEnd = afterFlags.firstIndex(of: 0),
              let keyEnd = afterFlags[(langEnd + 1)...].firstIndex(of: 0) else { return nil }
        var value = Array(afterFlags[(keyEnd + 1)...])
        guard validUTF8(afterFlags[..<langEnd]), validUTF8(afterFlags[(langEnd + 1)..<keyEnd]) else { return nil }
        if flag != 0 {
            guard method == 0, let v = try inflate(value[...], keyword: keyword, name: name) else { return nil }
            value = v
        }
        guard validUTF8(value[...]) else { return nil }
        return String(decoding: value, as: UTF8.self)
    }

    /// zlib-inflated `data`, at most maxTextBytes; nil for a corrupt stream.
    static func inflate(_ data: ArraySlice<UInt8>, keyword: String, name: String) throws -> [UInt8]? {
        var out: UnsafeMutablePointer<UInt8>? = nil
        var len = 0
        let rc = Array(data).withUnsafeBufferPointer { sd_inflate_bounded($0.baseAddress, $0.count, maxTextBytes, &out, &len) }
        defer { sd_free(out) }
        if Int(rc) == Int(SD_TOO_LARGE) {
            throw SDError.badFile(path: name, message: "PNG \"\(keyword)\" text inflates to more than the \(maxTextBytes) bytes read")
        }
        guard rc == 0 else { return nil }
        return out.map { Array(UnsafeBufferPointer(start: $0, count: len)) } ?? []
    }

    /// The EXIF UserComment (Exif IFD tag 0x9286) of a TIFF block, decoded as A1111 does: by its
    /// 8-byte character-code prefix ("UNICODE\0" UTF-16BE, "ASCII\0\0\0"; undecodable units become
    /// U+FFFD), and without a known prefix the whole value as UTF-8 with invalid bytes dropped.
    /// nil when there is no comment or the EXIF cannot be read.
    static func userComment(tiff t: ArraySlice<UInt8>, name: String) throws -> String? {
        guard let r = TIFFBytes(t) else { return nil }
        let b = r.bytes, u16 = r.u16, u32 = r.u32
        /// Offset of the 12-byte entry for `tag` in the IFD at `ifd`.
        func entry(_ ifd: Int, _ tag: Int) -> Int? {
            guard let count = u16(ifd) else { return nil }
            for e in 0..<count {
                let at = ifd + 2 + 12 * e
                guard let t = u16(at) else { return nil }
                if t == tag { return at }
            }
            return nil
        }
        guard u16(2) == 42, let ifd0 = u32(4), let p = entry(ifd0, 0x8769), let exifIFD = u32(p + 8),
              let c = entry(exifIFD, 0x9286), let type = u16(c + 2), [1, 2, 7].contains(type),
              let count = u32(c + 4) else { return nil }
        if count > maxTextBytes * 2 + 8 {
            throw SDError.badFile(path: name, message: "EXIF UserComment is \(count) bytes, more than the \(maxTextBytes * 2 + 8) read")
        }
        // Values of up to 4 bytes sit in the entry itself.
        let start = count <= 4 ? c + 8 : (u32(c + 8) ?? -1)
        guard start >= 0, start <= b.count - count else { return nil }
        return decodeUserComment(b[start..<(start + count)])
    }

    /// piexif.helper.UserComment.load, and A1111's fallback when it raises ValueError.
    static func decodeUserComment(_ data: ArraySlice<UInt8>) -> String {
        let prefix = Array(data.prefix(8))
        let body = data.dropFirst(8)
        if prefix == Array("UNICODE".utf8) + [0] {
            var units: [UInt16] = []
            var i = body.startIndex
            while i + 1 < body.endIndex { units.append(UInt16(body[i]) << 8 | UInt16(body[i + 1])); i += 2 }
            // An odd trailing byte is one more replacement character in Python's decode.
            return String(decoding: units, as: UTF16.self) + (body.count % 2 == 1 ? "\u{FFFD}" : "")
        }
        if prefix == Array("ASCII".utf8) + [0, 0, 0] {
            return String(String.UnicodeScalarView(body.map { $0 < 0x80 ? Unicode.Scalar($0) : "\u{FFFD}" }))
        }
        // errors="ignore": invalid sequences are dropped, not replaced.
        var scalars = String.UnicodeScalarView()
        var it = data.makeIterator()
        var decoder = UTF8()
        loop: while true {
            switch decoder.decode(&it) {
            case .scalarValue(let s): scalars.append(s)
            case .emptyInput: break loop
            case .error: continue
            }
        }
        return String(scalars)
    }

    static func latin1(_ b: some Collection<UInt8>) -> String {
        String(String.UnicodeScalarView(b.map { Unicode.Scalar($0) }))
    }

    static func validUTF8(_ b: ArraySlice<UInt8>) -> Bool {
        var it = b.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&it) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }
}

extension ImageIO {
    /// The A1111 "parameters" text of the image at `path` ("-": stdin), or nil when it has none.
    public static func readParameters(path: String) throws -> String? {
        let bytes = try FileInput.read(path, limit: byteLimit(maxPixels: Image.defaultMaxPixels))
        let name = path == "-" ? "<stdin>" : path
        guard Image.sniff(bytes) != nil else { throw SDError.badFile(path: name, message: "not a PNG or JPEG file") }
        return try ImageText.parameters(in: bytes, name: name)
    }
}
