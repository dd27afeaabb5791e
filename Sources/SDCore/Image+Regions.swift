// Image regions: crop, paste, and edge padding (numpy's np.pad(mode="edge"), every new pixel a
// copy of the nearest original one). The inpaint crop around the mask and its paste-back, the
// crop back from the VAE's multiple, the outpaint canvas (Outpainting.canvas) and the padding to
// the VAE's multiple (Compositing.padToMultiple) are these.
extension Image {
    /// The `width` × `height` part whose top-left pixel is (`x`, `y`); the whole image when it is that.
    public func cropped(x: Int = 0, y: Int = 0, width w: Int, height h: Int) -> Image {
        precondition(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= width && y + h <= height,
                     "crop \(w)x\(h)+\(x)+\(y) of a \(width)x\(height) image")
        if x == 0 && y == 0 && w == width && h == height { return self }
        let c = channels, width = width
        func crop<T: ImageSample>(_ s: [T]) -> [T] {
            var out = [T](repeating: 0, count: w * h * c)
            for row in 0..<h {
                let src = ((y + row) * width + x) * c, dst = row * w * c
                for i in 0..<(w * c) { out[dst + i] = s[src + i] }
            }
            return out
        }
        return Image(width: w, height: h, channels: c, storage: storage.map(crop, crop))
    }

    /// This image with `part` written over it, its top-left pixel at (`x`, `y`).
    public func pasting(_ part: Image, x: Int, y: Int) -> Image {
        precondition(part.channels == channels && x >= 0 && y >= 0 && x + part.width <= width && y + part.height <= height,
                     "paste \(part.width)x\(part.height)+\(x)+\(y) into a \(width)x\(height) image")
        precondition(part.bitDepth == bitDepth, "paste a \(part.bitDepth)-bit image into a \(bitDepth)-bit one")
        let c = channels, width = width
        func paste<T: ImageSample>(_ s: [T], _ p: [T]) -> [T] {
            var out = s
            for row in 0..<part.height {
                let dst = ((y + row) * width + x) * c, src = row * part.width * c
                for i in 0..<(part.width * c) { out[dst + i] = p[src + i] }
            }
            return out
        }
        return Image(width: width, height: height, channels: c,
                     storage: storage.map({ paste($0, part.samples8) }, { paste($0, part.samples16) }))
    }

    /// The image with `left`/`top`/`right`/`bottom` pixels added, each a copy of the nearest edge pixel.
    public func edgePadded(left: Int = 0, top: Int = 0, right: Int = 0, bottom: Int = 0) -> Image {
        precondition(left >= 0 && top >= 0 && right >= 0 && bottom >= 0 && width > 0 && height > 0,
                     "edge padding \(left) \(top) \(right) \(bottom) of a \(width)x\(height) image")
        if left == 0 && top == 0 && right == 0 && bottom == 0 { return self }
        let w = width + left + right, h = height + top + bottom, c = channels, width = width, height = height
        func pad<T: ImageSample>(_ s: [T]) -> [T] {
            var out = [T](repeating: 0, count: w * h * c)
            for y in 0..<h {
                let sy = Swift.min(Swift.max(y - top, 0), height - 1)
                for x in 0..<w {
                    let sx = Swift.min(Swift.max(x - left, 0), width - 1)
                    for k in 0..<c { out[(y * w + x) * c + k] = s[(sy * width + sx) * c + k] }
                }
            }
            return out
        }
        return Image(width: w, height: h, channels: c, storage: storage.map(pad, pad))
    }
}
