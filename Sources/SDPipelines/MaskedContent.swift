// AUTOMATIC1111's "masked content" for inpainting (modules/processing.py,
// StableDiffusionProcessingImg2Img.init, inpainting_fill 0–3): what the masked area holds before
// denoising starts. `fill` paints it with the blurred colours around it (modules/masking.py fill(),
// reproduced here in Pillow's integer arithmetic: libImaging Paste.c, BoxBlur.c, Convert.c,
// AlphaComposite.c); `latent-noise` and `latent-nothing` replace the image's latents under the mask by
// seeded noise or zeros. They shape the start of a run below strength 1; at strength 1 the
// diffusers pipeline starts from pure noise and they change nothing.
import Foundation
import SDCore

public enum MaskedContent: String, CaseIterable, Sendable {
    case fill, original, latentNoise = "latent-noise", latentNothing = "latent-nothing"

    /// The "Masked content" value A1111 writes (and reads back) in its parameters text.
    public var a1111Name: String {
        switch self {
        case .fill: return "fill"
        case .original: return "original"
        case .latentNoise: return "latent noise"
        case .latentNothing: return "latent nothing"
        }
    }
}

public enum MaskFill {
    /// A1111's fill(image, mask): the pixels outside `mask` (RGB 8-bit image; mask [1, 1, H, W] in 0…1,
    /// 1 = masked) premultiplied, Gaussian-blurred at radii 256, 64, 16, 4, 2, 0 and alpha-composited
    /// 1, 1, 2, 4, 2, 1 times over a transparent canvas, so the masked area takes the colours around it.
    public static func fill(_ image: Image, mask: Tensor) -> Image {
        let im = image.rgb8(), w = im.width, h = im.height, n = w * h, rgb = im.samples8
        precondition(mask.dim(2) == h && mask.dim(3) == w, "mask and image sizes differ")
        // image_masked: RGBa zeros, the image pasted through the inverted mask (Paste.c BLEND).
        var masked = [[Int]](repeating: [Int](repeating: 0, count: n), count: 4)
        for i in 0..<n {
            let keep = 255 - Int((mask.storage[i] * 255).rounded())
            for c in 0..<3 { masked[c][i] = div255(Int(rgb[i * 3 + c]) * keep) }
            masked[3][i] = div255(255 * keep)
        }
        var canvas = [[Int]](repeating: [Int](repeating: 0, count: n), count: 4)   // RGBA, transparent
        for (radius, repeats) in [(256, 1), (64, 1), (16, 2), (4, 4), (2, 2), (0, 1)] as [(Float, Int)] {
            var blurred = masked.map { gaussianBlur($0, width: w, height: h, radius: radius) }
            unpremultiply(&blurred)
            for _ in 0..<repeats { alphaComposite(&canvas, over: blurred) }
        }
        var out = [UInt8](repeating: 0, count: n * 3)
        for i in 0..<n { for c in 0..<3 { out[i * 3 + c] = UInt8(canvas[c][i]) } }
        return Image(width: w, height: h, channels: 3, samples8: out)
    }

    /// Pillow's DIV255: a / 255 rounded, for a in 0…255².
    static func div255(_ a: Int) -> Int { let t = a + 128; return ((t >> 8) + t) >> 8 }

    /// Convert.c rgba2rgbA: RGBa → RGBA, truncating division by alpha.
    static func unpremultiply(_ p: inout [[Int]]) {
        for i in 0..<p[3].count {
            let a = p[3][i]
            if a == 0 || a == 255 { continue }
            for c in 0..<3 { p[c][i] = min(255, 255 * p[c][i] / a) }
        }
    }

    /// AlphaComposite.c: `src` over `dst` (straight alpha), 7 extra bits of precision.
    static func alphaComposite(_ dst: inout [[Int]], over src: [[Int]]) {
        let bits = 7
        func shiftDiv255(_ a: Int) -> Int { ((a >> 8) + a) >> 8 }
        for i in 0..<dst[3].count where src[3][i] != 0 {
            let sa = src[3][i], blend = dst[3][i] * (255 - sa)
            let outa255 = sa * 255 + blend
            let coef1 = sa * 255 * 255 * (1 << bits) / outa255
            let coef2 = 255 * (1 << bits) - coef1
            for c in 0..<3 {
                let t = src[c][i] * coef1 + dst[c][i] * coef2
                dst[c][i] = shiftDiv255(t + (0x80 << bits)) >> bits
            }
            dst[3][i] = shiftDiv255(outa255 + 0x80)
        }
    }

    /// ImageFilter.GaussianBlur(radius) on one 8-bit plane: BoxBlur.c's three box passes per axis
    /// with the fractional box radius of _gaussian_blur_radius.
    static func gaussianBlur(_ plane: [Int], width w: Int, height h: Int, radius: Float) -> [Int] {
        if radius == 0 { return plane }
        let r = boxRadius(radius, passes: 3)
        var p = plane
        for _ in 0..<3 { horizontalBoxBlur(&p, width: w, height: h, radius: r) }
        var t = transpose(p, width: w, height: h)
        for _ in 0..<3 { horizontalBoxBlur(&t, width: h, height: w, radius: r) }
        return transpose(t, width: h, height: w)
    }

