// Image ↔ tensor conversions as diffusers' VaeImageProcessor does them (image_processor.py):
// pil_to_numpy (uint8 / 255 in float32), normalize (2x − 1), and postprocess
// ((x / 2 + 0.5).clamp(0, 1) · 255, rounded half to even) — each step in float32, same order.

extension Image {
    /// [1, C, H, W] tensor in [−1, 1] from an 8-bit image.
    public func toTensor(normalize: Bool = true) -> Tensor {
        let s = to8Bit().samples8
        let c = channels, hw = width * height
        return Tensor(shape: [1, c, height, width]) { o in
            for i in 0..<hw { for ch in 0..<c {
                let v = Float(s[i * c + ch]) / 255
                o[ch * hw + i] = normalize ? 2 * v - 1 : v
            } }
        }
    }

    /// 8-bit image from a [1, C, H, W] (or [C, H, W]) tensor in [−1, 1] (`denormalize`) or [0, 1].
    public init(tensor t: Tensor, denormalize: Bool = true) {
        let c = t.dim(-3), h = t.dim(-2), w = t.dim(-1)
        precondition(t.count == c * h * w, "Image(tensor:) expects one image, got \(t.shape)")
        let hw = h * w
        var out = [UInt8](repeating: 0, count: hw * c)
        t.withUnsafeBufferPointer { p in
            for ch in 0..<c { for i in 0..<hw {
                var v = p[ch * hw + i]
                if denormalize { v = v / 2 + 0.5 }
                v = v.isNaN ? 0 : Swift.min(Swift.max(v, 0), 1)   // a NaN must not trap the UInt8 conversion
                out[i * c + ch] = UInt8((v * 255).rounded(.toNearestOrEven))
            } }
        }
        self.init(width: w, height: h, channels: c, samples8: out)
    }
}
