// The depth single file's own MiDaS (512-depth-ema's depth_model.model.*, MiDaS/timm names): the
// tiny depth model's DPT re-saved under those names by scripts/fixtures_midas.py (checked there
// through transformers' convert_dpt_hybrid_to_pytorch.py and timm) must give the folder's depth map
// exactly; at real size, every key of the Intel/dpt-hybrid-midas layout (fixtures/depth/midas_keys.json,
// from transformers) must map to the transformers keys the conversion gives, and the built-in config
// must be that model's. A depth file without depth_model.* keeps needing --config or --depth-map.
import Foundation
import SDCore
@testable import SDModels
import SDPipelines
import SDTestSupport
import XCTest

final class MiDaSSingleFileTests: XCTestCase {
    let file = Fixtures.path("models/single/tiny-sd2-depth.safetensors")
    let folder = Fixtures.path("models/tiny-sd2-depth")
    var dir: String!
    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "/sdedit-midas-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// A config folder of the depth model whose depth_estimator/ holds config.json only (or nothing,
    /// `dptConfig` false): the weights can then only come from the single file.
    func configFolder(dptConfig: Bool) throws -> String {
        let fm = FileManager.default, root = dir + "/config-\(UUID().uuidString)"
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        for part in ["unet", "vae", "text_encoder", "tokenizer", "scheduler", "feature_extractor", "model_index.json"] {
            try fm.createSymbolicLink(atPath: root + "/" + part, withDestinationPath: folder + "/" + part)
        }
        if dptConfig {
            try fm.createDirectory(atPath: root + "/depth_estimator", withIntermediateDirectories: true)
            try fm.createSymbolicLink(atPath: root + "/depth_estimator/config.json", withDestinationPath: folder + "/depth_estimator/config.json")
        }
        return root
    }

    /// The single file with `edit` applied to its tensors.
    func rewritten(_ edit: (inout [String: Tensor]) -> Void) throws -> String { try rewrittenSafetensors(file, in: dir, edit) }

    func testFileMiDaSGivesTheFoldersDepth() throws {
        let checkpoint = try SingleFileCheckpoint(path: file)
        XCTAssertTrue(checkpoint.hasDepthModel)
        XCTAssertTrue(checkpoint.has("depth_model.model.pretrained.model.blocks.0.attn.qkv.weight"))
        XCTAssertTrue(checkpoint.has("depth_model.model.pretrained.model.head.weight"))
        let image = Image(width: 90, height: 70, channels: 3, samples8: (0..<(90 * 70 * 3)).map { UInt8(($0 * 37) % 256) })
        let want = try DepthEstimator(folder: folder)(image)
        let source = try ModelSource(singleFile: file, configFolder: configFolder(dptConfig: true))
        XCTAssertTrue(source.has("depth_estimator") && source.has("feature_extractor"))
        XCTAssertEqual(try DepthEstimator(source: source)(image), want, "depth from the file's MiDaS")
        // A --config folder's own depth_estimator/ weights are not read: the file's MiDaS is the model's.
        let cfg = try configFolder(dptConfig: true)
        try writeSafetensors(["unrelated": Tensor(zeros: [1])], to: cfg + "/depth_estimator/model.safetensors")
        XCTAssertEqual(try DepthEstimator(source: ModelSource(singleFile: file, configFolder: cfg))(image), want)
        XCTAssertEqual(try DepthEstimator(source: ModelSource(singleFile: file, configFolder: folder))(image), want)
        XCTAssertTrue(source.summary.contains("MiDaS DPT-hybrid depth estimator"), source.summary)
    }

    /// Without a depth_estimator/config.json the built-in (real-size) config applies: the tiny file
    /// fails on a weight, naming the file's key and both shapes.
    func testBuiltinDPTConfigRefusesTinyWeights() throws {
        for config in [nil, try configFolder(dptConfig: false)] {
            let source = try ModelSource(singleFile: file, configFolder: config)
            XCTAssertTrue(source.has("depth_estimator"))
            XCTAssertEqual(try source.config("depth_estimator").path, "built-in stable-diffusion-2-depth depth_estimator config")
            XCTAssertThrowsError(try DepthEstimator(source: source)) { e in
                XCTAssertTrue(e is SDError && "\(e)".contains("depth_model.model.") && "\(e)".contains("expected"), "\(e)")
            }
        }
    }

    func testDepthFileWithoutMiDaSNeedsAFolder() throws {
        let bare = try rewritten { t in for k in t.keys where k.hasPrefix("depth_model.") { t[k] = nil } }
        let checkpoint = try SingleFileCheckpoint(path: bare)
        XCTAssertFalse(checkpoint.hasDepthModel)
        for config in [nil, try configFolder(dptConfig: false)] {
            let source = try ModelSource(singleFile: bare, configFolder: config)
            XCTAssertFalse(source.has("depth_estimator"))
            XCTAssertThrowsError(try DepthEstimator(source: source)) { e in
                XCTAssertTrue("\(e)".contains("--config") && "\(e)".contains("--depth-map"), "\(e)")
            }
        }
        // With the folder as --config, its depth_estimator/ is read.
        let image = Image(width: 40, height: 30, channels: 3, samples8: (0..<3600).map { UInt8(($0 * 11) % 256) })
        XCTAssertEqual(try DepthEstimator(source: ModelSource(singleFile: bare, configFolder: folder))(image),
                       try DepthEstimator(folder: folder)(image))
    }

