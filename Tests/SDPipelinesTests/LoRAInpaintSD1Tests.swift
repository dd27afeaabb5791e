// A LoRA made for SD 1.x on its 9-channel inpainting model (issue 20's "Done when"). Fixtures:
// scripts/make_fixtures.py lorasd1 (scripts/fixtures_lora_sd1.py) → fixtures/models/tiny-sd1-inpainting
// (tiny-sd1 with conv_in widened to 9 channels), fixtures/lora/kohya_sd1.safetensors (kohya LoRA + LoCon
// made on tiny-sd1, no conv_in module) and fixtures/lora/sd1_inpaint.safetensors (diffusers
// StableDiffusionInpaintPipeline after load_lora_weights + fuse_lora(lora_scale=0.8)).
import Foundation
import SDCore
import SDModels
import SDPipelines
import SDTestSupport
import XCTest

final class LoRAInpaintSD1Tests: XCTestCase {
    let model = Fixtures.path("models/tiny-sd1-inpainting")
    let lora = Fixtures.path("lora/kohya_sd1.safetensors")

    /// The fixture's request: DDIM, 6 steps, guidance 7.5, strength 1, seed 7, 64×64.
    func latents(_ source: ModelSource) throws -> (Tensor, Image) {
        let model = try StableDiffusionModel(source: source)
        let pipe = try InpaintPipeline(model: model)
        let image = try ImageIO.read(Fixtures.path("lora/inpaint.image.png")).rgb8()
        let mask = try MaskPreparation.binaryMask(ImageIO.read(Fixtures.path("lora/inpaint.mask.png")))
        var r = InpaintRequest(prompt: "a red brick wall", strength: 1.0)
        (r.steps, r.guidance, r.seed, r.scheduler) = (6, 7.5, 7, .ddim)
        let latents = try pipe.latents(image: image.toTensor(), mask: mask, r)
        return (latents, Image(tensor: try model.decodeLatents(latents)))
    }

    /// Every module of the SD 1.x file merges into the inpainting model (conv_in, the one weight whose
    /// shape differs, is not in it), and the pipeline matches diffusers' fused run.
    func testSD1LoRAOnSD1InpaintingMatchesDiffusers() throws {
        let s = ModelSource(folder: model)
        try s.addLoRAs([LoRASpec(path: lora, weight: 0.8)])
        let unet = try s.unetWeights(UNetConfig(s.config("unet")))
        let te = try s.textEncoderWeights(CLIPTextConfig(s.config("text_encoder")))
        let modules = Set(try SafetensorsFile(path: lora).keys.map { String($0.split(separator: ".")[0]) })
        XCTAssertEqual(unet.mergedKeys.count + te.mergedKeys.count, modules.count)
        XCTAssertGreaterThan(te.mergedKeys.count, 0)
        XCTAssertFalse(unet.hasDelta("conv_in.weight"))
        XCTAssertEqual(try UNetConfig(s.config("unet")).inChannels, 9)

        let golden = try Fixtures.file("lora/sd1_inpaint.safetensors")
        let (latents, out) = try latents(s)
        let wantLatents = try golden.tensor("sd1_inpaint_w08.latents"), want = try golden.tensor("sd1_inpaint_w08.image")
        let got = Tensor(shape: want.shape, storage: out.samples8.map(Float.init))
        print("lora sd1_inpaint_w08: latents max \(compare(latents, wantLatents, Tolerances.exact).maxAbs), image max "
              + "\(compare(got, want, Tolerances.exact).maxAbs) grey levels")
        assertClose(latents, wantLatents, Tolerances.pipelineLatents, "sd1_inpaint_w08 latents")
        assertClose(got, want, Tolerances.pipelineImage, "sd1_inpaint_w08 image")

        // The LoRA matters: without it the same request lands far from the golden.
        let plain = try self.latents(ModelSource(folder: model)).0
        let d = compare(plain, wantLatents, Tolerances.exact).maxAbs
        XCTAssertGreaterThan(d, 0.05, "the LoRA changes the latents by only \(d)")
    }

    /// A base-model LoRA that trained conv_in (conv_in_sd1.safetensors): its 4-channel update is
    /// zero-padded to the inpainting conv_in's 9 input channels, as A1111 merges it (diffusers refuses
    /// the file); expected weights from the fixture script, the mask and masked-image channels unchanged.
    func testConvInUpdateIsPaddedLikeA1111() throws {
        let s = ModelSource(folder: model)
        try s.addLoRAs([LoRASpec(path: Fixtures.path("lora/conv_in_sd1.safetensors"), weight: 0.8)])
        let unet = try s.unetWeights(UNetConfig(s.config("unet")))
        let expected = try Fixtures.file("lora/sd1_inpaint.safetensors")
        var checked = 0
        for key in expected.keys where key.hasPrefix("conv_in_w08|") {
            let name = String(key.split(separator: "|")[2])
            XCTAssertTrue(unet.hasDelta(name), "\(name) has no LoRA update")
            assertClose(try unet.load(name, shape: nil), try expected.tensor(key), Tolerances.loraMerge, key)
            checked += 1
        }
        XCTAssertEqual(checked, 2)
        let plain = ModelSource(folder: model)
        let base = try plain.unetWeights(UNetConfig(plain.config("unet"))).load("conv_in.weight", shape: nil)
        let merged = try unet.load("conv_in.weight", shape: nil)
        XCTAssertEqual(base.shape, [16, 9, 3, 3])
        var changed = 0
        for i in 0..<base.count {
            if (i / 9) % 9 >= 4 { XCTAssertEqual(merged.storage[i], base.storage[i], "channel \((i / 9) % 9) changed") }
            else if merged.storage[i] != base.storage[i] { changed += 1 }
        }
        XCTAssertGreaterThan(changed, 0)
        _ = try InpaintPipeline(model: StableDiffusionModel(source: s))
    }
}
