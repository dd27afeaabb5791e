// The image value type: interleaved 8- or 16-bit samples and the conversions Pillow's convert() does.
// Decoding and encoding are in ImageCodecs.swift, file IO in ImageIO.swift.
import Foundation

/// Interleaved samples, row-major; `bitDepth` 8 or 16 (16-bit values span 0...65535).
public struct Image: Equatable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var bitDepth: Int
    public var samples: [UInt16]

    public init(width: Int, height: Int, channels: Int, bitDepth: Int = 8, samples: [UInt16]) {
        precondition(samples.count == width * height * channels, "image samples do not match \(width)x\(height)x\(channels)")
        self.width = width; self.height = height; self.channels = channels
        self.bitDepth = bitDepth; self.samples = samples
    }

    public var maxValue: Int { bitDepth == 16 ? 65535 : 255 }

    /// Same image with 8-bit samples (16-bit values rounded: v·255/65535).
    public func to8Bit() -> Image {
        if bitDepth == 8 { return self }
        return Image(width: width, height: height, channels: channels, bitDepth: 8,
                     samples: samples.map { UInt16((UInt32($0) * 255 + 32767) / 65535) })
    }

    /// Drop an alpha channel (gray+alpha → gray, RGBA → RGB), as Pillow's convert("RGB") drops alpha.
    public func droppingAlpha() -> Image {
        guard channels == 2 || channels == 4 else { return self }
        let c = channels - 1
        var out = [UInt16](repeating: 0, count: width * height * c)
        for i in 0..<(width * height) { for k in 0..<c { out[i * c + k] = samples[i * channels + k] } }
        return Image(width: width, height: height, channels: c, bitDepth: bitDepth, samples: out)
    }

    /// 8-bit RGB (Pillow's convert("RGB"): gray is replicated, alpha dropped).
    public func rgb8() -> Image {
        let s = to8Bit().droppingAlpha()
        if s.channels == 3 { return s }
        var out = [UInt16](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) { let v = s.samples[i]; out[3 * i] = v; out[3 * i + 1] = v; out[3 * i + 2] = v }
        return Image(width: width, height: height, channels: 3, bitDepth: 8, samples: out)
    }

    /// 8-bit luminance with Pillow's integer formula for RGB → L (ITU-R 601-2: L = R·299/1000 + …,
    /// computed as (R·19595 + G·38470 + B·7471 + 0x8000) >> 16 in libImaging/Convert.c).
    public func luminance8() -> Image {
        let s = to8Bit().droppingAlpha()
        if s.channels == 1 { return s }
        var out = [UInt16](repeating: 0, count: width * height)
        for i in 0..<(width * height) {
            let r = UInt32(s.samples[3 * i]), g = UInt32(s.samples[3 * i + 1]), b = UInt32(s.samples[3 * i + 2])
            out[i] = UInt16((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
        }
        return Image(width: width, height: height, channels: 1, bitDepth: 8, samples: out)
    }
}
