// inpaint --fill (A1111's masked content) against a Python twin of A1111's algorithm
// (scripts/fixtures_fill.py): fill()'s Pillow arithmetic pixel for pixel, and the pipeline with each
// mode on the 9-channel inpainting model and the 4-channel SD 2.1-style model, whose goldens are
// diffusers' StableDiffusionInpaintPipeline run on the filled image or with the edited start latents.
// Fixtures: scripts/make_fixtures.py fill → fixtures/fill/.
import Foundation
import SDCore
import SDModels
import SDPipelines
import SDTestSupport
import XCTest

struct FillCase: Decodable {
    let name: String, model: String, scheduler: String
    let width: Int, height: Int, steps: Int, guidance: Double, strength: Double, seed: Int
    let content: String
}

final class MaskedContentTests: XCTestCase {
    func testFillIsA1111sPillowFill() throws {
        let golden = try Fixtures.file("fill/goldens.safetensors")
        for name in ["square", "odd", "edge", "wide_mask"] {
            let image = try ImageIO.read(Fixtures.path("fill/fill_\(name).image.png")).rgb8()
            let mask = try MaskPreparation.binaryMask(ImageIO.read(Fixtures.path("fill/fill_\(name).mask.png")))
            let got = MaskFill.fill(image, mask: mask)
            let want = try golden.tensor("fill_\(name).filled")
            assertClose(Tensor(shape: want.shape, storage: got.samples8.map(Float.init)), want, Tolerances.exact, "fill \(name)")
        }
    }

    func testPipelineModesMatchTheA1111Twin() throws {
        let golden = try Fixtures.file("fill/goldens.safetensors")
        let cases = try JSONDecoder().decode([FillCase].self, from: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("fill/pipeline_cases.json"))))
        XCTAssertEqual(cases.count, 6)
        var pipes: [String: InpaintPipeline] = [:]
        for c in cases {
            let pipe = try pipes[c.model] ?? InpaintPipeline(model: StableDiffusionModel(folder: Fixtures.path("models/\(c.model)")))
            pipes[c.model] = pipe
            let image = try ImageIO.read(Fixtures.path("fill/\(c.name).image.png")).rgb8()
            let mask = try MaskPreparation.binaryMask(ImageIO.read(Fixtures.path("fill/\(c.name).mask.png")))
            var r = InpaintRequest(prompt: "a red brick wall", strength: c.strength)
            r.steps = c.steps
            r.guidance = Float(c.guidance)
            r.seed = UInt64(c.seed)
            r.scheduler = try XCTUnwrap(SchedulerKind(rawValue: c.scheduler))
            let content = try XCTUnwrap(MaskedContent(rawValue: c.content))
            let latents = try pipe.latents(image: image.toTensor(), mask: mask, r, content: content)
            let wantLatents = try golden.tensor("\(c.name).latents")
            assertClose(latents, wantLatents, Tolerances.pipelineLatents, "\(c.name) latents")
            let out = Image(tensor: try pipe.model.decodeLatents(latents))
            let want = try golden.tensor("\(c.name).image")
            let got = Tensor(shape: want.shape, storage: out.samples8.map(Float.init))
            let d = zip(got.storage, want.storage).map { abs($0 - $1) }
            print("fill \(c.name): image max \(d.max()!) mean \(d.reduce(0, +) / Float(d.count)) grey levels, latents max "
                  + "\(compare(latents, wantLatents, Tolerances.exact).maxAbs)")
            assertClose(got, want, Tolerances.pipelineImage, "\(c.name) image")
            let original = try pipe.latents(image: image.toTensor(), mask: mask, r)
            if c.strength == 1 {
                // At strength 1 the start is pure noise: every mode is the original run, bit for bit.
                assertClose(latents, original, Tolerances.exact, "\(c.name) = original")
            } else {
                XCTAssertGreaterThan(compare(latents, original, Tolerances.exact).maxAbs, 0.05, "\(c.name) differs from original")
            }
        }
    }

    func testLatentModesOnlyTouchTheMask() throws {
        let z = Tensor(repeating: 2, shape: [1, 4, 4, 4])
        let mask = Tensor(shape: [1, 1, 32, 32]) { m in for y in 0..<32 { for x in 0..<32 { m[y * 32 + x] = x >= 16 ? 1 : 0 } } }
        let nothing = MaskFill.latentContent(z, mask: mask, .latentNothing, seed: 1)
        let noise = MaskFill.latentContent(z, mask: mask, .latentNoise, seed: 1)
        let fresh = TorchGenerator(seed: 1).randn([1, 4, 4, 4])
        for c in 0..<4 { for y in 0..<4 { for x in 0..<4 {
            let i = (c * 4 + y) * 4 + x
            XCTAssertEqual(nothing.storage[i], x >= 2 ? 0 : 2)
            XCTAssertEqual(noise.storage[i], x >= 2 ? fresh.storage[i] : 2)
        } } }
        XCTAssertEqual(MaskFill.latentContent(z, mask: mask, .fill, seed: 1).storage, z.storage)
    }
}
