// How the CLI turns a mask file into the Mask of an image, for single runs and --batch jobs alike:
// the size policy (--resize-mask), that something is to be repainted, and whether an alpha channel
// the user may have meant is being ignored.
import Foundation
import SDCore
import SDPipelines

/// The mask options of `inpaint`, as one value the single run and every batch job use.
struct MaskReading {
    var channel: MaskChannel = .luminance
    var invert = false
    /// Resize a mask of another size to the image (Pillow LANCZOS on the mask image, then
    /// binarised) instead of refusing it.
    var resize = false

    /// The mask at `path` for `image`: read, sized to the image per `resize`, binarised and checked.
    func mask(at path: String, for image: Image, common: GenerationOptions, progress: ProgressReporter) throws -> Mask {
        var maskImage = try common.readImage(path)
        if maskImage.width != image.width || maskImage.height != image.height {
            guard resize else {
                throw SDError.invalidInput("\(path): mask is \(maskImage.width)x\(maskImage.height) but the image is "
                                           + "\(image.width)x\(image.height) (pass --resize-mask to resize it)")
            }
            maskImage = maskImage.to8Bit().pillowResized(width: image.width, height: image.height, filter: .lanczos)
        }
        return try checkedMask(maskImage, path: path, channel: channel, invert: invert, progress: progress)
    }
}

/// The mask of `image`, refused when it repaints nothing (the run would return the input
/// unchanged); a note on stderr when the mask has transparent pixels that --mask-channel luminance
/// reads by their colour.
func checkedMask(_ image: Image, path: String, channel: MaskChannel, invert: Bool,
                 progress: ProgressReporter) throws -> Mask {
    let mask = try Mask(binarising: image, channel: channel, invert: invert)
    let share = Double(mask.repaintCount) / Double(max(mask.values.count, 1))
    let name = path == "-" ? "<stdin>" : path
    if channel == .luminance, !image.isOpaque {
        progress.message(String(format: "sdedit: note: %@ has transparent pixels; --mask-channel luminance reads their colour "
                                + "(%.0f%% of the image will be repainted); --mask-channel alpha repaints where the mask is opaque",
                                name, share * 100))
    }
    guard share > 0 else {
        throw SDError.invalidInput("\(name): the mask \(invert ? "is all white, and --invert-mask makes it" : "is") all black: "
                                   + "nothing to repaint (white = repaint, black = keep)")
    }
    return mask
}
