// Post-processing around the pipeline: padding to the VAE's multiple and cropping back (so the
// output keeps the input's exact size), and pasting the original pixels back outside the mask with
// a feathered edge (the behaviour AUTOMATIC1111 users expect; diffusers leaves this to the caller).
import Foundation
import SDCore

public enum Compositing {
    /// Pad an image on the right and bottom to multiples of `m`, repeating the edge pixels.
    public static func padToMultiple(_ im: Image, _ m: Int) -> Image {
        let w = (im.width + m - 1) / m * m, h = (im.height + m - 1) / m * m
        return im.edgePadded(right: w - im.width, bottom: h - im.height)
    }

    /// original·(1 − α) + generated·α with α = the binary mask blurred by a Gaussian of σ = `blur`
    /// pixels, limited to the mask itself: pixels outside the mask keep their original values exactly.
    public static func composite(original: Image, generated: Image, mask: Mask, blur: Double) -> Image {
        precondition(original.width == generated.width && original.height == generated.height && original.channels == generated.channels)
        precondition(original.bitDepth == generated.bitDepth, "original and generated bit depths differ")
        precondition(mask.width == original.width && mask.height == original.height, "mask and image sizes differ")
        let w = original.width, h = original.height, c = original.channels
        let m = mask.values.map(Float.init)
        let alpha = blur > 0 ? gaussianBlur(m, width: w, height: h, sigma: blur) : m
        func blend<T: ImageSample>(_ orig: [T], _ gen: [T]) -> [T] {
            var out = orig
            for i in 0..<(w * h) where m[i] > 0 {
                let a = min(1, max(0, alpha[i]))
                for k in 0..<c {
                    let v = Float(orig[i * c + k]) * (1 - a) + Float(gen[i * c + k]) * a
                    out[i * c + k] = T(v.rounded())
                }
            }
            return out
        }
        return Image(width: w, height: h, channels: c, storage: original.storage.map(
            { blend($0, generated.samples8) }, { blend($0, generated.samples16) }))
    }

    /// Separable Gaussian blur of a W×H plane, clamped borders, kernel radius ⌈3σ⌉.
    static func gaussianBlur(_ p: [Float], width w: Int, height h: Int, sigma: Double) -> [Float] {
        let r = Int((3 * sigma).rounded(.up))
        var k = (-r...r).map { Float(exp(-Double($0 * $0) / (2 * sigma * sigma))) }
        let s = k.reduce(0, +)
        k = k.map { $0 / s }
        var tmp = [Float](repeating: 0, count: w * h), out = tmp
        for y in 0..<h { for x in 0..<w {
            var acc: Float = 0
            for (j, kv) in k.enumerated() { acc += kv * p[y * w + min(max(x + j - r, 0), w - 1)] }
            tmp[y * w + x] = acc
        } }
        for y in 0..<h { for x in 0..<w {
            var acc: Float = 0
            for (j, kv) in k.enumerated() { acc += kv * tmp[min(max(y + j - r, 0), h - 1) * w + x] }
            out[y * w + x] = acc
        } }
        return out
    }
}
