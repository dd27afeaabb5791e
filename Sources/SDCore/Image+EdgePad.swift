// Edge padding: numpy's np.pad(mode="edge") on an image, every new pixel a copy of the nearest
// original one. The outpaint canvas (Outpainting.canvas) and the padding to the VAE's multiple
// (Compositing.padToMultiple) are both this.
extension Image {
    /// The image with `left`/`top`/`right`/`bottom` pixels added, each a copy of the nearest edge pixel.
    public func edgePadded(left: Int = 0, top: Int = 0, right: Int = 0, bottom: Int = 0) -> Image {
        precondition(left >= 0 && top >= 0 && right >= 0 && bottom >= 0 && width > 0 && height > 0,
                     "edge padding \(left) \(top) \(right) \(bottom) of a \(width)x\(height) image")
        if left == 0 && top == 0 && right == 0 && bottom == 0 { return self }
        let w = width + left + right, h = height + top + bottom, c = channels
        var out = [UInt16](repeating: 0, count: w * h * c)
        for y in 0..<h {
            let sy = Swift.min(Swift.max(y - top, 0), height - 1)
            for x in 0..<w {
                let sx = Swift.min(Swift.max(x - left, 0), width - 1)
                for k in 0..<c { out[(y * w + x) * c + k] = samples[(sy * width + sx) * c + k] }
            }
        }
        return Image(width: w, height: h, channels: c, bitDepth: bitDepth, samples: out)
    }
}
