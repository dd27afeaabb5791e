// Pillow-compatible resize of 8-bit images: Image.resize(size, LANCZOS | BICUBIC | BILINEAR) for
// modes L and RGB. Port of Pillow's src/libImaging/Resample.c (precompute_coeffs, normalize_coeffs_8bpc,
// ImagingResampleHorizontal_8bpc / Vertical_8bpc): double-precision filter weights turned into
// 22-bit fixed point, horizontal pass first, each pass clipped to 0…255. Bit-exact with Pillow 13.
// The same algorithm with torch's fixed point is torchvision's resize of a uint8 tensor with
// antialias=True (ATen native/cpu/UpSampleKernel.cpp _compute_index_ranges_int16_weights and
// UpSampleKernelAVXAntialias.h, the AVX2 path every x86-64 CPU with AVX2 takes): int16 weights with
// as many fraction bits as the axis's largest weight allows (≤ 22), which is what transformers 5's
// torchvision-backed image processors (DPTImageProcessor) run.
import Foundation

/// Whose fixed-point weights a resize of 8-bit samples uses.
public enum ResampleArithmetic: Sendable {
    /// Pillow: Int32 weights with 22 fraction bits.
    case pillow
    /// torchvision / ATen uint8 antialias: Int16 weights, fraction bits from the largest weight.
    case torchUInt8
}

public enum PillowFilter: String, CaseIterable, Sendable {
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

/// Fixed-point taps for one axis: for each output index, first input index and its weights, and
/// the number of fraction bits.
func pillowCoefficients(inSize: Int, outSize: Int, filter: PillowFilter,
                        arithmetic: ResampleArithmetic = .pillow) -> (taps: [(Int, [Int32])], bits: Int) {
    let scale = Double(inSize) / Double(outSize)
    let filterscale = Swift.max(scale, 1)
    let support = filter.support * filterscale
    let ksize = Int(support.rounded(.up)) * 2 + 1
    let real = (0..<outSize).map { xx -> (Int, [Double]) in
        let center = (Double(xx) + 0.5) * scale
        let ss = 1 / filterscale
        let xmin = Swift.max(Int(center - support + 0.5), 0)
        let xmax = Swift.min(Int(center + support + 0.5), inSize) - xmin
        // ATen clamps the tap count to the kernel size (a rounding corner case); Pillow's is never larger.
        var k = (0..<Swift.min(Swift.max(0, xmax), ksize)).map { filter.weight((Double($0 + xmin) - center + 0.5) * ss) }
        let ww = k.reduce(0, +)
        if ww != 0 { k = k.map { $0 / ww } }
        return (xmin, k)
    }
    var bits = pillowPrecisionBits
    if arithmetic == .torchUInt8 {
        let wmax = real.reduce(0.0) { m, t in t.1.reduce(m) { Swift.max($0, $1) } }
        bits = 0
        while bits < 22, Int(0.5 + wmax * Double(1 << (bits + 1))) < (1 << 15) { bits += 1 }
    }
    let one = Double(1 << bits)
    let taps = real.map { (xmin, k) in
        (xmin, k.map { w -> Int32 in
            let v = w < 0 ? -0.5 + w * one : 0.5 + w * one
            return arithmetic == .torchUInt8 ? Int32(Int16(truncatingIfNeeded: Int(v))) : Int32(v)
        })
    }
    return (taps, bits)
}

@inline(__always) func clip8(_ v: Int32, _ bits: Int) -> UInt8 {
    let s = v >> Int32(bits)
    return UInt8(Swift.max(0, Swift.min(255, s)))
}

extension Image {
    /// Pillow's Image.resize for 8-bit images (any channel count, each channel filtered alone);
    /// with `.torchUInt8`, torchvision's resize(antialias=True) of the same uint8 image.
    public func pillowResized(width ow: Int, height oh: Int, filter: PillowFilter,
                              arithmetic: ResampleArithmetic = .pillow) -> Image {
        precondition(bitDepth == 8, "pillowResized expects an 8-bit image")
        if ow == width && oh == height { return self }
        let c = channels
        var cur = self
        if ow != width {
            let (taps, bits) = pillowCoefficients(inSize: width, outSize: ow, filter: filter, arithmetic: arithmetic)
            var out = [UInt8](repeating: 0, count: ow * height * c)
            let src = cur.samples8
            for y in 0..<height { for x in 0..<ow {
                let (xmin, k) = taps[x]
                for ch in 0..<c {
                    var ss: Int32 = bits > 0 ? 1 << Int32(bits - 1) : 0
                    for i in 0..<k.count { ss &+= Int32(src[(y * width + xmin + i) * c + ch]) &* k[i] }
                    out[(y * ow + x) * c + ch] = clip8(ss, bits)
                }
            } }
            cur = Image(width: ow, height: height, channels: c, samples8: out)
        }
        if oh != height {
            let (taps, bits) = pillowCoefficients(inSize: height, outSize: oh, filter: filter, arithmetic: arithmetic)
            var out = [UInt8](repeating: 0, count: ow * oh * c)
            let src = cur.samples8
            for y in 0..<oh {
                let (ymin, k) = taps[y]
                for x in 0..<ow { for ch in 0..<c {
                    var ss: Int32 = bits > 0 ? 1 << Int32(bits - 1) : 0
                    for i in 0..<k.count { ss &+= Int32(src[((ymin + i) * ow + x) * c + ch]) &* k[i] }
                    out[(y * ow + x) * c + ch] = clip8(ss, bits)
                } }
            }
            cur = Image(width: ow, height: oh, channels: c, samples8: out)
        }
        return cur
    }
}