    func testBrokenMiDaSKeysFailStrictly() throws {
        let cfg = try configFolder(dptConfig: true)
        func fails(_ edit: (inout [String: Tensor]) -> Void, _ needles: [String], line: UInt = #line) throws {
            let path = try rewritten(edit)
            XCTAssertThrowsError(try DepthEstimator(source: ModelSource(singleFile: path, configFolder: cfg)), line: line) { e in
                for n in needles + [path] { XCTAssertTrue("\(e)".contains(n), "\(e) should mention \(n)", line: line) }
            }
        }
        let qkv = "depth_model.model.pretrained.model.blocks.1.attn.qkv.weight"
        try fails({ $0[qkv] = nil }, ["missing weight dpt.encoder.layer.1.attention.attention.query.weight"])
        try fails({ $0[qkv] = Tensor(zeros: [95, 32]) }, [qkv, "cannot be read as"])
        try fails({ $0["depth_model.model.scratch.refinenet5.out_conv.weight"] = Tensor(zeros: [2]) },
                  ["under depth_model.model.", "scratch.refinenet5.out_conv.weight"])
        try fails({ $0["depth_model.model.pretrained.model.blocks.01.norm1.weight"] = Tensor(zeros: [32]) },
                  ["pretrained.model.blocks.01.norm1.weight"])
        // A block past the config's layers is read by no layer.
        try fails({ t in
            for (k, v) in t where k.hasPrefix("depth_model.model.pretrained.model.blocks.4.") {
                t[k.replacingOccurrences(of: "blocks.4.", with: "blocks.9.")] = v
            }
        }, ["not used", "pretrained.model.blocks.9."])
        // depth_model.* outside depth_model.model. belongs to no component.
        XCTAssertThrowsError(try SingleFileCheckpoint(path: try rewritten { $0["depth_model.extra"] = Tensor(zeros: [1]) })) { e in
            XCTAssertTrue("\(e)".contains("belong to no component") && "\(e)".contains("depth_model.extra"), "\(e)")
        }
    }

    /// Every key of the real MiDaS DPT-hybrid (names and shapes from transformers' model at the
    /// Intel/dpt-hybrid-midas config, fixtures_midas.py) maps to the transformers keys the
    /// conversion gives, with shapes that fit; the built-in config is that model's.
    func testRealSizeKeyTableAndConfig() throws {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("depth/midas_keys.json"))))
        let root = try XCTUnwrap(json as? [String: Any])
        let keys = try XCTUnwrap(root["keys"] as? [String: [String: Any]])
        XCTAssertEqual(keys.count, 368)
        var mapped = 0
        for (name, entry) in keys {
            let want = try XCTUnwrap(entry["transformers"] as? [String]), shape = try XCTUnwrap(entry["shape"] as? [Int])
            let got = try XCTUnwrap(KeyTables.midas(name), name)
            XCTAssertEqual(got.map(\.key), want, name)
            for (i, m) in got.enumerated() {
                XCTAssertEqual(m.transform, want.count == 3 ? .rows(part: i, of: 3) : .none, name)
                XCTAssertNotNil(m.transform.shape(shape), name)
            }
            mapped += got.count
        }
        XCTAssertEqual(mapped, 414)
        let reference = try DPTConfig(ConfigReader(dict: try XCTUnwrap(root["config"] as? [String: Any]), path: "midas_keys.json"))
        let builtin = try DPTConfig(XCTUnwrap(CheckpointFamily.sd2Depth.config("depth_estimator")))
        do {
            let a = reference, b = builtin
            XCTAssertEqual([a.hiddenSize, a.layers, a.heads, a.intermediateSize, a.imageSize, a.patchSize, a.fusionHiddenSize],
                           [b.hiddenSize, b.layers, b.heads, b.intermediateSize, b.imageSize, b.patchSize, b.fusionHiddenSize])
            XCTAssertEqual([a.outLayers, a.reassembleStrides, a.neckHiddenSizes], [b.outLayers, b.reassembleStrides, b.neckHiddenSizes])
            XCTAssertEqual(a.layerNormEps, b.layerNormEps)
            XCTAssertEqual(a.qkvBias, b.qkvBias)
            XCTAssertEqual([a.backbone.stageChannels, a.backbone.depths], [b.backbone.stageChannels, b.backbone.depths])
            XCTAssertEqual([a.backbone.numChannels, a.backbone.embeddingSize, a.backbone.numGroups],
                           [b.backbone.numChannels, b.backbone.embeddingSize, b.backbone.numGroups])
            XCTAssertEqual(a.backbone.dynamicPoolPadding, b.backbone.dynamicPoolPadding)
        }
        XCTAssertEqual(builtin.outLayers, [8, 11])
        XCTAssertEqual(builtin.backbone.depths, [3, 4, 9])
        let processor = try DPTImageProcessor(XCTUnwrap(CheckpointFamily.sd2Depth.config("feature_extractor")))
        XCTAssertEqual([processor.width, processor.height], [384, 384])
        XCTAssertNil(CheckpointFamily.sd2Inpainting.config("depth_estimator"))
        // Names no MiDaS file has are unknown (strict loading reports them), not silently aliased.
        for bad in ["pretrained.model.blocks.+1.norm1.weight", "scratch.layer0_rn.weight", "scratch.refinenet0.out_conv.weight",
                    "pretrained.act_postprocess5.3.weight", "pretrained.model.patch_embed.backbone.stages.x.blocks.0.conv1.weight",
                    "pretrained.model.blocks.0.attn.qkv", "scratch", "pretrained.model", "scratch.output_conv.1.weight"] {
            XCTAssertNil(KeyTables.midas(bad), bad)
        }
    }
}
