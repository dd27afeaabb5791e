// Request bodies of the A1111 API (modules/api/models.py: StableDiffusionTxt2ImgProcessingAPI,
// StableDiffusionImg2ImgProcessingAPI, PNGInfoRequest, ExtrasSingleImageRequest). Fields sdedit
// does not use are ignored, as pydantic ignores them; a field of the wrong type is a 422.
import Foundation
import SDCore
import SDPipelines

/// A bool that also accepts 0/1 (clients send inpaint_full_res and inpainting_mask_invert either way).
struct LenientBool: Decodable {
    let value: Bool
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { value = b; return }
        let i = try c.decode(Int.self)
        value = i != 0
    }
}

struct GenerationFields: Decodable {
    var prompt: String?
    var negativePrompt: String?
    var seed: Int64?
    var batchSize: Int?
    var nIter: Int?
    var steps: Int?
    var cfgScale: Double?
    var samplerName: String?
    var samplerIndex: String?
    var scheduler: String?
    var width: Int?
    var height: Int?
    var overrideSettings: JSONValue?
    var styles: [String]?
    var enableHr: LenientBool?

    // Explicit keys, not convertFromSnakeCase: that would also rename override_settings' own keys.
    enum CodingKeys: String, CodingKey {
        case prompt, seed, steps, scheduler, width, height, styles
        case negativePrompt = "negative_prompt", batchSize = "batch_size", nIter = "n_iter", cfgScale = "cfg_scale"
        case samplerName = "sampler_name", samplerIndex = "sampler_index", overrideSettings = "override_settings"
        case enableHr = "enable_hr"
    }
}

struct Img2ImgFields: Decodable {
    var initImages: [String]?
    var mask: String?
    var maskBlur: Int?
    var inpaintingFill: Int?
    var inpaintFullRes: LenientBool?
    var inpaintFullResPadding: Int?
    var inpaintingMaskInvert: LenientBool?
    var denoisingStrength: Double?

    enum CodingKeys: String, CodingKey {
        case mask
        case initImages = "init_images", maskBlur = "mask_blur", inpaintingFill = "inpainting_fill"
        case inpaintFullRes = "inpaint_full_res", inpaintFullResPadding = "inpaint_full_res_padding"
        case inpaintingMaskInvert = "inpainting_mask_invert", denoisingStrength = "denoising_strength"
    }
}

struct PNGInfoRequest: Decodable { var image: String? }

struct ExtraSingleImageRequest: Decodable {
    var image: String?
    var upscaler1: String?
    var upscalingResize: Double?

    enum CodingKeys: String, CodingKey {
        case image, upscaler1 = "upscaler_1", upscalingResize = "upscaling_resize"
    }
}

/// The request's numbers checked and turned into GenerationSettings (every limit a 422 naming the
/// field). `images` caps batch_size × n_iter.
func generationSettings(_ f: GenerationFields, maxPixels: Int, defaultSize: Int = 512) throws -> GenerationSettings {
    var s = GenerationSettings()
    s.prompt = f.prompt ?? ""
    s.negativePrompt = f.negativePrompt ?? ""
    s.seed = f.seed ?? -1
    s.batchSize = f.batchSize ?? 1
    s.nIter = f.nIter ?? 1
    s.steps = f.steps ?? 20
    s.width = f.width ?? defaultSize
    s.height = f.height ?? defaultSize
    guard (1...64).contains(s.batchSize) else { throw APIError.unprocessable("batch_size must be 1…64") }
    guard (1...100).contains(s.nIter) else { throw APIError.unprocessable("n_iter must be 1…100") }
    guard (1...1000).contains(s.steps) else { throw APIError.unprocessable("steps must be 1…1000") }
    let cfg = f.cfgScale ?? 7
    guard cfg.isFinite, (0...100).contains(cfg) else { throw APIError.unprocessable("cfg_scale must be 0…100") }
    s.cfgScale = Float(cfg)
    for (name, v) in [("width", s.width), ("height", s.height)] {
        guard (8...8192).contains(v), v % 8 == 0 else { throw APIError.unprocessable("\(name) must be a multiple of 8 within 8…8192") }
    }
    guard s.width * s.height <= maxPixels else {
        throw APIError.unprocessable("\(s.width)x\(s.height) exceeds --max-pixels \(maxPixels)")
    }
    if f.enableHr?.value == true { throw APIError.unprocessable("enable_hr (hires fix) is not supported by sdedit") }
    if let styles = f.styles, !styles.isEmpty { throw APIError.unprocessable("styles: no prompt styles are defined") }
    s.scheduler = try Samplers.resolve(sampler: f.samplerName ?? f.samplerIndex, scheduler: f.scheduler)
    if let o = f.overrideSettings {
        guard case .object = o else { throw APIError.unprocessable("override_settings must be an object") }
        if let c = o["sd_model_checkpoint"], c != .null {
            guard let title = c.stringValue else { throw APIError.unprocessable("override_settings.sd_model_checkpoint must be a string") }
            s.checkpoint = title
        }
    }
    return s
}

func editSettings(_ f: Img2ImgFields, maxPixels: Int) throws -> EditSettings {
    guard let first = f.initImages?.first else { throw APIError.unprocessable("init_images: at least one image is required") }
    var e = EditSettings(image: try ImagePayload.decode(first, field: "init_images[0]", maxPixels: maxPixels))
    if let m = f.mask, !m.isEmpty { e.mask = try ImagePayload.decode(m, field: "mask", maxPixels: maxPixels) }
    e.maskBlur = f.maskBlur ?? 4
    e.inpaintingFill = f.inpaintingFill ?? 1
    e.inpaintFullRes = f.inpaintFullRes?.value ?? true
    e.inpaintFullResPadding = f.inpaintFullResPadding ?? 32
    e.invertMask = f.inpaintingMaskInvert?.value ?? false
    e.denoisingStrength = f.denoisingStrength ?? 0.75
    guard (0...256).contains(e.maskBlur) else { throw APIError.unprocessable("mask_blur must be 0…256") }
    guard (0...3).contains(e.inpaintingFill) else { throw APIError.unprocessable("inpainting_fill must be 0…3") }
    guard (0...4096).contains(e.inpaintFullResPadding) else { throw APIError.unprocessable("inpaint_full_res_padding must be 0…4096") }
    guard e.denoisingStrength.isFinite, (0...1).contains(e.denoisingStrength) else {
        throw APIError.unprocessable("denoising_strength must be within 0…1")
    }
    if let m = e.mask, m.width != e.image.width || m.height != e.image.height {
        throw APIError.unprocessable("mask is \(m.width)x\(m.height) but init_images[0] is \(e.image.width)x\(e.image.height)")
    }
    return e
}
