// The image-level inpaint recipe (what `sdedit inpaint` runs): the tensor pipeline of
// InpaintPipeline.swift inside diffusers' padding_mask_crop handling
// (StableDiffusionInpaintPipeline.__call__: get_crop_region, crop + resize, apply_overlay), plus
// sdedit's exact-size padding and feathered paste-back for whole-image runs.
import SDCore

public struct InpaintImageOptions: Sendable {
    public var area: InpaintArea = .auto
    /// Pixels added around the mask's box before it is widened to the working aspect.
    public var padding = 32
    /// The working size of a crop (longer side); nil = the model's native size, at least 512.
    public var workSize: Int?
    /// Grow (> 0) or shrink (< 0) the mask by this many pixels before anything else sees it.
    public var maskGrow = 0
    /// Gaussian σ (pixels) of the paste-back feather.
    public var maskBlur: Double = 4
    /// Paste the generated pixels onto the original through the feathered mask.
    public var composite = true
    /// What the masked area holds before denoising (A1111's masked content).
    public var content: MaskedContent = .original
    public init() {}
}

public struct InpaintImageResult {
    public let image: Image
    /// The crop the pipeline ran on (nil: the whole image) and the size it ran at.
    public let box: CropBox?
    public let workWidth: Int, workHeight: Int
}

extension InpaintPipeline {
    /// UNet sample_size × VAE factor (512 for stable-diffusion-2-inpainting), at least 512 so a toy
    /// model's 32 px does not crop every image.
    public var defaultWorkSize: Int { max(512, model.unet.config.sampleSize * model.vaeConfig.scaleFactor) }

    /// Inpaint `mask` (the image's size) in an RGB image.
    public func callAsFunction(image original: Image, mask given: Mask, _ r: InpaintRequest,
                               options o: InpaintImageOptions, progress: Progress? = nil) throws -> InpaintImageResult {
        precondition(given.height == original.height && given.width == original.width, "mask and image sizes differ")
        let f = model.vaeConfig.scaleFactor
        // 1. Grow or shrink the mask; the crop box, the pipeline and the feather all use the result.
        let mask = given.grown(by: o.maskGrow)
        // 2. The area: a crop around the mask, or the whole image (also when nothing is masked).
        let box = cropBox(grownMask: mask, width: original.width, height: original.height, options: o)
        var generated: Image
        let workSize: (Int, Int)
        if let box = box {
            // 3. Crop and resize image and mask to the working size (Pillow LANCZOS, as diffusers'
            //    image and mask processors; the mask is binarised again after resizing).
            workSize = MaskedArea.workingSize(for: box, workSize: o.workSize ?? defaultWorkSize, multiple: f)
            let image = original.cropped(x: box.x0, y: box.y0, width: box.width, height: box.height).pillowResized(width: workSize.0, height: workSize.1, filter: .lanczos)
            let m = mask.cropped(x: box.x0, y: box.y0, width: box.width, height: box.height).resized(width: workSize.0, height: workSize.1)
            // 4. The pipeline on the crop.
            let decoded = try self(image: image.toTensor(), mask: m.tensor(), r, content: o.content, progress: progress)
            // 5. Back to the box's size, over the untouched original.
            let back = Image(tensor: decoded).pillowResized(width: box.width, height: box.height, filter: .lanczos)
            generated = original.pasting(back, x: box.x0, y: box.y0)
        } else {
            // 3. Pad to the VAE multiple (edge pixels; the mask with keep) so the exact size survives.
            let padded = Compositing.padToMultiple(original, f)
            workSize = (padded.width, padded.height)
            let m = mask.padded(right: padded.width - mask.width, bottom: padded.height - mask.height)
            // 4. The pipeline on the whole image; 5. the padding cropped off.
            let decoded = try self(image: padded.toTensor(), mask: m.tensor(), r, content: o.content, progress: progress)
            generated = Image(tensor: decoded).cropped(width: original.width, height: original.height)
        }
        // 6. Paste back through the feathered mask: pixels outside the mask stay the original's.
        if o.composite {
            generated = Compositing.composite(original: original, generated: generated, mask: mask, blur: o.maskBlur)
        }
        return InpaintImageResult(image: generated, box: box, workWidth: workSize.0, workHeight: workSize.1)
    }

    /// Where `callAsFunction` will run for this mask (the crop box, nil = the whole image) and at
    /// which size, so a caller can say so before the run.
    public func area(mask: Mask, options o: InpaintImageOptions) -> (box: CropBox?, width: Int, height: Int) {
        let w = mask.width, h = mask.height, f = model.vaeConfig.scaleFactor
        guard let box = cropBox(grownMask: mask.grown(by: o.maskGrow), width: w, height: h, options: o) else {
            return (nil, (w + f - 1) / f * f, (h + f - 1) / f * f)
        }
        let size = MaskedArea.workingSize(for: box, workSize: o.workSize ?? defaultWorkSize, multiple: f)
        return (box, size.0, size.1)
    }

    /// Step 2: a crop around the (grown) mask when asked for, or when auto and the image is larger
    /// than the working size.
    func cropBox(grownMask mask: Mask, width: Int, height: Int, options o: InpaintImageOptions) -> CropBox? {
        let work = o.workSize ?? defaultWorkSize
        let crop = o.area == .masked || (o.area == .auto && (width > work || height > work))
        return crop ? MaskedArea.cropRegion(mask: mask, width: work, height: work, pad: o.padding) : nil
    }
}
