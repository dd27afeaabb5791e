// What the HTTP layer asks of the model side: a protocol, so the routes are tested on a fake and
// the real jobs (SDPipelines through PipelineJobs) stay out of the routing code. Every method is
// called on the job queue's thread, one at a time.
import Foundation
import SDCore
import SDPipelines

/// The sampling numbers of an A1111 txt2img or img2img request. Sendable by hand: plain values (a
/// String-backed enum from SDPipelines, which does not declare it Sendable).
public struct GenerationSettings: @unchecked Sendable {
    public var prompt = ""
    public var negativePrompt = ""
    /// -1 (or any negative): a random 32-bit seed, as A1111's get_fixed_seed.
    public var seed: Int64 = -1
    public var batchSize = 1
    public var nIter = 1
    public var steps = 20
    public var cfgScale: Float = 7
    /// nil: the checkpoint's own scheduler (its scheduler_config.json), as the CLI without --scheduler.
    public var scheduler: SchedulerKind?
    public var width = 512
    public var height = 512
    /// A listed checkpoint title (override_settings.sd_model_checkpoint); nil = the current one.
    public var checkpoint: String?

    public init() {}
    public var imageCount: Int { batchSize * nIter }
}

/// The img2img fields of a request (modules/api/models.py's StableDiffusionImg2ImgProcessingAPI).
/// Sendable by hand: SDCore's Image is a value type (sizes and a sample array) not declared Sendable.
public struct EditSettings: @unchecked Sendable {
    public var image: Image
    public var mask: Image?
    public var maskBlur = 4
    /// 0 fill, 1 original, 2 latent noise, 3 latent nothing (A1111's inpainting_fill).
    public var inpaintingFill = 1
    public var inpaintFullRes = true
    public var inpaintFullResPadding = 32
    public var invertMask = false
    public var denoisingStrength = 0.75

    public init(image: Image) { self.image = image }
}

/// A finished job: PNG bytes (with their A1111 `parameters` text chunk) and what `info` reports.
public struct JobOutput: Sendable {
    public var images: [[UInt8]] = []
    public var seeds: [UInt64] = []
    public var infotexts: [String] = []
    public var modelName = ""
    public var samplerName = ""
    public var width = 0
    public var height = 0
    /// The job ended early on an interrupt (images holds what was made).
    public var interrupted = false
    /// Seconds the job ran on the queue (model work only), for info's sdedit_job_seconds.
    public var seconds = 0.0
    public init() {}
}

/// A checkpoint the server may load: `title` is what clients send back in sd_model_checkpoint.
public struct Checkpoint: Sendable, Equatable {
    public var title: String
    public var modelName: String
    public var filename: String
    public init(title: String, modelName: String, filename: String) {
        self.title = title; self.modelName = modelName; self.filename = filename
    }
}

public protocol ServerJobs: AnyObject, Sendable {
    func txt2img(_ s: GenerationSettings, control: JobControl) throws -> JobOutput
    func img2img(_ s: GenerationSettings, _ e: EditSettings, control: JobControl) throws -> JobOutput
    func depth2img(_ s: GenerationSettings, _ e: EditSettings, control: JobControl) throws -> JobOutput
    /// An upscaler of `upscalers()` on one image; PNG bytes.
    func upscale(_ image: Image, upscaler: String, control: JobControl) throws -> [UInt8]

    /// Checkpoints from --models-dir and --model, refreshed on each call.
    func checkpoints() -> [Checkpoint]
    var currentCheckpoint: String { get }
    /// Load `title` (one of `checkpoints()`) and make it the default; throws 4xx for anything else.
    func selectCheckpoint(_ title: String) throws
    /// LoRA names (files in --lora-dir) and textual-inversion words: A1111's embedding database,
    /// the --embeddings files and, once a request has merged a LoRA, the embeddings it bundles (and
    /// those skipped because a file or an earlier LoRA has the name).
    func loras() -> [(name: String, path: String)]
    func embeddings() -> (loaded: [EmbeddingEntry], skipped: [EmbeddingEntry])
    /// Upscaler names for GET upscalers ("None" first, as A1111).
    func upscalers() -> [String]
}

/// A textual-inversion word as GET /sdapi/v1/embeddings lists it (A1111 modules/api/api.py
/// get_embeddings: `shape` is the vector width, `vectors` their count), nil where not read yet.
public struct EmbeddingEntry: Equatable, Sendable {
    public let name: String
    public let width: Int?, vectors: Int?
    public init(name: String, width: Int? = nil, vectors: Int? = nil) { (self.name, self.width, self.vectors) = (name, width, vectors) }
}
