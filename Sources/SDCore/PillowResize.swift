// Pillow-compatible resize of 8-bit images: Image.resize(size, LANCZOS | BICUBIC | BILINEAR) for
// modes L and RGB. Port of Pillow's src/libImaging/Resample.c (precompute_coeffs, normalize_coeffs_8bpc,
// ImagingResampleHorizontal_8bpc / Vertical_8bpc): double-precision filter weights turned into
// 22-bit fixed point, horizontal pass first, each pass clipped to 0…255. Bit-exact with Pillow 13.
import Foundation

public enum PillowFilter: String, CaseIterable {
    case bilinear, bicubic, lanczos

    var support: Double {
        switch self { case .bilinear: return 1; case .bicubic: return 2; case .lanczos: return 3 }
    }

    func weight(_ x: Double) -> Double {
        switch self {
        case .bilinear:
            let a = abs(x)
            return a < 1 ? 1 - a : 0
        case .bicubic:
            let a = -0.5, t = abs(x)
            if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
            if t < 2 { return (((t - 5) * t + 8) * t - 4) * a }
            return 0
        case .lanczos:
            func sinc(_ v: Double) -> Double { v == 0 ? 1 : sin(v * .pi) / (v * .pi) }
            return (-3 <= x && x < 3) ? sinc(x) * sinc(x / 3) : 0
        }
    }
}

let pillowPrecisionBits = 32 - 8 - 2

/// Fixed-point taps for one axis: for each output index, first input index and its weights.
func pillowCoefficients(inSize: Int, outSize: Int, filter: PillowFilter) -> [(Int, [Int32])] {
    let scale = Double(inSize) / Double(outSize)
    let filterscale = Swift.max(scale, 1)
    let support = filter.support * filterscale
    return (0..<outSize).map { xx in
        let center = (Double(xx) + 0.5) * scale
        let ss = 1 / filterscale
        let xmin = Swift.max(Int(center - support + 0.5), 0)
        let xmax = Swift.min(Int(center + support + 0.5), inSize) - xmin
        var k = (0..<Swift.max(0, xmax)).map { filter.weight((Double($0 + xmin) - center + 0.5) * ss) }
        let ww = k.reduce(0, +)
        if ww != 0 { k = k.map { $0 / ww } }
        let fixed = k.map { w -> Int32 in
            Int32(w < 0 ? -0.5 + w * Double(1 << pillowPrecisionBits) : 0.5 + w * Double(1 << pillowPrecisionBits))
        }
        return (xmin, fixed)
    }
}

@inline(__always) func clip8(_ v: Int32) -> UInt16 {
    let s = v >> Int32(pillowPrecisionBits)
    return UInt16(Swift.max(0, Swift.min(255, s)))
}

extension Image {
    /// Pillow's Image.resize for 8-bit images (any channel count, each channel filtered alone).
    public func pillowResized(width ow: Int, height oh: Int, filter: PillowFilter) -> Image {
        precondition(bitDepth == 8, "pillowResized expects an 8-bit image")
        if ow == width && oh == height { return self }
        let c = channels
        var cur = self
        if ow != width {
            let taps = pillowCoefficients(inSize: width, outSize: ow, filter: filter)
            var out = [UInt16](repeating: 0, count: ow * height * c)
            let src = cur.samples
            for y in 0..<height { for x in 0..<ow {
                let (xmin, k) = taps[x]
                for ch in 0..<c {
                    var ss: Int32 = 1 << Int32(pillowPrecisionBits - 1)
                    for i in 0..<k.count { ss &+= Int32(src[(y * width + xmin + i) * c + ch]) &* k[i] }
                    out[(y * ow + x) * c + ch] = clip8(ss)
                }
            } }
            cur = Image(width: ow, height: height, channels: c, bitDepth: 8, samples: out)
        }
        if oh != height {
            let taps = pillowCoefficients(inSize: height, outSize: oh, filter: filter)
            var out = [UInt16](repeating: 0, count: ow * oh * c)
            let src = cur.samples
            for y in 0..<oh {
                let (ymin, k) = taps[y]
                for x in 0..<ow { for ch in 0..<c {
                    var ss: Int32 = 1 << Int32(pillowPrecisionBits - 1)
                    for i in 0..<k.count { ss &+= Int32(src[((ymin + i) * ow + x) * c + ch]) &* k[i] }
                    out[(y * ow + x) * c + ch] = clip8(ss)
                } }
            }
            cur = Image(width: ow, height: oh, channels: c, bitDepth: 8, samples: out)
        }
        return cur
    }
}
