// A live preview of SD 1.x/2.x latents without the VAE: AUTOMATIC1111's "Approx cheap"
// (modules/sd_vae_approx.py cheap_approximation, after discuss.huggingface.co/t/23204): each latent
// pixel's 4 channels times a fixed 4×3 matrix, then (x + 1) / 2 clamped, as
// sd_samplers_common.single_sample_to_image does. One image pixel per latent pixel (1/8 of the size);
// it costs a few multiplies per pixel, so a progress poll never slows the job.
import SDCore

public enum LatentPreview {
    /// Rows: latent channel; columns: R, G, B.
    static let coefficients: [[Float]] = [
        [0.298, 0.207, 0.208],
        [0.187, 0.286, 0.173],
        [-0.158, 0.189, 0.264],
        [-0.184, -0.271, -0.473],
    ]

    /// latents [B, 4, h, w] (the first image of the batch is shown) → an 8-bit RGB image h × w.
    public static func cheapRGB(_ latents: Tensor) -> Image {
        let (h, w) = (latents.dim(2), latents.dim(3))
        precondition(latents.dim(1) == 4, "SD latents have 4 channels")
        var samples = [UInt8](repeating: 0, count: h * w * 3)
        latents.withUnsafeBufferPointer { z in
            for p in 0..<(h * w) {
                for c in 0..<3 {
                    var x: Float = 0
                    for l in 0..<4 { x += z[l * h * w + p] * coefficients[l][c] }
                    let v = min(max((x + 1) / 2, 0), 1)
                    samples[p * 3 + c] = UInt8(v * 255)   // numpy astype(uint8) truncates
                }
            }
        }
        return Image(width: w, height: h, channels: 3, samples8: samples)
    }
}
