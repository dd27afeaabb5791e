// Tiles for large inputs: overlapping windows and feathered blend weights. The upscaler blends the
// UNet's predictions of overlapping tiles at every step (one scheduler step on the whole latent), so
// there is no seam to hide; the VAE decode blends overlapping decoded tiles the same way.
import SDCore

public struct Tile: Equatable {
    public let y: Int, x: Int, height: Int, width: Int
}

public enum Tiling {
    /// Windows of at most `size` covering `length`, overlapping by at least `overlap`.
    static func starts(_ length: Int, size: Int, overlap: Int) -> [Int] {
        if length <= size { return [0] }
        let stride = max(1, size - overlap)
        let n = (length - overlap + stride - 1) / stride
        let count = max(2, n)
        // Spread evenly so every overlap is about the same.
        return (0..<count).map { i in (length - size) * i / (count - 1) }
    }

    public static func grid(height: Int, width: Int, size: Int, overlap: Int) -> [Tile] {
        let ys = starts(height, size: size, overlap: overlap), xs = starts(width, size: size, overlap: overlap)
        return ys.flatMap { y in xs.map { x in Tile(y: y, x: x, height: min(size, height), width: min(size, width)) } }
    }

    /// Blend weight of a tile: a linear ramp over `ramp` pixels at edges that are inside the image,
    /// 1 elsewhere. Never 0, so every pixel of the image has positive total weight.
    public static func weights(_ t: Tile, imageHeight: Int, imageWidth: Int, ramp: Int) -> [Float] {
        func axis(_ start: Int, _ len: Int, _ total: Int) -> [Float] {
            (0..<len).map { i in
                var w: Float = 1
                if start > 0 && ramp > 0 { w = min(w, Float(i + 1) / Float(ramp + 1)) }
                if start + len < total && ramp > 0 { w = min(w, Float(len - i) / Float(ramp + 1)) }
                return w
            }
        }
        let wy = axis(t.y, t.height, imageHeight), wx = axis(t.x, t.width, imageWidth)
        return wy.flatMap { a in wx.map { a * $0 } }
    }

    /// [N, C, tile.height, tile.width] window of an NCHW tensor.
    public static func crop(_ x: Tensor, _ t: Tile, scale: Int = 1) -> Tensor {
        x.narrowed(dim: 2, start: t.y * scale, length: t.height * scale)
         .narrowed(dim: 3, start: t.x * scale, length: t.width * scale)
    }

    /// acc += part·w and wsum += w over the tile's window (scaled by `scale` for pixel-space tiles).
    static func accumulate(_ acc: inout Tensor, _ wsum: inout [Float], _ part: Tensor, _ w: [Float], _ t: Tile) {
        let n = acc.dim(0), c = acc.dim(1), H = acc.dim(2), W = acc.dim(3)
        let th = part.dim(2), tw = part.dim(3)
        acc.withUnsafeMutableBufferPointer { a in
            for b in 0..<n { for ch in 0..<c { for y in 0..<th { for x in 0..<tw {
                a[((b * c + ch) * H + t.y + y) * W + t.x + x] += part.storage[((b * c + ch) * th + y) * tw + x] * w[y * tw + x]
            } } } }
        }
        for y in 0..<th { for x in 0..<tw { wsum[(t.y + y) * W + t.x + x] += w[y * tw + x] } }
    }

    /// Run `f` on overlapping tiles of the last two dims of `input` and blend the outputs, whose
    /// spatial size is `scale` × the input's. One tile covering everything is just `f(input)`.
    public static func blend(_ input: Tensor, size: Int, overlap: Int, scale: Int = 1, _ f: (Tensor) -> Tensor) -> Tensor {
        let h = input.dim(2), w = input.dim(3)
        let tiles = grid(height: h, width: w, size: size, overlap: overlap)
        if tiles.count == 1 { return f(input) }
        var acc: Tensor?
        var wsum = [Float](repeating: 0, count: h * w * scale * scale)
        for t in tiles {
            let out = f(crop(input, t))
            let big = Tile(y: t.y * scale, x: t.x * scale, height: t.height * scale, width: t.width * scale)
            if acc == nil { acc = Tensor(zeros: [out.dim(0), out.dim(1), h * scale, w * scale]) }
            accumulate(&acc!, &wsum, out, weights(big, imageHeight: h * scale, imageWidth: w * scale, ramp: overlap * scale), big)
        }
        var result = acc!
        let plane = h * w * scale * scale
        result.withUnsafeMutableBufferPointer { a in
            for i in 0..<a.count { a[i] /= wsum[i % plane] }
        }
        return result
    }
}
