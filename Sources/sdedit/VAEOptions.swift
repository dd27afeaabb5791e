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
}
