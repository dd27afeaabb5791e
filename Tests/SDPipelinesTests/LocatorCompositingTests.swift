// Model discovery in a Hugging Face cache laid out as huggingface_hub writes it, pickle refusal,
// unusable configs, and the paste-back/padding/mask steps around the pipeline.
import Foundation
import SDCore
import SDModels
import SDPipelines
import SDTestSupport
import XCTest

final class LocatorTests: XCTestCase {
    var tmp: String!
    override func setUpWithError() throws {
        tmp = NSTemporaryDirectory() + "/sdedit-locator-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: tmp) }

    func makeSnapshot(root: String, repo: String, rev: String, ref: Bool) throws -> String {
        let base = "\(root)/models--\(repo.replacingOccurrences(of: "/", with: "--"))"
        let snap = "\(base)/snapshots/\(rev)"
        try FileManager.default.createDirectory(atPath: snap + "/unet", withIntermediateDirectories: true)
        try "{}".write(toFile: snap + "/model_index.json", atomically: true, encoding: .utf8)
        if ref {
            try FileManager.default.createDirectory(atPath: base + "/refs", withIntermediateDirectories: true)
            try rev.write(toFile: base + "/refs/main", atomically: true, encoding: .utf8)
        }
        return snap
    }

    func testHubIDResolvesThroughCacheVariablesInOrder() throws {
        let hubCache = tmp + "/hubcache", hfHome = tmp + "/hfhome"
        let inHome = try makeSnapshot(root: hfHome + "/hub", repo: "stabilityai/sd2", rev: "abc", ref: true)
        var env = ["HF_HOME": hfHome, "HOME": tmp + "/home"]
        XCTAssertEqual(try ModelLocator.resolve("stabilityai/sd2", environment: env), inHome)
        let inCache = try makeSnapshot(root: hubCache, repo: "stabilityai/sd2", rev: "def", ref: false)
        env["HF_HUB_CACHE"] = hubCache
        XCTAssertEqual(try ModelLocator.resolve("stabilityai/sd2", environment: env), inCache)
        XCTAssertEqual(ModelLocator.displayName(inCache), "stabilityai/sd2")
    }

    func testMissingModelListsEveryPlaceTried() throws {
        let env = ["HF_HUB_CACHE": tmp + "/a", "XDG_CACHE_HOME": tmp + "/x", "HOME": tmp + "/h"]
        XCTAssertThrowsError(try ModelLocator.resolve("org/absent", environment: env)) { e in
            guard case let SDError.missingModel(msg) = e else { return XCTFail("\(e)") }
            for place in [tmp + "/a/models--org--absent", tmp + "/x/huggingface/hub/models--org--absent",
                          tmp + "/h/.cache/huggingface/hub/models--org--absent"] {
                XCTAssertTrue(msg.contains(place), "\(msg) should list \(place)")
            }
        }
    }

    func testPickleIsRefusedNotOpened() throws {
        let ckpt = tmp + "/model.ckpt"
        try Data("not even a pickle".utf8).write(to: URL(fileURLWithPath: ckpt))
        XCTAssertThrowsError(try ModelLocator.resolve(ckpt)) { e in XCTAssertTrue("\(e)".contains("pickle")) }
        let folder = tmp + "/unet"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: folder + "/diffusion_pytorch_model.bin"))
        XCTAssertThrowsError(try ModelSource.weightFiles(in: folder, baseNames: ["diffusion_pytorch_model"])) { e in
            XCTAssertTrue("\(e)".contains("pickle"))
        }
    }

    func testAbsurdConfigFailsCleanly() throws {
        let path = tmp + "/config.json"
        try #"{"block_out_channels": [320, 99999999], "down_block_types": ["DownBlock2D","DownBlock2D"], "up_block_types": ["UpBlock2D","UpBlock2D"]}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try UNetConfig(ConfigReader(path: path))) { e in
            XCTAssertTrue("\(e)".contains("block_out_channels") && "\(e)".contains(path), "\(e)")
        }
        try #"{"layers_per_block": "two"}"#.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try VAEConfig(ConfigReader(path: path))) { e in XCTAssertTrue("\(e)".contains("layers_per_block")) }
        try "[1, 2".write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ConfigReader(path: path))
    }

    func testWrongModelKindIsAClearError() throws {
        // The tiny inpainting model's UNet takes 9 channels; a 4-channel config would be refused the same way.
        let model = try StableDiffusionModel(folder: Fixtures.path("models/tiny-sd2-inpainting"))
        XCTAssertNoThrow(try InpaintPipeline(model: model))
        XCTAssertEqual(model.unet.config.inChannels, 9)
    }
}