    /// _gaussian_blur_radius: float arithmetic, the square root and floor in double, as the C does.
    static func boxRadius(_ radius: Float, passes: Int) -> Float {
        let sigma2 = radius * radius / Float(passes)
        let L = Float((12.0 * Double(sigma2) + 1.0).squareRoot())
        let l = Float(((Double(L) - 1.0) / 2.0).rounded(.down))
        var a = (2 * l + 1) * (l * (l + 1) - 3 * sigma2)
        a /= 6 * (sigma2 - (l + 1) * (l + 1))
        return l + a
    }

    static func transpose(_ p: [Int], width w: Int, height h: Int) -> [Int] {
        var out = [Int](repeating: 0, count: p.count)
        for y in 0..<h { for x in 0..<w { out[x * h + y] = p[y * w + x] } }
        return out
    }

    /// ImagingHorizontalBoxBlur on every row of a W×H plane, in place: a running sum over 2r + 1
    /// pixels plus the two fractional far pixels, edge pixels repeated beyond the borders, 24-bit
    /// fixed-point weights.
    static func horizontalBoxBlur(_ p: inout [Int], width: Int, height: Int, radius floatRadius: Float) {
        let radius = Int(floatRadius)
        let ww = Int(UInt32(Float(1 << 24) / (floatRadius * 2 + 1)))
        let fw = ((1 << 24) - (radius * 2 + 1) * ww) / 2
        let edgeA = min(radius + 1, width), edgeB = max(width - radius - 1, 0)
        let last = width - 1
        var line = [Int](repeating: 0, count: width), out = line
        for y in 0..<height {
            for x in 0..<width { line[x] = p[y * width + x] }
            func px(_ i: Int) -> Int { line[i] }
            var acc = px(0) * (radius + 1)
            if edgeA > 1 { for x in 0..<(edgeA - 1) { acc += px(x) } }
            acc += px(last) * (radius - edgeA + 1)
            func emit(_ x: Int, subtract: Int, add: Int, left: Int, right: Int) {
                acc += px(add) - px(subtract)
                let bulk = acc * ww + (px(left) + px(right)) * fw
                out[x] = (bulk + (1 << 23)) >> 24
            }
            if edgeA <= edgeB {
                for x in 0..<edgeA { emit(x, subtract: 0, add: x + radius, left: 0, right: x + radius + 1) }
                for x in edgeA..<edgeB { emit(x, subtract: x - radius - 1, add: x + radius, left: x - radius - 1, right: x + radius + 1) }
                for x in edgeB...last { emit(x, subtract: x - radius - 1, add: last, left: x - radius - 1, right: last) }
            } else {
                for x in 0..<edgeB { emit(x, subtract: 0, add: x + radius, left: 0, right: x + radius + 1) }
                for x in edgeB..<edgeA { emit(x, subtract: 0, add: last, left: 0, right: last) }
                if edgeA <= last { for x in edgeA...last { emit(x, subtract: x - radius - 1, add: last, left: x - radius - 1, right: last) } }
            }
            for x in 0..<width { p[y * width + x] = out[x] }
        }
    }
}

extension MaskFill {
    /// A1111's latent edit for `latent-noise` / `latent-nothing` on image latents [1, C, h, w]: under
    /// the mask brought to latent size as A1111 does (Pillow's default bicubic resize, / 255, rounded
    /// half to even), noise from a fresh generator on `seed` (create_random_tensors) or zeros.
    /// Other contents return the latents unchanged.
    public static func latentContent(_ z: Tensor, mask: Tensor, _ content: MaskedContent, seed: UInt64) -> Tensor {
        guard content == .latentNoise || content == .latentNothing else { return z }
        let h = mask.dim(2), w = mask.dim(3), lh = z.dim(2), lw = z.dim(3)
        let m8 = Image(width: w, height: h, channels: 1, samples8: mask.storage.map { UInt8(($0 * 255).rounded()) })
        let small = m8.pillowResized(width: lw, height: lh, filter: .bicubic)
        let nmask = Tensor(shape: [1, 1, lh, lw], storage: small.samples8.map { (Float($0) / 255).rounded(.toNearestOrEven) })
        let kept = z * (-nmask + 1)
        return content == .latentNothing ? kept : kept + TorchGenerator(seed: seed).randn(z.shape) * nmask
    }
}

extension Image {
    /// This RGB image with the masked area filled as A1111's fill() does (MaskFill.fill).
    public func filledLikeA1111(mask: Tensor) -> Image { MaskFill.fill(self, mask: mask) }
}
