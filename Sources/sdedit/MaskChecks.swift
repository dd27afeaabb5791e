// What the CLI checks in a mask before any model loads: that something is to be repainted, and
// whether an alpha channel the user may have meant is being ignored.
import Foundation
import SDCore
import SDPipelines

/// The 0/1 mask of `image` (MaskPreparation.binaryMask), refused when it repaints nothing (the run
/// would return the input unchanged); a note on stderr when the mask has transparent pixels that
/// --mask-channel luminance reads by their colour.
func checkedBinaryMask(_ image: Image, path: String, channel: MaskChannel, invert: Bool,
                       progress: ProgressReporter) throws -> Tensor {
    let mask = try MaskPreparation.binaryMask(image, channel: channel, invert: invert)
    let share = mask.storage.reduce(0, +) / Float(max(mask.count, 1))
    let name = path == "-" ? "<stdin>" : path
    if channel == .luminance, image.channels == 2 || image.channels == 4,
       stride(from: image.channels - 1, to: image.samples.count, by: image.channels).contains(where: { image.samples[$0] < image.maxValue }) {
        progress.message(String(format: "sdedit: note: %@ has transparent pixels; --mask-channel luminance reads their colour "
                                + "(%.0f%% of the image will be repainted); --mask-channel alpha repaints where the mask is opaque",
                                name, Double(share) * 100))
    }
    guard share > 0 else {
        throw SDError.invalidInput("\(name): the mask \(invert ? "is all white, and --invert-mask makes it" : "is") all black: "
                                   + "nothing to repaint (white = repaint, black = keep)")
    }
    return mask
}
