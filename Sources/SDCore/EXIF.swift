// EXIF, the two parts sdedit uses: the Orientation tag of an input (applied on read, as diffusers'
// load_image does with PIL.ImageOps.exif_transpose) and AUTOMATIC1111's UserComment on JPEG outputs
// (A1111 modules/images.py save_image_with_geninfo: piexif, "UNICODE\0" + UTF-16BE text).
// Every read is bounds-checked: the bytes come from the input file.

public enum EXIF {
    /// The Orientation tag (1…8) of a JPEG (first APP1 "Exif\0\0" segment before the scan) or PNG
    /// (eXIf chunk), or nil when there is none or it cannot be read.
    public static func orientation(in bytes: [UInt8]) -> Int? {
        guard let tiff = tiffBlock(in: bytes) else { return nil }
        return orientation(tiff: tiff)
    }

    /// The TIFF block (byte order mark onwards) of the EXIF data in a JPEG or PNG file.
    static func tiffBlock(in bytes: [UInt8]) -> ArraySlice<UInt8>? {
        switch Image.sniff(bytes) {
        case .jpeg?:
            var i = 2
            while i + 4 <= bytes.count, bytes[i] == 0xFF {
                let marker = bytes[i + 1]
                if marker == 0xD8 || marker == 0x01 || (0xD0...0xD7).contains(marker) { i += 2; continue }
                if marker == 0xDA || marker == 0xD9 { return nil }
                let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
                guard length >= 2, i + 2 + length <= bytes.count else { return nil }
                let body = bytes[(i + 4)..<(i + 2 + length)]
                if marker == 0xE1, body.starts(with: exifHeader) { return body.dropFirst(exifHeader.count) }
                i += 2 + length
            }
            return nil
        case .png?:
            var i = 8
            while i + 12 <= bytes.count {
                let length = Int(be32(bytes, i))
                guard length <= bytes.count - i - 12 else { return nil }
                let type = bytes[(i + 4)..<(i + 8)]
                if type.elementsEqual(Array("eXIf".utf8)) {
                    let data = bytes[(i + 8)..<(i + 8 + length)]
                    return data.starts(with: exifHeader) ? data.dropFirst(exifHeader.count) : data
                }
                if type.elementsEqual(Array("IEND".utf8)) { return nil }
                i += 12 + length
            }
            return nil
        case nil:
            return nil
        }
    }

    /// Orientation (tag 0x0112, SHORT) from IFD0 of a TIFF block.
    static func orientation(tiff t: ArraySlice<UInt8>) -> Int? {
        guard let r = TIFFBytes(t) else { return nil }
        let u16 = r.u16, u32 = r.u32
        guard u16(2) == 42, let ifd = u32(4), let count = u16(ifd) else { return nil }
        for e in 0..<count {
            let entry = ifd + 2 + 12 * e
            guard let tag = u16(entry) else { return nil }
            if tag == 0x0112 {
                guard u16(entry + 2) == 3, let v = u16(entry + 8), (1...8).contains(v) else { return nil }
                return v
            }
        }
        return nil
    }

    static let exifHeader: [UInt8] = Array("Exif".utf8) + [0, 0]

