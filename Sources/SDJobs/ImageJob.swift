// The image-level jobs the commands and the server build: what to make (the task and its
// inputs), with which settings, how many images; and what a run gives back. The commands only turn
// arguments into these, the server only turns requests into them, so the same job gives the same
// bytes from either.
import Foundation
import SDCore
import SDModels
import SDPipelines

/// sdedit's version, as infotexts and `--version` print it.
public let sdeditVersion = "0.1.0"

/// What a job makes, with its inputs already read and checked.
public enum JobTask {
    /// An image from the prompt alone; nil sizes take the UNet's native size.
    case txt2img(width: Int?, height: Int?)
    /// The image re-noised by `strength` and denoised again.
    case img2img(image: Image)
    /// `mask` (the image's size) repainted in `image`; `fields` are extra infotext fields
    /// (outpaint's extension and overlap).
    case inpaint(image: Image, mask: Mask, options: InpaintImageOptions, fields: [(String, String)])
    /// A depth-conditioned img2img.
    case depth2img(image: Image, depth: DepthSource)
    /// The x4 latent upscaler.
    case upscale(image: Image, noiseLevel: Int, tile: Int?, tileOverlap: Int)

    var isUpscale: Bool { if case .upscale = self { return true } else { return false } }

    /// The name used in progress labels and default output names.
    public var name: String {
        switch self {
        case .txt2img: return "txt2img"
        case .img2img: return "img2img"
        case .inpaint: return "inpaint"
        case .depth2img: return "depth2img"
        case .upscale: return "upscale"
        }
    }
}

/// The depth a depth2img job conditions on ([1, h, w], white = near, any size).
public enum DepthSource {
    /// Estimate it with the model's MiDaS (once for every seed of the job).
    case estimate
    /// Estimated already (for example to save it first); recorded as the estimator's.
    case estimated(Tensor)
    /// The user's depth map.
    case map(Tensor)
}

/// One job: a task, the settings of its first image (image i uses seed + i; a nil scheduler is the
/// checkpoint's own), and how many images.
public struct ImageJob {
    public var task: JobTask
    public var settings: GenerationRequest
    public var count: Int
    /// Shown before the progress of each image ("inpaint", "job 2/5"); numbered when count > 1.
    public var label: String

    public init(task: JobTask, settings: GenerationRequest, count: Int = 1, label: String? = nil) {
        self.task = task
        self.settings = settings
        self.count = count
        self.label = label ?? task.name
    }
}

/// One finished image: its pixels, seed and A1111 infotext.
public struct JobImage {
    public let index: Int
    public let image: Image
    public let seed: UInt64
    public let parameters: String
}

/// What a run did, for logs, the server's `info` and benchmarks.
public struct RunRecord {
    public var model: String
    public var loras: [LoRAUse]
    public var images: [JobImage] = []
    /// Seconds each image took (prompt encoding to decoded pixels).
    public var seconds: [Double] = []
    /// The run ended early on an interrupt (the images so far are in `images`).
    public var interrupted = false
    /// The depth a depth2img job used ([1, h, w]), estimated or given.
    public var depth: Tensor?

    public var seeds: [UInt64] { images.map(\.seed) }
    public var infotexts: [String] { images.map(\.parameters) }
}

/// Where a run reports: messages (stderr lines for the CLI), the start of each image, each step.
public protocol JobObserver: AnyObject {
    func message(_ s: String)
    func begin(_ label: String)
    func update(_ done: Int, _ total: Int)
    /// The SD latents after each denoising step ([B, 4, h, w]; not for the x4 upscaler, whose latents
    /// live in another space): for a live preview (LatentPreview.cheapRGB). Optional.
    func latents(_ z: Tensor)
}

extension JobObserver {
    public func latents(_ z: Tensor) {}
}

/// An observer that shows nothing (tests, benchmarks).
public final class SilentObserver: JobObserver {
    public init() {}
    public func message(_ s: String) {}
    public func begin(_ label: String) {}
    public func update(_ done: Int, _ total: Int) {}
}
