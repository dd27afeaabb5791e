// --vae-encoder / --vae-decoder taesd:PATH, shared by the jobs whose VAE works in the SD latent space
// (inpaint, outpaint, img2img, depth2img): a TAESD (diffusers AutoencoderTiny) replaces the VAE's
// encoder and/or decoder. Not on upscale: the x4 upscaler's VAE has its own latent space and factor.
import ArgumentParser
import Foundation
import SDCore
import SDModels
import SDPipelines

struct TinyVAEOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Encode images with a TAESD instead of the VAE: taesd:PATH, PATH a diffusers AutoencoderTiny folder (madebyollin/taesd, also as a hub id) or taesd_encoder.safetensors. Much faster, less faithful; draws nothing from the seed's generator (as diffusers with AutoencoderTiny).", valueName: "taesd:path"))
    var vaeEncoder: String?

    @Option(help: ArgumentHelp("Decode latents with a TAESD instead of the VAE: taesd:PATH (a folder, hub id or taesd_decoder.safetensors).", valueName: "taesd:path"))
    var vaeDecoder: String?

    func validate() throws {
        for (flag, v) in [("--vae-encoder", vaeEncoder), ("--vae-decoder", vaeDecoder)] {
            if let v = v, !v.hasPrefix("taesd:") || v.count == "taesd:".count {
                throw ValidationError("\(flag) \(v): use taesd:PATH (a TAESD folder, hub id or .safetensors file)")
            }
        }
    }

    static func path(_ spec: String) -> String { String(spec.dropFirst("taesd:".count)) }

    /// The TAESD halves asked for, loaded (once when both options name the same path) before the
    /// model so that a bad path fails fast.
    struct Loaded { let parts: [(tiny: AutoencoderTiny, path: String, encoder: Bool)] }

    func load(precision: Precision) throws -> Loaded {
        var cache: [String: AutoencoderTiny] = [:], parts: [(AutoencoderTiny, String, Bool)] = []
        for (spec, encoder) in [(vaeEncoder, true), (vaeDecoder, false)] {
            guard let spec = spec else { continue }
            let path = try ModelLocator.resolve(Self.path(spec), pipeline: false)
            let tiny = try cache[path] ?? TinyAutoencoderSource.load(path, precision: precision)
            cache[path] = tiny
            parts.append((tiny, path, encoder))
        }
        return Loaded(parts: parts)
    }

    /// Use the loaded halves in `sd`'s pipelines (after checking they share its latent space).
    func attach(_ loaded: Loaded, to sd: StableDiffusionModel, progress: ProgressReporter) throws {
        for (tiny, path, encoder) in loaded.parts {
            try sd.useTinyAutoencoder(tiny, path: path, encoder: encoder, decoder: !encoder)
            progress.message("sdedit: \(encoder ? "encoding" : "decoding") with TAESD \(path)")
        }
    }

    /// The PNG parameters' record of them.
    var fields: [(String, String)] {
        [("VAE encoder", vaeEncoder), ("VAE decoder", vaeDecoder)].compactMap { k, v in
            v.map { (k, "taesd " + (Self.path($0) as NSString).lastPathComponent) }
        }
    }
}
