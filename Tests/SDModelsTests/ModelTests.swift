// Tokenizer, CLIP text model, VAE and UNet against transformers/diffusers on the tiny random model.
// Fixtures: scripts/make_fixtures.py inpaint → fixtures/inpaint/components.safetensors and
// fixtures/models/tiny-sd2-inpainting (the model is also the README's demo model).
import Foundation
import SDCore
import SDModels
import SDTestSupport
import XCTest

final class ModelTests: XCTestCase {
    let model = Fixtures.path("models/tiny-sd2-inpainting")
    var f: SafetensorsFile!
    override func setUpWithError() throws { f = try Fixtures.file("inpaint/components.safetensors") }

    func ids(_ t: Tensor) -> [[Int]] {
        (0..<t.dim(0)).map { i in (0..<t.dim(1)).map { Int(t.storage[i * t.dim(1) + $0]) } }
    }

    func testTokenizerMatchesTransformers() throws {
        let tok = try CLIPTokenizer(folder: model + "/tokenizer")
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("inpaint/prompts.json")))
        let prompts = try JSONSerialization.jsonObject(with: data) as! [String]
        let want = ids(try f.tensor("tokenizer.ids"))
        XCTAssertGreaterThanOrEqual(prompts.count, 20)
        for (p, w) in zip(prompts, want) { XCTAssertEqual(tok.encode(p), w, "prompt: \(p)") }
        XCTAssertEqual(tok.padID, 0)
    }

    /// BPE where merges compete and overlap (the tokenizers backend's heap order decides), and a
    /// 3000-letter word, against transformers.
    func testBPEEdgeCasesMatchTransformers() throws {
        let tok = try CLIPTokenizer(folder: model + "/tokenizer")
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("inpaint/bpe_cases.json")))
        let cases = try JSONSerialization.jsonObject(with: data) as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(cases.count, 300)
        var wrong = 0
        for c in cases where tok.encode(c["prompt"] as! String) != c["ids"] as! [Int] { wrong += 1 }
        XCTAssertEqual(wrong, 0, "\(wrong) of \(cases.count) prompts tokenise differently from transformers")
    }

    func testTextEncoder() throws {
        let te = try ModelSource(folder: model).loadTextEncoder()
        assertClose(te(ids(try f.tensor("text.ids"))), try f.tensor("text.hidden"), Tolerances.model, "text encoder")
    }

    func testVAE() throws {
        let vae = try ModelSource(folder: model).loadVAE()
        let post = vae.encode(try f.tensor("vae.x"))
        assertClose(post.mean, try f.tensor("vae.mean"), Tolerances.model, "posterior mean")
        assertClose(post.std, try f.tensor("vae.std"), Tolerances.model, "posterior std")
        assertClose(post.sample(TorchGenerator(seed: 5)), try f.tensor("vae.sample_seed5"), Tolerances.model, "posterior sample")
        assertClose(vae.decode(try f.tensor("vae.z")), try f.tensor("vae.decoded"), Tolerances.model, "decode")
    }

    func testUNet() throws {
        let unet = try ModelSource(folder: model).loadUNet()
        let s = try f.tensor("unet.sample"), c = try f.tensor("unet.context")
        assertClose(unet(s, timestep: 981, context: c), try f.tensor("unet.out_t981"), Tolerances.model, "unet t=981")
        assertClose(unet(s, timestep: 978.6122436523438, context: c), try f.tensor("unet.out_t978f"), Tolerances.model, "unet t=978.61")
        // Latent 9×7: not divisible by the UNet's downsampling; upsamplers follow the skips' sizes.
        assertClose(unet(try f.tensor("unet.odd"), timestep: 500, context: c.narrowed(dim: 0, start: 0, length: 1)),
                    try f.tensor("unet.out_odd"), Tolerances.model, "unet odd size")
    }
}