final class CompositingTests: XCTestCase {
    func testPasteBackKeepsEveryPixelOutsideTheMask() throws {
        let w = 20, h = 12
        let original = Image(width: w, height: h, channels: 3, samples8: (0..<(w * h * 3)).map { UInt8($0 % 256) })
        let generated = Image(width: w, height: h, channels: 3, samples8: Array(repeating: 7, count: w * h * 3))
        let mask = Mask(width: w, height: h) { x, y in x >= 5 && x < 15 && y >= 3 && y < 9 }
        let out = Compositing.composite(original: original, generated: generated, mask: mask, blur: 2)
        for i in 0..<(w * h) where mask.values[i] == 0 {
            for c in 0..<3 { XCTAssertEqual(out.samples8[i * 3 + c], original.samples8[i * 3 + c]) }
        }
        // Deep inside the mask the generated pixels win; at the edge they are blended.
        let centre = (6 * w + 10) * 3, edge = (3 * w + 5) * 3
        XCTAssertLessThanOrEqual(abs(Int(out.samples8[centre]) - 7), 20)
        XCTAssertNotEqual(out.samples8[edge], generated.samples8[edge])
        let hard = Compositing.composite(original: original, generated: generated, mask: mask, blur: 0)
        XCTAssertEqual(hard.samples8[edge], 7)
    }

    func testPadAndCropRoundTrip() {
        let im = Image(width: 13, height: 9, channels: 3, samples8: (0..<(13 * 9 * 3)).map { UInt8($0 % 251) })
        let p = Compositing.padToMultiple(im, 8)
        XCTAssertEqual([p.width, p.height], [16, 16])
        XCTAssertEqual(p.samples8[(15 * 16 + 15) * 3], im.samples8[(8 * 13 + 12) * 3])   // edge replicated
        XCTAssertEqual(p.cropped(width: 13, height: 9), im)
        let m = Mask(width: 13, height: 9) { _, _ in true }.padded(right: 3, bottom: 7)
        XCTAssertEqual([m.width, m.height], [16, 16])
        XCTAssertEqual(m.values[8 * 16 + 12], 1)
        XCTAssertEqual(m.values[15 * 16 + 15], 0)   // padding is "keep"
        XCTAssertEqual(m.tensor().shape, [1, 1, 16, 16])
    }

    func testMaskBinarisationChannelsAndInversion() throws {
        // RGB luma (Pillow's integer formula) thresholded at 0.5; alpha channel; inversion.
        let rgb = Image(width: 3, height: 1, channels: 3, samples8: [255, 255, 255, 128, 128, 128, 127, 127, 127])
        XCTAssertEqual(try MaskPreparation.binaryMask(rgb).storage, [1, 1, 0])
        XCTAssertEqual(try MaskPreparation.binaryMask(rgb, invert: true).storage, [0, 0, 1])
        let rgba = Image(width: 2, height: 1, channels: 4, samples8: [0, 0, 0, 255, 255, 255, 255, 0])
        XCTAssertEqual(try MaskPreparation.binaryMask(rgba, channel: .alpha).storage, [1, 0])
        XCTAssertThrowsError(try MaskPreparation.binaryMask(rgb, channel: .alpha))
        let deep = Image(width: 2, height: 1, channels: 1, samples16: [65535, 1000])
        XCTAssertEqual(try MaskPreparation.binaryMask(deep).storage, [1, 0])
    }
}
