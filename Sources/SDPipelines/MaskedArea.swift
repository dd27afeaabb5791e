// Inpainting only around the mask ("Inpaint area: Only masked" in AUTOMATIC1111, diffusers'
// padding_mask_crop): the box that holds every masked pixel, padded and widened to the working
// aspect ratio within the image, exactly as diffusers' VaeImageProcessor.get_crop_region
// (src/diffusers/image_processor.py). Cropping and pasting the box are Image and Mask methods (SDCore).
import SDCore

/// Where an inpaint runs: on a crop around the mask, on the whole image, or (auto) on a crop when
/// the image is larger than the working size.
public enum InpaintArea: String, CaseIterable, Sendable { case auto, masked, whole }

/// A pixel rectangle [x0, x1) × [y0, y1).
public struct CropBox: Equatable, CustomStringConvertible, Sendable {
    public var x0: Int, y0: Int, x1: Int, y1: Int
    public init(x0: Int, y0: Int, x1: Int, y1: Int) { (self.x0, self.y0, self.x1, self.y1) = (x0, y0, x1, y1) }
    public var width: Int { x1 - x0 }
    public var height: Int { y1 - y0 }
    public var description: String { "\(width)x\(height)+\(x0)+\(y0)" }
}

public enum MaskedArea {
    /// get_crop_region(mask, width, height, pad): the bounding box of the
    /// nonzero pixels, `pad` pixels wider on each side (clipped to the image), then grown along one
    /// axis to width:height, shifted back inside the image where it overhangs. Several disjoint
    /// regions get one box around all of them. nil when nothing is masked (diffusers divides by zero).
    public static func cropRegion(mask: Mask, width: Int, height: Int, pad: Int) -> CropBox? {
        let h = mask.height, w = mask.width
        var left = w, right = -1, top = h, bottom = -1
        mask.values.withUnsafeBufferPointer { p in
            for y in 0..<h {
                var x = 0
                while x < w && p[y * w + x] == 0 { x += 1 }
                if x == w { continue }
                var last = w - 1
                while p[y * w + last] == 0 { last -= 1 }
                left = min(left, x); right = max(right, last); top = min(top, y); bottom = y
            }
        }
        if right < 0 { return nil }
        var x1 = max(left - pad, 0), y1 = max(top - pad, 0)
        var x2 = min(right + 1 + pad, w), y2 = min(bottom + 1 + pad, h)
        // Float division and int() truncation toward zero, as the Python does.
        let ratioCrop = Double(x2 - x1) / Double(y2 - y1), ratio = Double(width) / Double(height)
        if ratioCrop > ratio {
            let diff = Int(Double(x2 - x1) / ratio - Double(y2 - y1))
            y1 -= diff / 2
            y2 += diff - diff / 2
            if y2 >= h { y1 -= y2 - h; y2 = h }
            if y1 < 0 { y2 -= y1; y1 = 0 }
            if y2 >= h { y2 = h }
        } else {
            let diff = Int(Double(y2 - y1) * ratio - Double(x2 - x1))
            x1 -= diff / 2
            x2 += diff - diff / 2
            if x2 >= w { x1 -= x2 - w; x2 = w }
            if x1 < 0 { x2 -= x1; x1 = 0 }
            if x2 >= w { x2 = w }
        }
        return CropBox(x0: x1, y0: y1, x1: x2, y1: y2)
    }

    /// The size the crop is processed at: `workSize` on the box's longer side, the other side in the
    /// box's proportion, both rounded to multiples of `multiple` (so no padding is needed). Equals
    /// workSize × workSize·(h/w) when the box has the working aspect, which it has unless it hit the
    /// image's edges; then the box's own aspect is kept instead of diffusers' stretched fill bands.
    public static func workingSize(for box: CropBox, workSize: Int, multiple: Int) -> (width: Int, height: Int) {
        func round(_ v: Double) -> Int { max(multiple, Int((v / Double(multiple)).rounded()) * multiple) }
        if box.width >= box.height {
            return (round(Double(workSize)), round(Double(workSize) * Double(box.height) / Double(box.width)))
        }
        return (round(Double(workSize) * Double(box.width) / Double(box.height)), round(Double(workSize)))
    }
}
