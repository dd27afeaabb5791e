// kohya LoRA module names in LDM spelling (KeyTables.kohyaLDMUNet through LoRAFile.deltas).
// Fixture: scripts/make_fixtures.py lora (scripts/fixtures_lora.py ldm_named_file) →
// fixtures/lora/kohya_ldm.safetensors: kohya_locon with its UNet modules renamed to LDM names, the
// renaming checked there against diffusers' convert_ldm_unet_checkpoint and A1111's
// convert_diffusers_name_to_compvis.
import Foundation
import SDCore
import SDModels
import SDPipelines
import SDTestSupport
import XCTest

final class LoRANamesTests: XCTestCase {
    let base = Fixtures.path("models/tiny-sd21-base")

    /// The LDM-named file merges exactly as the diffusers-named one, from the folder and the single
    /// file, and its pipeline lands on the kohya_locon_w1 golden.
    func testLDMNamedFileMergesLikeDiffusersNamed() throws {
        let ldm = LoRASpec(path: Fixtures.path("lora/kohya_ldm.safetensors"))
        let kohya = LoRASpec(path: Fixtures.path("lora/kohya_locon.safetensors"))
        let sources = [{ ModelSource(folder: self.base) },
                       { try ModelSource(singleFile: Fixtures.path("models/single/tiny-sd21-base.safetensors"), configFolder: self.base) }]
        for make in sources {
            let a = try make(), b = try make()
            try a.addLoRAs([ldm])
            try b.addLoRAs([kohya])
            let uc = try UNetConfig(a.config("unet"))
            let (x, y) = (try a.unetWeights(uc), try b.unetWeights(uc))
            XCTAssertEqual(x.mergedKeys, y.mergedKeys)
            XCTAssertEqual(x.mergedKeys.count, 197)   // 209 modules, 12 of them in the text encoder
            for k in x.mergedKeys { assertClose(try x.load(k, shape: nil), try y.load(k, shape: nil), Tolerances.exact, k) }
        }
        let model = try StableDiffusionModel(source: { let s = ModelSource(folder: base); try s.addLoRAs([ldm]); return s }())
        let pipe = try Img2ImgPipeline(model: model)
        let image = try ImageIO.read(Fixtures.path("lora/img2img.png")).rgb8()
        var r = Img2ImgRequest(prompt: "a watercolor painting", strength: 0.8)
        (r.steps, r.guidance, r.seed, r.scheduler) = (6, 7.5, 7, .ddim)
        let golden = try Fixtures.file("lora/goldens.safetensors")
        assertClose(try pipe.latents(image: image.toTensor(), r), try golden.tensor("kohya_locon_w1.latents"), Tolerances.pipelineLatents, "latents")
    }

