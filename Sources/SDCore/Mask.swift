// An inpainting mask at image level: one byte per pixel, 1 = repaint, 0 = keep. Binarised from a mask
// image as diffusers' mask_processor does it (VaeImageProcessor with do_convert_grayscale and
// do_binarize, src/diffusers/image_processor.py: Pillow convert("L"), / 255, ≥ 0.5 → 1); grown or
// shrunk, cropped, padded and resized as image-level steps; a tensor only where a pipeline needs one
// at latent level.
import Foundation

/// Which channel of a mask image says "repaint": its luminance (white) or its alpha (opaque).
public enum MaskChannel: String, CaseIterable, Sendable { case luminance, alpha }

/// A width×height plane of 0 (keep) and 1 (repaint), row-major.
public struct Mask: Equatable, Sendable {
    public let width: Int, height: Int
    /// 0 or 1 per pixel.
    public private(set) var values: [UInt8]

    /// A mask from 0/1 values (any nonzero value counts as 1).
    public init(width: Int, height: Int, values: [UInt8]) {
        precondition(values.count == width * height, "mask values do not match \(width)x\(height)")
        self.width = width
        self.height = height
        self.values = values.map { $0 != 0 ? 1 : 0 }
    }

    /// A mask that repaints where `repaint(x, y)` holds.
    public init(width: Int, height: Int, repaint: (Int, Int) -> Bool) {
        var v = [UInt8](repeating: 0, count: width * height)
        for y in 0..<height { for x in 0..<width where repaint(x, y) { v[y * width + x] = 1 } }
        self.width = width
        self.height = height
        values = v
    }

    /// The mask of a mask image: white (or opaque, for `.alpha`) = repaint; `invert` swaps the two.
    /// A pixel repaints when its 8-bit value / 255 ≥ 0.5, that is when the value is at least 128.
    public init(binarising image: Image, channel: MaskChannel = .luminance, invert: Bool = false) throws {
        let gray: [UInt8]
        switch channel {
        case .luminance:
            gray = image.luminance8().samples8
        case .alpha:
            guard image.channels == 2 || image.channels == 4 else {
                throw SDError.invalidInput("mask has no alpha channel (it has \(image.channels) channel(s)); use --mask-channel luminance")
            }
            let s = image.to8Bit().samples8, c = image.channels
            gray = stride(from: c - 1, to: s.count, by: c).map { s[$0] }
        }
        width = image.width
        height = image.height
        values = gray.map { ($0 >= 128) != invert ? 1 : 0 }
    }

    /// How many pixels are repainted.
    public var repaintCount: Int { values.reduce(0) { $0 + Int($1) } }

    /// Nothing is repainted.
    public var isEmpty: Bool { !values.contains(1) }

    /// Dilated (px > 0) or eroded (px < 0) by |px| pixels with a square window of side 2|px| + 1
    /// (ComfyUI's grow_mask_by kernel is square too). The window is clipped at the edges, so a mask
    /// touching the border stays on it when shrunk (scipy's grey_erosion, which ComfyUI's GrowMask
    /// uses, reflects at the border to the same effect).
    public func grown(by px: Int) -> Mask {
        if px == 0 { return self }
        let w = width, h = height, r = abs(px), dilate = px > 0
        // Separable: a running count along x, then along y, so each window is O(1).
        func pass(_ src: [UInt8], horizontal: Bool) -> [UInt8] {
            var out = [UInt8](repeating: 0, count: src.count)
            let lines = horizontal ? h : w, len = horizontal ? w : h
            var prefix = [Int](repeating: 0, count: len + 1)
            for l in 0..<lines {
                let at = { (i: Int) in horizontal ? l * w + i : i * w + l }
                for i in 0..<len { prefix[i + 1] = prefix[i] + Int(src[at(i)]) }
                for i in 0..<len {
                    let lo = max(i - r, 0), hi = min(i + r + 1, len)
                    let on = prefix[hi] - prefix[lo]
                    out[at(i)] = (dilate ? on > 0 : on == hi - lo) ? 1 : 0
                }
            }
            return out
        }
        var m = self
        m.values = pass(pass(values, horizontal: true), horizontal: false)
        return m
    }

    /// The width×height part whose top-left pixel is (x, y).
    public func cropped(x: Int, y: Int, width cw: Int, height ch: Int) -> Mask {
        precondition(x >= 0 && y >= 0 && x + cw <= width && y + ch <= height, "crop outside the mask")
        var v = [UInt8](repeating: 0, count: cw * ch)
        for row in 0..<ch { for col in 0..<cw { v[row * cw + col] = values[(y + row) * width + x + col] } }
        return Mask(width: cw, height: ch, values: v)
    }

    /// Grown on the right and bottom with keep (0) pixels.
    public func padded(right: Int, bottom: Int) -> Mask {
        Mask(width: width + right, height: height + bottom) { x, y in x < width && y < height && values[y * width + x] != 0 }
    }

    /// The mask as an 8-bit grayscale image, 255 = repaint, 0 = keep.
    public var image: Image {
        Image(width: width, height: height, channels: 1, samples8: values.map { $0 != 0 ? 255 : 0 })
    }

    /// Resized as diffusers resizes a mask image (Pillow LANCZOS on the 0/255 L image), then binarised again.
    public func resized(width w: Int, height h: Int) -> Mask {
        if w == width && h == height { return self }
        // An L image has no alpha channel: binarising its luminance cannot fail.
        return try! Mask(binarising: image.pillowResized(width: w, height: h, filter: .lanczos))
    }

    /// [1, 1, H, W] of 0/1, as a pipeline takes it at latent level.
    public func tensor() -> Tensor {
        Tensor(shape: [1, 1, height, width], storage: values.map { Float($0) })
    }
}
