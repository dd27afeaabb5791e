// `sdedit inpaint --lora` with a LoRA made for SD 1.x on the tiny SD 1.x inpainting model, against
// diffusers' StableDiffusionInpaintPipeline after load_lora_weights + fuse_lora(lora_scale=0.8)
// (fixtures/lora/sd1_inpaint.safetensors, scripts/fixtures_lora_sd1.py).
import Foundation
import SDCore
import SDTestSupport
import XCTest

final class LoRAInpaintCLITests: CLITestCase {
    /// The raw pipeline output (--no-composite, the whole 64×64 image at its size, --area whole) is
    /// what diffusers returns for the same request: DDIM, 6 steps, guidance 7.5, strength 1, seed 7.
    func testSD1LoRAOnSD1InpaintingMatchesDiffusers() throws {
        let out = dir + "/lora.png", lora = Fixtures.path("lora/kohya_sd1.safetensors")
        let r = try run(["inpaint", Fixtures.path("lora/inpaint.image.png"), Fixtures.path("lora/inpaint.mask.png"),
                         "a red brick wall", "--model", Fixtures.path("models/tiny-sd1-inpainting"), "--lora", lora + ":0.8",
                         "--scheduler", "ddim", "--steps", "6", "--guidance", "7.5", "--seed", "7", "--precision", "fp32",
                         "--area", "whole", "--no-composite", "-o", out, "-q"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let want = try Fixtures.file("lora/sd1_inpaint.safetensors").tensor("sd1_inpaint_w08.image")
        let got = try ImageIO.read(out)
        assertClose(Tensor(shape: want.shape, storage: got.samples8.map(Float.init)), want, Tolerances.pipelineImage, "CLI sd1_inpaint_w08")
        let text = String(decoding: try Data(contentsOf: URL(fileURLWithPath: out)), as: UTF8.self)
        XCTAssertTrue(text.contains("a red brick wall <lora:kohya_sd1:0.8>"), "parameters lack the LoRA tag")
        XCTAssertTrue(text.contains("Lora hashes: \"kohya_sd1: "), "parameters lack the LoRA hash")
    }
}
