// Finding a component's files in a diffusers folder: config.json plus weights as
// <name>.safetensors, <name>.fp16.safetensors (fp16 variant, converted to float32 on load) or sharded
// <name>-0000x-of-0000y.safetensors. Pickle files (.bin/.ckpt) are never opened: they can run code.
import Foundation
import SDCore

public enum Component {
    /// Weight files of the component in `folder`, preferring full precision.
    public static func weightFiles(in folder: String, baseNames: [String]) throws -> [String] {
        let fm = FileManager.default
        let entries = (try? fm.contentsOfDirectory(atPath: folder)) ?? []
        for base in baseNames {
            for candidate in ["\(base).safetensors", "\(base).fp16.safetensors"] where entries.contains(candidate) {
                return [folder + "/" + candidate]
            }
            let shards = entries.filter { $0.hasPrefix(base + "-") && $0.hasSuffix(".safetensors") && $0.contains("-of-") }.sorted()
            if !shards.isEmpty { return shards.map { folder + "/" + $0 } }
        }
        if let pickle = entries.first(where: { $0.hasSuffix(".bin") || $0.hasSuffix(".ckpt") || $0.hasSuffix(".pt") }) {
            throw SDError.missingModel("\(folder)/\(pickle): pickle checkpoints are refused (loading one can run arbitrary code); "
                + "use the .safetensors files of the same repository, or convert once with "
                + "`python -c \"import torch, safetensors.torch as s; s.save_file(torch.load('F', weights_only=True), 'F.safetensors')\"`")
        }
        throw SDError.missingModel("\(folder): no weights found (looked for \(baseNames.map { $0 + "[.fp16].safetensors" }.joined(separator: ", ")))")
    }

    public static func config(in folder: String, name: String = "config.json") throws -> ConfigReader {
        try ConfigReader(path: folder + "/" + name)
    }

    /// `precision` says how Linear/Conv2d weights are kept (Precision); the rest is always fp32.
    /// `config`: the component's config when the caller already read (and cross-checked) it.
    public static func loadTextEncoder(_ folder: String, config given: CLIPTextConfig? = nil,
                                       precision: Precision = .fp32) throws -> CLIPTextModel {
        let cfg = try given ?? CLIPTextConfig(config(in: folder))
        return try CLIPTextModel(config: cfg, weights: WeightStore(
            files: weightFiles(in: folder, baseNames: ["model"]), name: folder, precision: precision))
    }

    public static func loadVAE(_ folder: String, config given: VAEConfig? = nil, precision: Precision = .fp32) throws -> AutoencoderKL {
        let cfg = try given ?? VAEConfig(config(in: folder))
        return try AutoencoderKL(config: cfg, weights: WeightStore(
            files: weightFiles(in: folder, baseNames: ["diffusion_pytorch_model"]), name: folder, precision: precision))
    }

    public static func loadUNet(_ folder: String, config given: UNetConfig? = nil,
                                precision: Precision = .fp32) throws -> UNet2DConditionModel {
        let cfg = try given ?? UNetConfig(config(in: folder))
        return try UNet2DConditionModel(config: cfg, weights: WeightStore(
            files: weightFiles(in: folder, baseNames: ["diffusion_pytorch_model"]), name: folder, precision: precision))
    }

    public static func loadDPT(_ folder: String, config given: DPTConfig? = nil,
                               precision: Precision = .fp32) throws -> DPTForDepthEstimation {
        let cfg = try given ?? DPTConfig(config(in: folder))
        return try DPTForDepthEstimation(config: cfg, weights: WeightStore(
            files: weightFiles(in: folder, baseNames: ["model"]), name: folder, precision: precision))
    }
}
