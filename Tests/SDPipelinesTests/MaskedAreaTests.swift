// Inpainting around the mask: the crop box against diffusers' get_crop_region
// (scripts/make_fixtures.py crop → fixtures/inpaint/crop_regions.json), the working size, mask
// grow/shrink on known masks, and the image-level recipe on the tiny model: a crop run leaves every
// pixel outside the (grown) mask bit-identical and equals the pipeline run on that crop.
import Foundation
import SDCore
import SDModels
import SDPipelines
import SDTestSupport
import XCTest

final class MaskedAreaTests: XCTestCase {
    struct Case: Decodable { let width: Int, height: Int, rects: [[Int]], work: [Int], pad: Int, box: [Int] }

    func mask(_ w: Int, _ h: Int, _ rects: [[Int]]) -> Mask {
        Mask(width: w, height: h) { x, y in rects.contains { r in x >= r[0] && x < r[2] && y >= r[1] && y < r[3] } }
    }

    func testCropRegionIsDiffusers() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("inpaint/crop_regions.json")))
        let cases = try JSONDecoder().decode([Case].self, from: data)
        XCTAssertGreaterThan(cases.count, 200)
        for c in cases {
            let box = MaskedArea.cropRegion(mask: mask(c.width, c.height, c.rects), width: c.work[0], height: c.work[1], pad: c.pad)
            XCTAssertEqual(box, CropBox(x0: c.box[0], y0: c.box[1], x1: c.box[2], y1: c.box[3]),
                           "\(c.width)x\(c.height) rects \(c.rects) work \(c.work) pad \(c.pad)")
        }
        XCTAssertNil(MaskedArea.cropRegion(mask: mask(40, 30, []), width: 512, height: 512, pad: 32), "empty mask")
    }

    func testWorkingSizeKeepsTheBoxAspectOnMultiples() {
        let s = MaskedArea.workingSize(for: CropBox(x0: 0, y0: 0, x1: 300, y1: 300), workSize: 512, multiple: 8)
        XCTAssertEqual([s.width, s.height], [512, 512])
        let wide = MaskedArea.workingSize(for: CropBox(x0: 10, y0: 0, x1: 910, y1: 600), workSize: 512, multiple: 8)
        XCTAssertEqual([wide.width, wide.height], [512, 344])    // 512·600/900 = 341.3 → 344
        let tall = MaskedArea.workingSize(for: CropBox(x0: 0, y0: 0, x1: 5, y1: 3000), workSize: 512, multiple: 8)
        XCTAssertEqual([tall.width, tall.height], [8, 512])      // never below one multiple
    }

    func testGrowAndShrinkKnownMasks() {
        let square = mask(12, 10, [[4, 3, 7, 6]])                 // 3×3 at (4, 3)
        let grown = square.grown(by: 2)
        XCTAssertEqual(grown, mask(12, 10, [[2, 1, 9, 8]]), "dilation by 2 = 7×7")
        XCTAssertEqual(square.grown(by: -1), mask(12, 10, [[5, 4, 6, 5]]), "erosion by 1 = centre")
        XCTAssertTrue(square.grown(by: -2).isEmpty, "erosion by 2 removes it")
        // A mask on the border stays on it when shrunk (the window is clipped at the edges).
        let edge = mask(12, 10, [[0, 0, 4, 10]])
        XCTAssertEqual(edge.grown(by: -1), mask(12, 10, [[0, 0, 3, 10]]))
        XCTAssertEqual(edge.grown(by: 3), mask(12, 10, [[0, 0, 7, 10]]))
        XCTAssertEqual(square.grown(by: 0), square)
    }

    /// On the tiny model with a forced small working size: the crop run changes nothing outside the
    /// mask, and its pixels inside the box are the tensor pipeline's output on the resized crop.
    func testCropRunLeavesOutsidePixelsAndEqualsThePipelineOnTheCrop() throws {
        let model = try StableDiffusionModel(folder: Fixtures.path("models/tiny-sd2-inpainting"))
        let pipe = try InpaintPipeline(model: model)
        let g = TorchGenerator(seed: 5)
        let (w, h) = (150, 110)
        let original = Image(tensor: g.rand([1, 3, h, w]) * 2 - 1)
        let m = mask(w, h, [[90, 60, 110, 75]])
        var r = InpaintRequest(prompt: "a cat", strength: 1)
        r.steps = 3
        r.seed = 7
        var o = InpaintImageOptions()
        o.area = .masked
        o.workSize = 64
        o.padding = 8
        o.maskGrow = 2
        o.maskBlur = 2
        let result = try pipe(image: original, mask: m, r, options: o)
        let grownMask = m.grown(by: 2)
        let box = try XCTUnwrap(result.box)
        XCTAssertEqual(box, MaskedArea.cropRegion(mask: grownMask, width: 64, height: 64, pad: 8))
        XCTAssertEqual([result.image.width, result.image.height], [w, h])
        var changedInside = 0
        for i in 0..<(w * h) {
            let same = (0..<3).allSatisfy { result.image.samples8[i * 3 + $0] == original.samples8[i * 3 + $0] }
            if grownMask.values[i] == 0 { XCTAssertTrue(same, "pixel \(i % w),\(i / w) outside the mask changed") } else if !same { changedInside += 1 }
        }
        XCTAssertGreaterThan(changedInside, 0, "nothing was painted")
        // Without the paste-back, the box holds the pipeline's output on the resized crop (the mask's
        // crop resized as a 0/255 image with Pillow LANCZOS and binarised again, spelled out here).
        o.composite = false
        let raw = try pipe(image: original, mask: m, r, options: o)
        let (ww, wh) = (raw.workWidth, raw.workHeight)
        let crop = original.cropped(x: box.x0, y: box.y0, width: box.width, height: box.height).pillowResized(width: ww, height: wh, filter: .lanczos)
        let cropMask = try MaskPreparation.binaryMask(Image(width: box.width, height: box.height, channels: 1,
            samples8: grownMask.cropped(x: box.x0, y: box.y0, width: box.width, height: box.height).values.map { $0 != 0 ? 255 : 0 }).pillowResized(width: ww, height: wh, filter: .lanczos))
        let direct = Image(tensor: try pipe(image: crop.toTensor(), mask: cropMask, r)).pillowResized(width: box.width, height: box.height, filter: .lanczos)
        XCTAssertEqual(raw.image.cropped(x: box.x0, y: box.y0, width: box.width, height: box.height).samples8, direct.samples8)
    }

    /// Outpaint canvas: the image at (left, top), edge pixels repeated outward, the mask = new area
    /// plus the overlap along extended sides only.
    func testOutpaintCanvasAndMask() {
        let im = Image(width: 3, height: 2, channels: 1, samples8: [1, 2, 3, 4, 5, 6])
        let (c, m) = Outpainting.canvas(im, extend: Extension(left: 2, top: 1, right: 0, bottom: 0), overlap: 1)
        XCTAssertEqual([c.width, c.height], [5, 3])
        XCTAssertEqual(c.samples8, [1, 1, 1, 2, 3,
                                   1, 1, 1, 2, 3,
                                   4, 4, 4, 5, 6])
        XCTAssertEqual(m.values, [1, 1, 1, 1, 1,
                                   1, 1, 1, 1, 1,
                                   1, 1, 1, 0, 0])   // row 1 is the top overlap, column 2 the left one
    }

    /// The whole crop path against diffusers' own padding_mask_crop run (get_crop_region, crop and
    /// LANCZOS resize to the working size, inpaint, resize back, apply_overlay), on images larger than
    /// the working size, with a hard paste-back (--mask-blur 0), as apply_overlay pastes.
    func testMaskedAreaMatchesDiffusersPaddingMaskCrop() throws {
        struct CropCase: Decodable { let name: String, width: Int, height: Int, padding: Int, work: Int, steps: Int, seed: Int }
        let cases = try JSONDecoder().decode([CropCase].self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("inpaint/crop_cases.json"))))
        let golden = try Fixtures.file("inpaint/crop_pipeline.safetensors")
        let pipe = try InpaintPipeline(model: StableDiffusionModel(folder: Fixtures.path("models/tiny-sd2-inpainting")))
        XCTAssertEqual(cases.count, 2)
        for c in cases {
            let image = try ImageIO.read(Fixtures.path("inpaint/\(c.name).image.png")).rgb8()
            let mask = try Mask(binarising: ImageIO.read(Fixtures.path("inpaint/\(c.name).mask.png")))
            var r = InpaintRequest(prompt: "a red brick wall", strength: 1)
            r.steps = c.steps
            r.seed = UInt64(c.seed)
            var o = InpaintImageOptions()
            o.area = .masked
            o.padding = c.padding
            o.workSize = c.work
            o.maskBlur = 0
            let result = try pipe(image: image, mask: mask, r, options: o)
            let box = try XCTUnwrap(result.box)
            XCTAssertEqual([box.x0, box.y0, box.x1, box.y1].map(Float.init),
                           try golden.tensor("\(c.name).box").storage, "\(c.name) crop box")
            let want = try golden.tensor("\(c.name).image")
            let got = Tensor(shape: want.shape, storage: result.image.samples8.map(Float.init))
            let d = zip(got.storage, want.storage).map { abs($0 - $1) }
            print("crop \(c.name): max \(d.max()!) mean \(d.reduce(0, +) / Float(d.count)) grey levels")
            assertClose(got, want, Tolerances.pipelineImage, "\(c.name) image")
        }
    }
}
