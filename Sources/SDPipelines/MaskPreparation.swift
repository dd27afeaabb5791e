// The mask tensor the tensor-level pipelines take ([1, 1, H, W] of 0/1), from a mask image as
// diffusers' mask_processor prepares it (the binarising itself is SDCore's Mask).
import SDCore

public enum MaskPreparation {
    /// [1, 1, H, W] of 0/1 from a mask image; white (or opaque, for `.alpha`) = repaint.
    public static func binaryMask(_ image: Image, channel: MaskChannel = .luminance, invert: Bool = false) throws -> Tensor {
        try Mask(binarising: image, channel: channel, invert: invert).tensor()
    }
}