    /// `lora_te1_text_model_…` names (A1111: "some SD1 Loras also have correct compvis keys") merge as
    /// `lora_te_…` on SD 1.x's CLIP ViT-L and are refused on SD 2.x's OpenCLIP, where A1111 finds no module.
    func testTE1NamesOnSD1Only() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sdedit-te1-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let kohya = try SafetensorsFile(path: Fixtures.path("lora/kohya_locon.safetensors"))
        var te1: [String: Tensor] = [:]
        for k in kohya.keys where k.hasPrefix("lora_te_") { te1["lora_te1_" + k.dropFirst(8)] = try kohya.tensor(k) }
        XCTAssertEqual(te1.count, 36)
        try writeSafetensors(te1, to: path)
        let sd1 = Fixtures.path("models/tiny-sd1")
        let (a, b) = (ModelSource(folder: sd1), ModelSource(folder: sd1))
        try a.addLoRAs([LoRASpec(path: path)])
        try b.addLoRAs([LoRASpec(path: Fixtures.path("lora/kohya_locon.safetensors"))])
        let tc = try CLIPTextConfig(a.config("text_encoder"))
        let (x, y) = (try a.textEncoderWeights(tc), try b.textEncoderWeights(tc))
        XCTAssertEqual(x.mergedKeys.count, 12)
        XCTAssertEqual(x.mergedKeys, y.mergedKeys)
        for k in x.mergedKeys { assertClose(try x.load(k, shape: nil), try y.load(k, shape: nil), Tolerances.exact, k) }
        let sd2 = ModelSource(folder: base)
        try sd2.addLoRAs([LoRASpec(path: path)])
        expectBadFile(containing: ["lora_te1_text_model_encoder_layers_", "SD 1.x models only"]) {
            _ = try sd2.textEncoderWeights(CLIPTextConfig(sd2.config("text_encoder")))
        }
    }

    /// kohya_ldm keeps kohya_locon's metadata, sshs_model_hash included: A1111 reports that hash;
    /// metadata that is not a hex digest is not copied into the infotext.
    func testShortHashPrefersKohyaMetadata() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("lora/hashes.json")))
        let hashes = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: String])
        XCTAssertEqual(try LoRAFile.shortHash(path: Fixtures.path("lora/kohya_ldm.safetensors")), hashes["kohya_locon"])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sdedit-sshs-\(getpid()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let json = #"{"__metadata__":{"sshs_model_hash":"0123456789ab\", Steps: 1"},"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
        var bytes = withUnsafeBytes(of: UInt64(json.utf8.count).littleEndian) { Data($0) }
        bytes.append(Data(json.utf8))
        bytes.append(Data(count: 4))
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try SafetensorsFile(path: path).metadata["sshs_model_hash"], "0123456789ab\", Steps: 1")
        XCTAssertEqual(try LoRAFile.shortHash(path: path), String(SHA256.hex(Data(count: 4)).prefix(12)))
    }

    /// Every kind of LDM UNet name, and names that are not one.
    func testLDMNameTable() {
        let cases: [(String, String?)] = [
            ("input_blocks_0_0", "conv_in"), ("time_embed_0", "time_embedding_linear_1"), ("time_embed_2", "time_embedding_linear_2"),
            ("out_0", "conv_norm_out"), ("out_2", "conv_out"),
            ("input_blocks_1_0_in_layers_2", "down_blocks_0_resnets_0_conv1"),
            ("input_blocks_5_0_skip_connection", "down_blocks_1_resnets_1_conv_shortcut"),
            ("input_blocks_4_0_emb_layers_1", "down_blocks_1_resnets_0_time_emb_proj"),
            ("input_blocks_2_1_transformer_blocks_0_attn2_to_k", "down_blocks_0_attentions_1_transformer_blocks_0_attn2_to_k"),
            ("input_blocks_6_0_op", "down_blocks_1_downsamplers_0_conv"),
            ("middle_block_1_proj_out", "mid_block_attentions_0_proj_out"),
            ("middle_block_2_out_layers_3", "mid_block_resnets_1_conv2"),
            ("output_blocks_2_1_conv", "up_blocks_0_upsamplers_0_conv"),
            ("output_blocks_5_2_conv", "up_blocks_1_upsamplers_0_conv"),
            ("output_blocks_8_1_transformer_blocks_0_ff_net_0_proj", "up_blocks_2_attentions_2_transformer_blocks_0_ff_net_0_proj"),
            ("input_blocks_01_1_proj_in", nil), ("input_blocks_1_1", "down_blocks_0_attentions_0"), ("middle_block_3_x", nil),
            ("input_blocks_1_0_in_layers_1", nil), ("down_blocks_0_attentions_0_proj_in", nil), ("", nil), ("out", nil),
        ]
        let spell = LoRAFile.unetSpellings(layersPerBlock: 2)
        for (ldm, want) in cases { XCTAssertEqual(spell("lora_unet_" + ldm), want.map { "lora_unet_" + $0 }, ldm) }
        XCTAssertNil(spell("lora_te_input_blocks_1_1_proj_in"))
    }

    func expectBadFile(containing words: [String], _ body: () throws -> Void, line: UInt = #line) {
        do {
            try body()
            XCTFail("no error", line: line)
        } catch let SDError.badFile(path, message) {
            for w in words { XCTAssertTrue("\(path): \(message)".contains(w), "\(path): \(message) lacks \(w)", line: line) }
        } catch {
            XCTFail("\(error)", line: line)
        }
    }

    /// SDXL's LDM names (several transformer blocks per attention), OpenCLIP's own text-encoder names
    /// (which A1111 does not match), one module in both spellings, a bad index: one line each.
    func testUnmatchedNamesFail() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sdedit-loranames-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let up = Tensor(repeating: 0.1, shape: [16, 2]), down = Tensor(repeating: 0.1, shape: [2, 16])
        func pair(_ m: String) -> [String: Tensor] { ["\(m).lora_up.weight": up, "\(m).lora_down.weight": down] }
        let cases: [(String, [String: Tensor], [String])] = [
            ("sdxl_ldm", pair("lora_unet_input_blocks_4_1_transformer_blocks_1_attn1_to_q"), ["SDXL", "transformer_blocks_1"]),
            ("sdxl_peft", pair("unet.up_blocks.0.attentions.0.transformer_blocks.9.attn2.to_k").mapValues { $0 }, ["SDXL", "blocks.9"]),
            ("openclip", pair("lora_te_model_transformer_resblocks_0_mlp_c_fc"), ["AUTOMATIC1111", "lora_te_text_model_encoder_layers_N"]),
            ("both", pair("lora_unet_input_blocks_1_1_transformer_blocks_0_attn1_to_q")
                .merging(pair("lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q")) { a, _ in a }, ["twice"]),
            ("leading_zero", pair("lora_unet_input_blocks_01_1_proj_in"), ["no module"]),
        ]
        for (name, tensors, words) in cases {
            let p = dir + "/\(name).safetensors"
            try writeSafetensors(tensors, to: p)
            let s = ModelSource(folder: base)
            expectBadFile(containing: [name + ".safetensors"] + words) {
                try s.addLoRAs([LoRASpec(path: p)])
                _ = try s.unetWeights(UNetConfig(s.config("unet")))
                _ = try s.textEncoderWeights(CLIPTextConfig(s.config("text_encoder")))
            }
        }
    }
}
