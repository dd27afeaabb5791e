// Outpainting as inpainting on a larger canvas: the image placed in a canvas grown by (left, top,
// right, bottom) pixels, the new area filled by repeating the nearest edge pixel (a start the VAE
// encodes without hard seams; at strength 1 the 9-channel model never sees it, as the masked area of
// its masked-image input is zeroed), and a mask of the new area plus `overlap` pixels into the image,
// so the seam itself is repainted and feathered.
import SDCore

public struct Extension: Equatable, Sendable {
    public var left: Int, top: Int, right: Int, bottom: Int
    public init(left: Int, top: Int, right: Int, bottom: Int) { (self.left, self.top, self.right, self.bottom) = (left, top, right, bottom) }
}

public enum Outpainting {
    /// The canvas [W + l + r, H + t + b] and its mask (repaint the new area and the overlap).
    public static func canvas(_ im: Image, extend e: Extension, overlap: Int) -> (image: Image, mask: Mask) {
        let canvas = im.edgePadded(left: e.left, top: e.top, right: e.right, bottom: e.bottom)
        let w = canvas.width, h = canvas.height
        // Kept: the original's pixels more than `overlap` inside each extended side.
        let x0 = e.left + (e.left > 0 ? overlap : 0), x1 = e.left + im.width - (e.right > 0 ? overlap : 0)
        let y0 = e.top + (e.top > 0 ? overlap : 0), y1 = e.top + im.height - (e.bottom > 0 ? overlap : 0)
        return (canvas, Mask(width: w, height: h) { x, y in !(x >= x0 && x < x1 && y >= y0 && y < y1) })
    }
}
