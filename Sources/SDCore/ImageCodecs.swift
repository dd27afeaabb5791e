// PNG/JPEG codecs for Image: decode (format from magic bytes, not the extension), encode PNG with
// tEXt chunks or JPEG with a quality. The C side (CImageCodecs) holds libpng/libjpeg's setjmp handling.
import CImageCodecs
import Foundation

public enum ImageFormat: String, CaseIterable { case png, jpeg }

extension Image {
    /// The format named by the leading bytes, or nil.
    public static func sniff(_ bytes: [UInt8]) -> ImageFormat? {
        if bytes.count >= 8 && bytes[0..<8] == [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] { return .png }
        if bytes.count >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff { return .jpeg }
        return nil
    }

    /// Decode PNG or JPEG bytes; `name` is used in error messages.
    /// Images above this many pixels are refused unless the caller raises it (--max-pixels). Pillow's
    /// decompression-bomb threshold (Image.MAX_IMAGE_PIXELS, ≈ 9459²): a 16-bit RGBA image this big
    /// already needs ~2 GB once decoded and converted.
    public static let defaultMaxPixels = 89_478_485

    public static func decode(_ bytes: [UInt8], name: String, maxPixels: Int = Image.defaultMaxPixels) throws -> Image {
        guard let format = sniff(bytes) else {
            throw SDError.badFile(path: name, message: "not a PNG or JPEG file")
        }
        var img = sd_image()
        var err = [CChar](repeating: 0, count: 256)
        let rc = bytes.withUnsafeBufferPointer { p in
            format == .png ? sd_png_decode(p.baseAddress, p.count, Int64(maxPixels), &img, &err, err.count)
                           : sd_jpeg_decode(p.baseAddress, p.count, Int64(maxPixels), &img, &err, err.count)
        }
        if rc != 0 {
            let msg = cText(err)
            throw SDError.badFile(path: name, message: "cannot decode \(format == .png ? "PNG" : "JPEG"): \(msg)")
        }
        defer { sd_free(img.pixels) }
        let n = Int(img.width) * Int(img.height) * Int(img.channels)
        let samples: ImageSamples = img.bit_depth == 16
            ? .u16(Array(UnsafeBufferPointer(start: img.pixels.assumingMemoryBound(to: UInt16.self), count: n)))
            : .u8(Array(UnsafeBufferPointer(start: img.pixels.assumingMemoryBound(to: UInt8.self), count: n)))
        return Image(width: Int(img.width), height: Int(img.height), channels: Int(img.channels), storage: samples)
    }

    /// PNG bytes, with optional text chunks (key, value) written in order, as Pillow's
    /// PngInfo.add_text writes them: tEXt in Latin-1 when the value has no character past U+00FF,
    /// iTXt in UTF-8 otherwise (so Pillow, and A1111, read back the same text).
    public func encodePNG(text: [(String, String)] = []) throws -> [UInt8] {
        let itxt: [Int32] = text.map { $0.1.unicodeScalars.allSatisfy { $0.value <= 0xFF } ? 0 : 1 }
        let keys = text.map { strdup($0.0) }
        let values: [UnsafeMutablePointer<CChar>?] = zip(text, itxt).map { t, wide in
            if wide != 0 { return strdup(t.1) }
            let latin1 = t.1.unicodeScalars.map { CChar(bitPattern: UInt8($0.value)) } + [0]
            let p = malloc(latin1.count)?.assumingMemoryBound(to: CChar.self)
            p?.initialize(from: latin1, count: latin1.count)
            return p
        }
        defer { keys.forEach { free($0) }; values.forEach { free($0) } }
        var out: UnsafeMutablePointer<UInt8>? = nil
        var len = 0
        var err = [CChar](repeating: 0, count: 256)
        let rc: Int32 = keys.map { UnsafePointer($0) }.withUnsafeBufferPointer { kp in
            values.map { UnsafePointer($0) }.withUnsafeBufferPointer { vp in
                // The encoder only reads the pixels; sd_image's pointer is not const.
                withUnsafeSampleBytes { px in
                    var img = sd_image(width: Int32(width), height: Int32(height), channels: Int32(channels),
                                       bit_depth: Int32(bitDepth), pixels: UnsafeMutableRawPointer(mutating: px.baseAddress!))
                    return sd_png_encode(&img, kp.baseAddress, vp.baseAddress, itxt, Int32(text.count), &out, &len, &err, err.count)
                }
            }
        }
        guard rc == 0, let o = out else { throw SDError.invalidInput("cannot encode PNG: \(cText(err))") }
        defer { sd_free(o) }
        return Array(UnsafeBufferPointer(start: o, count: len))
    }

    /// JPEG bytes (8-bit gray or RGB; alpha is dropped, 16-bit is reduced to 8-bit).
    public func encodeJPEG(quality: Int = 95) throws -> [UInt8] {
        let src = self.to8Bit().droppingAlpha()
        var out: UnsafeMutablePointer<UInt8>? = nil
        var len = 0
        var err = [CChar](repeating: 0, count: 256)
        let rc = src.withUnsafeSampleBytes { p -> Int32 in
            var img = sd_image(width: Int32(width), height: Int32(height), channels: Int32(src.channels),
                               bit_depth: 8, pixels: UnsafeMutableRawPointer(mutating: p.baseAddress!))
            return sd_jpeg_encode(&img, Int32(Swift.max(1, Swift.min(100, quality))), &out, &len, &err, err.count)
        }
        guard rc == 0, let o = out else { throw SDError.invalidInput("cannot encode JPEG: \(cText(err))") }
        defer { free(o) }
        return Array(UnsafeBufferPointer(start: o, count: len))
    }
}

/// The text of a NUL-terminated C buffer (an error message or path the C side filled in).
func cText(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
