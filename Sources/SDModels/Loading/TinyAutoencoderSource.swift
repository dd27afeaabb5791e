// Where a TAESD (AutoencoderTiny) comes from: a diffusers folder (config.json +
// diffusion_pytorch_model[.fp16].safetensors, as madebyollin/taesd on the hub; also a pipeline folder's
// vae/ when that is an AutoencoderTiny), a single diffusers-layout .safetensors, or one of the
// original madebyollin/taesd repository's files (taesd_encoder.safetensors, taesd_decoder.safetensors:
// its taesd.py keeps each half as a bare nn.Sequential, so keys are "N.…" with no prefix, and the
// decoder's index 0 is its Clamp module, one ahead of diffusers' DecoderTiny which clamps in forward).
import Foundation
import SDCore

public enum TinyAutoencoderSource {
    /// The AutoencoderTiny at `path` (folder or file), with whichever halves it holds.
    public static func load(_ path: String, precision: Precision = .fp32) throws -> AutoencoderTiny {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw SDError.missingModel("\(path): TAESD not found (a diffusers AutoencoderTiny folder, or taesd_encoder/"
                                       + "taesd_decoder.safetensors)")
        }
        if isDir.boolValue {
            let fm = FileManager.default
            let folder = fm.fileExists(atPath: path + "/config.json") ? path : path + "/vae"
            guard fm.fileExists(atPath: folder + "/config.json") else {
                throw SDError.missingModel("\(path): no config.json (not a diffusers AutoencoderTiny folder); for madebyollin/taesd's "
                                           + "own files name the file: taesd_encoder.safetensors or taesd_decoder.safetensors")
            }
            let config = try ConfigReader(path: folder + "/config.json")
            let cls = try config.string("_class_name", default: "AutoencoderTiny")
            guard cls == "AutoencoderTiny" else {
                throw SDError.badFile(path: config.path, message: "_class_name \(cls): not a TAESD (AutoencoderTiny)")
            }
            let files = try ModelSource.weightFiles(in: folder, baseNames: ["diffusion_pytorch_model"])
            return try build(AutoencoderTinyConfig(config), store: WeightStore(files: files, name: folder, precision: precision))
        }
        let lower = path.lowercased()
        guard lower.hasSuffix(".safetensors") else {
            throw SDError.missingModel("\(path): TAESD weights must be .safetensors (pickle files are refused)")
        }
        let file = try SafetensorsFile(path: path)
        if file.info("encoder.layers.0.weight") != nil || file.info("decoder.layers.0.weight") != nil {
            let builtin = try AutoencoderTinyConfig(ConfigReader(dict: [:], path: "built-in TAESD config (\(path))"))
            return try build(builtin, store: WeightStore(files: [path], name: path, precision: precision))
        }
        // Original layout: an encoder's first conv is "0" and takes RGB; a decoder's is "1" and takes latents.
        let first = file.info("0.weight")?.shape ?? [], second = file.info("1.weight")?.shape ?? []
        let isEncoder = first.count == 4 && first[1] == 3, isDecoder = first.isEmpty && second.count == 4
        guard isEncoder || isDecoder else {
            throw SDError.badFile(path: path, message: "not a TAESD file (no encoder.layers.0.weight, decoder.layers.0.weight, "
                                  + "0.weight (taesd_encoder) or 1.weight (taesd_decoder))")
        }
        var entries: [String: WeightSource] = [:], last = 0
        for k in file.keys {
            let p = k.split(separator: ".", maxSplits: 1).map(String.init)
            guard p.count == 2, let i = Int(p[0]), i >= (isDecoder ? 1 : 0), i < 1000 else {
                throw SDError.badFile(path: path, message: "key \(k) is not part of a TAESD \(isEncoder ? "encoder" : "decoder")")
            }
            last = max(last, i)
            entries[isEncoder ? "encoder.layers.\(i).\(p[1])" : "decoder.layers.\(i - 1).\(p[1])"] = WeightSource(file, k)
        }
        // No config travels with these files: taesd.py's sizes (AutoencoderTiny's defaults), with the
        // width and latent channels read from the first conv (and the encoder's last).
        let width = isEncoder ? first[0] : second[0]
        let latents = isEncoder ? (file.info("\(last).weight")?.shape.first ?? 4) : second[1]
        let config = try AutoencoderTinyConfig(ConfigReader(dict: [
            "encoder_block_out_channels": [width, width, width, width], "decoder_block_out_channels": [width, width, width, width],
            "latent_channels": latents], path: "built-in TAESD config (\(path))"))
        return try build(config, store: WeightStore(entries: entries, name: path, precision: precision),
                         encoder: isEncoder, decoder: isDecoder)
    }

    static func build(_ c: AutoencoderTinyConfig, store: WeightStore, encoder: Bool? = nil, decoder: Bool? = nil) throws -> AutoencoderTiny {
        let model = try AutoencoderTiny(config: c, weights: store, encoder: encoder ?? store.has("encoder.layers.0.weight"),
                                        decoder: decoder ?? store.has("decoder.layers.0.weight"))
        try store.checkAllUsed()
        return model
    }
}
