// The image value type: interleaved samples stored at the image's own depth (UInt8 for 8-bit images,
// UInt16 for 16-bit PNGs, which keep their 16 bits end to end) and the conversions Pillow's convert() does.
// Decoding and encoding are in ImageCodecs.swift, file IO in ImageIO.swift.
import Foundation

/// A sample type an image stores: UInt8 (8-bit) or UInt16 (16-bit).
public protocol ImageSample: FixedWidthInteger, UnsignedInteger, Sendable {}
extension UInt8: ImageSample {}
extension UInt16: ImageSample {}

/// Interleaved samples, row-major, at their own depth. Code that loops over pixels switches on this
/// once per image and then runs over the typed array (a generic function over `ImageSample`).
public enum ImageSamples: Equatable, Sendable {
    case u8([UInt8])
    /// Values span 0...65535.
    case u16([UInt16])

    public var count: Int {
        switch self { case .u8(let s): return s.count; case .u16(let s): return s.count }
    }

    public var bitDepth: Int {
        if case .u16 = self { return 16 }
        return 8
    }

    /// Same depth, samples made by `u8` or `u16`. Pass one generic function over `ImageSample` for
    /// both, so a pixel loop is written once, switched on once per image, and runs on a typed array.
    public func map(_ u8: ([UInt8]) throws -> [UInt8], _ u16: ([UInt16]) throws -> [UInt16]) rethrows -> ImageSamples {
        switch self { case .u8(let s): return .u8(try u8(s)); case .u16(let s): return .u16(try u16(s)) }
    }

    /// What `u8` or `u16` computes from the typed samples (one generic function passed for both).
    public func reading<R>(_ u8: ([UInt8]) throws -> R, _ u16: ([UInt16]) throws -> R) rethrows -> R {
        switch self { case .u8(let s): return try u8(s); case .u16(let s): return try u16(s) }
    }

    /// Sample `i` at its own depth, whichever the depth; for checks and tests, not for pixel loops.
    public subscript(i: Int) -> Int {
        switch self { case .u8(let s): return Int(s[i]); case .u16(let s): return Int(s[i]) }
    }
}

public struct Image: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public private(set) var storage: ImageSamples

    public init(width: Int, height: Int, channels: Int, storage: ImageSamples) {
        precondition(storage.count == width * height * channels, "image samples do not match \(width)x\(height)x\(channels)")
        self.width = width; self.height = height; self.channels = channels
        self.storage = storage
    }

    /// An 8-bit image.
    public init(width: Int, height: Int, channels: Int, samples8: [UInt8]) {
        self.init(width: width, height: height, channels: channels, storage: .u8(samples8))
    }

    /// A 16-bit image.
    public init(width: Int, height: Int, channels: Int, samples16: [UInt16]) {
        self.init(width: width, height: height, channels: channels, storage: .u16(samples16))
    }

    /// 8 or 16.
    public var bitDepth: Int { storage.bitDepth }

    public var maxValue: Int { bitDepth == 16 ? 65535 : 255 }

    /// The samples of an 8-bit image (a 16-bit one traps: convert it with to8Bit() first).
    public var samples8: [UInt8] {
        guard case .u8(let s) = storage else { preconditionFailure("samples8 of a 16-bit image") }
        return s
    }

    /// The samples of a 16-bit image (an 8-bit one traps).
    public var samples16: [UInt16] {
        guard case .u16(let s) = storage else { preconditionFailure("samples16 of an 8-bit image") }
        return s
    }

    /// The samples' bytes (16-bit samples native-endian), as the C codecs take them.
    public func withUnsafeSampleBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.reading({ try $0.withUnsafeBytes(body) }, { try $0.withUnsafeBytes(body) })
    }

    /// Same image with 8-bit samples (16-bit values rounded: v·255/65535).
    public func to8Bit() -> Image {
        guard case .u16(let s) = storage else { return self }
        return Image(width: width, height: height, channels: channels,
                     samples8: s.map { UInt8((UInt32($0) * 255 + 32767) / 65535) })
    }

    /// Drop an alpha channel (gray+alpha → gray, RGBA → RGB), as Pillow's convert("RGB") drops alpha.
    public func droppingAlpha() -> Image {
        guard channels == 2 || channels == 4 else { return self }
        let n = width * height, c = channels - 1, from = channels
        func drop<T: ImageSample>(_ s: [T]) -> [T] {
            var out = [T](repeating: 0, count: n * c)
            for i in 0..<n { for k in 0..<c { out[i * c + k] = s[i * from + k] } }
            return out
        }
        return Image(width: width, height: height, channels: c, storage: storage.map(drop, drop))
    }

    /// 8-bit RGB (Pillow's convert("RGB"): gray is replicated, alpha dropped).
    public func rgb8() -> Image {
        let s = to8Bit().droppingAlpha()
        if s.channels == 3 { return s }
        let gray = s.samples8
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) { let v = gray[i]; out[3 * i] = v; out[3 * i + 1] = v; out[3 * i + 2] = v }
        return Image(width: width, height: height, channels: 3, samples8: out)
    }

    /// 8-bit luminance with Pillow's integer formula for RGB → L (ITU-R 601-2: L = R·299/1000 + …,
    /// computed as (R·19595 + G·38470 + B·7471 + 0x8000) >> 16 in libImaging/Convert.c).
    public func luminance8() -> Image {
        let s = to8Bit().droppingAlpha()
        if s.channels == 1 { return s }
        let rgb = s.samples8
        var out = [UInt8](repeating: 0, count: width * height)
        for i in 0..<(width * height) {
            let r = UInt32(rgb[3 * i]), g = UInt32(rgb[3 * i + 1]), b = UInt32(rgb[3 * i + 2])
            out[i] = UInt8((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
        }
        return Image(width: width, height: height, channels: 1, samples8: out)
    }

    /// Whether every alpha sample is at the maximum (true without an alpha channel).
    public var isOpaque: Bool {
        guard channels == 2 || channels == 4 else { return true }
        func opaque<T: ImageSample>(_ s: [T]) -> Bool {
            stride(from: channels - 1, to: s.count, by: channels).allSatisfy { s[$0] == T.max }
        }
        return storage.reading(opaque, opaque)
    }
}