    static func be32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }

    /// An APP1 segment holding one EXIF UserComment (tag 0x9286 in the Exif IFD), laid out as piexif
    /// dumps it: big-endian TIFF, IFD0 with the ExifIFD pointer, the Exif IFD, then the comment.
    public static func userCommentSegment(_ text: String) -> [UInt8] {
        var comment = Array("UNICODE".utf8) + [0]
        for unit in text.utf16 { comment += [UInt8(unit >> 8), UInt8(unit & 0xFF)] }
        func u16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func u32(_ v: Int) -> [UInt8] { u16(v >> 16) + u16(v & 0xFFFF) }
        // Offsets from the TIFF header: IFD0 at 8 (2 + 12 + 4 bytes), the Exif IFD at 26 (same size),
        // the comment at 44.
        var tiff: [UInt8] = [0x4D, 0x4D] + u16(42) + u32(8)
        tiff += u16(1) + u16(0x8769) + u16(4) + u32(1) + u32(26) + u32(0)
        tiff += u16(1) + u16(0x9286) + u16(7) + u32(comment.count) + u32(44) + u32(0)
        tiff += comment
        let body = exifHeader + tiff
        return [0xFF, 0xE1] + u16(body.count + 2) + body
    }

    /// `jpeg` with `segment` inserted after SOI (and after a JFIF APP0, which must come first), as
    /// piexif.insert places it. nil when the segment would exceed the 64 KiB a JPEG segment holds.
    public static func inserting(_ segment: [UInt8], intoJPEG jpeg: [UInt8]) -> [UInt8]? {
        guard segment.count - 2 <= 0xFFFF, jpeg.count >= 4, jpeg[0] == 0xFF, jpeg[1] == 0xD8 else { return nil }
        var at = 2
        if jpeg[2] == 0xFF, jpeg[3] == 0xE0, jpeg.count >= 6 {
            at = 4 + (Int(jpeg[4]) << 8 | Int(jpeg[5]))
            guard at <= jpeg.count else { return nil }
        }
        return Array(jpeg[..<at]) + segment + Array(jpeg[at...])
    }
}

extension Image {
    /// The image as a viewer shows it for an EXIF `orientation` (PIL.ImageOps.exif_transpose:
    /// 2 mirror, 3 rotate 180°, 4 flip, 5 transpose, 6 rotate 90° clockwise, 7 transverse,
    /// 8 rotate 90° counter-clockwise); 1 and unknown values leave it as it is.
    public func transposed(orientation: Int) -> Image {
        guard (2...8).contains(orientation) else { return self }
        let swaps = orientation >= 5
        let ow = swaps ? height : width, oh = swaps ? width : height
        let c = channels, width = width, height = height
        func transpose<T: ImageSample>(_ samples: [T]) -> [T] {
            var out = [T](repeating: 0, count: samples.count)
            for y in 0..<oh {
                for x in 0..<ow {
                    let (sx, sy): (Int, Int)
                    switch orientation {
                    case 2: (sx, sy) = (width - 1 - x, y)
                    case 3: (sx, sy) = (width - 1 - x, height - 1 - y)
                    case 4: (sx, sy) = (x, height - 1 - y)
                    case 5: (sx, sy) = (y, x)
                    case 6: (sx, sy) = (y, height - 1 - x)
                    case 7: (sx, sy) = (width - 1 - y, height - 1 - x)
                    default: (sx, sy) = (width - 1 - y, x)
                    }
                    let s = (sy * width + sx) * c, d = (y * ow + x) * c
                    for k in 0..<c { out[d + k] = samples[s + k] }
                }
            }
            return out
        }
        return Image(width: ow, height: oh, channels: c, storage: storage.map(transpose, transpose))
    }
}

/// A TIFF block (EXIF's container) read with the byte order its header names ("II" little, "MM" big);
/// every read is bounds-checked and nil past the end. Orientation and the UserComment reader share it.
struct TIFFBytes {
    let bytes: [UInt8]
    let little: Bool

    init?(_ t: ArraySlice<UInt8>) {
        bytes = Array(t)
        guard bytes.count >= 8 else { return nil }
        switch (bytes[0], bytes[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
    }

    func u16(_ o: Int) -> Int? {
        guard o >= 0, o + 2 <= bytes.count else { return nil }
        return little ? Int(bytes[o]) | Int(bytes[o + 1]) << 8 : Int(bytes[o]) << 8 | Int(bytes[o + 1])
    }

    func u32(_ o: Int) -> Int? {
        guard let lo = u16(little ? o : o + 2), let hi = u16(little ? o + 2 : o) else { return nil }
        return hi << 16 | lo
    }
}
