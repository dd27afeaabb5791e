// Masks as diffusers' mask_processor prepares them (VaeImageProcessor with do_convert_grayscale,
// do_binarize): Pillow convert("L") (integer luma for RGB), / 255, then ≥ 0.5 → 1 (repaint), < 0.5 → 0.
import SDCore

public enum MaskChannel: String, CaseIterable { case luminance, alpha }

public enum MaskPreparation {
    /// [1, 1, H, W] of 0/1 from a mask image; white (or opaque, for `.alpha`) = repaint.
    public static func binaryMask(_ image: Image, channel: MaskChannel = .luminance, invert: Bool = false) throws -> Tensor {
        let gray: Image
        switch channel {
        case .luminance:
            gray = image.luminance8()
        case .alpha:
            guard image.channels == 2 || image.channels == 4 else {
                throw SDError.invalidInput("mask has no alpha channel (it has \(image.channels) channel(s)); use --mask-channel luminance")
            }
            let s = image.to8Bit()
            gray = Image(width: s.width, height: s.height, channels: 1, bitDepth: 8,
                         samples: stride(from: s.channels - 1, to: s.samples.count, by: s.channels).map { s.samples[$0] })
        }
        return Tensor(shape: [1, 1, gray.height, gray.width]) { o in
            for i in 0..<o.count {
                let on = Float(gray.samples[i]) / 255 >= 0.5
                o[i] = (on != invert) ? 1 : 0
            }
        }
    }
}
