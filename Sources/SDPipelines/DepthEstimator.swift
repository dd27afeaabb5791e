// Depth for depth2img: the checkpoint's depth_estimator/ (DPT-hybrid) behind its feature_extractor/
// (DPTImageProcessor), and the depth map as StableDiffusionDepth2ImgPipeline.prepare_depth_map
// conditions the UNet on it (bicubic to the latent size, per-image min–max to [−1, 1]).
import Foundation
import SDCore
import SDModels

/// transformers' DPTImageProcessor as transformers 5 runs it — the torchvision backend
/// (models/dpt/image_processing_dpt.py): the uint8 image resized by torchvision's resize with
/// antialias=True (ResampleArithmetic.torchUInt8; transformers 4's PIL backend differed by ±1 LSB on
/// a few pixels), then (x − mean/rescale) / (std/rescale) in float32, mean and std fused with the
/// rescale factor as TorchvisionBackend._fuse_mean_std_and_rescale_factor does.
public struct DPTImageProcessor: Sendable {
    public let width: Int, height: Int
    let filter: PillowFilter?
    let mean: [Float], std: [Float]

    public init(_ r: ConfigReader) throws {
        func bad(_ m: String) -> SDError { .badFile(path: r.path, message: m) }
        let size = r.present("size") as? [String: Any] ?? [:]
        let sizes = ConfigReader(dict: size, path: r.path)
        height = try sizes.int("height", default: 384, range: 16...4096)
        width = try sizes.int("width", default: 384, range: 16...4096)
        guard try !r.bool("keep_aspect_ratio", default: false), try r.int("ensure_multiple_of", default: 1, range: 1...1024) == 1 else {
            throw bad("keep_aspect_ratio / ensure_multiple_of: the DPT-hybrid input must be exactly size×size")
        }
        if try r.bool("do_resize", default: true) {
            switch try r.int("resample", default: 3, range: 0...5) {
            case 2: filter = .bilinear
            case 3: filter = .bicubic
            case let m: throw bad("resample \(m) is not supported (2 = bilinear, 3 = bicubic)")
            }
        } else { filter = nil }
        let rescale = try r.bool("do_rescale", default: true) ? try r.double("rescale_factor", default: 1 / 255, range: 1e-9...1) : 1
        if try r.bool("do_normalize", default: true) {
            func triple(_ key: String) throws -> [Double] {
                let v = (r.present(key) as? [Any] ?? [0.5, 0.5, 0.5]).compactMap { ($0 as? NSNumber)?.doubleValue }
                guard v.count == 3 else { throw bad("\(key): expected 3 numbers") }
                return v
            }
            let m = try triple("image_mean"), s = try triple("image_std")
            guard s.allSatisfy({ $0 > 0 }) else { throw bad("image_std must be positive") }
            mean = m.map { Float($0 / rescale) }
            std = s.map { Float($0 / rescale) }
        } else {
            mean = [0, 0, 0]
            std = Array(repeating: Float(1 / rescale), count: 3)
        }
    }

    /// pixel_values [1, 3, height, width] of an 8-bit RGB image.
    public func pixelValues(_ image: Image) throws -> Tensor {
        var im = image.rgb8()
        if let f = filter { im = im.pillowResized(width: width, height: height, filter: f, arithmetic: .torchUInt8) }
        guard im.width == width, im.height == height else {
            throw SDError.invalidInput("DPT input is \(im.width)x\(im.height); the model needs \(width)x\(height) (do_resize is off)")
        }
        let plane = width * height, s = im.samples8
        return Tensor(shape: [1, 3, height, width]) { o in
            for c in 0..<3 { for i in 0..<plane { o[c * plane + i] = (Float(s[i * 3 + c]) - mean[c]) / std[c] } }
        }
    }
}

/// A depth checkpoint's estimator: processor + DPT, loaded from depth_estimator/ and feature_extractor/
/// (or a depth single file's own MiDaS with the built-in configs, ModelSource.loadDPT).
public struct DepthEstimator {
    public let processor: DPTImageProcessor
    public let model: DPTForDepthEstimation

    public init(folder: String, precision: Precision = .fp32) throws {
        try self.init(source: ModelSource(folder: folder), precision: precision)
    }

    public init(source: ModelSource, precision: Precision = .fp32) throws {
        guard source.has("depth_estimator") else {
            throw SDError.missingModel(source.singleFile != nil
                ? "\(source.path): this single file carries no MiDaS depth estimator (depth_model.*, as 512-depth-ema has); "
                  + "pass --config DIR (stable-diffusion-2-depth's folder or hub id, which has depth_estimator/), or a depth map "
                  + "with --depth-map"
                : "\(source.path): no depth_estimator/ (the MiDaS DPT of stable-diffusion-2-depth); give a depth model, "
                  + "or a depth map with --depth-map")
        }
        let pre = try source.config("feature_extractor", file: "preprocessor_config.json")
        processor = try DPTImageProcessor(pre)
        let cfg = try DPTConfig(source.config("depth_estimator"))
        guard processor.width == cfg.imageSize, processor.height == cfg.imageSize else {
            throw SDError.badFile(path: pre.path, message: "size \(processor.width)x"
                                  + "\(processor.height) does not match the depth estimator's image_size \(cfg.imageSize)")
        }
        model = try source.loadDPT(cfg, precision: precision)
    }

    /// predicted_depth [1, H, W] for an RGB image of any size (squashed to the model's square input).
    public func callAsFunction(_ image: Image) throws -> Tensor { model(try processor.pixelValues(image)) }
}

public enum DepthMap {
    /// prepare_depth_map after the estimator: depth [1, h, w] → bicubic (align_corners=False) to
    /// [1, 1, H, W] → 2·(d − min)/(max − min) − 1. A flat map has no range (diffusers divides by zero
    /// and conditions on NaN); it is refused instead.
    public static func conditioning(_ depth: Tensor, height: Int, width: Int) throws -> Tensor {
        let d = depth.reshaped([1, 1, depth.dim(-2), depth.dim(-1)]).interpolated(height: height, width: width, mode: .bicubic)
        let lo = d.minimum(), hi = d.maximum()
        guard hi > lo, (hi - lo).isFinite else {
            throw SDError.invalidInput("the depth map is flat (every value \(lo)); depth2img needs some depth variation")
        }
        return 2 * (d - lo) / (hi - lo) - 1
    }

    /// A user's depth map image (white = near, as MiDaS): the first channel of a gray image or the
    /// Rec. 601 luma of an RGB one, at the file's own bit depth, as [1, h, w] in 0…1.
    public static func tensor(from image: Image) -> Tensor {
        let c = image.channels, n = image.width * image.height, scale = 1 / Float(image.maxValue)
        func fill<T: ImageSample>(_ s: [T]) -> Tensor {
            Tensor(shape: [1, image.height, image.width]) { o in
                for i in 0..<n {
                    o[i] = c >= 3 ? (0.299 * Float(s[i * c]) + 0.587 * Float(s[i * c + 1]) + 0.114 * Float(s[i * c + 2])) * scale
                                  : Float(s[i * c]) * scale
                }
            }
        }
        return image.storage.reading(fill, fill)
    }

    /// Depth [1, h, w] as a 16-bit grayscale image of width × height (bicubic, as the pipeline
    /// resizes it; nil = as is), min–max normalised (white = near), for --save-depth and
    /// `sdedit depth`; a flat map is written mid-grey.
    public static func image(_ depth: Tensor, width: Int? = nil, height: Int? = nil) -> Image {
        var depth = depth
        if let w = width, let h = height, w != depth.dim(-1) || h != depth.dim(-2) {
            depth = depth.reshaped([1, 1, depth.dim(-2), depth.dim(-1)]).interpolated(height: h, width: w, mode: .bicubic)
        }
        let lo = depth.minimum(), hi = depth.maximum()
        let range = hi > lo ? hi - lo : 1
        let samples = depth.storage.map { v -> UInt16 in UInt16((Swift.max(0, Swift.min(1, hi > lo ? (v - lo) / range : 0.5)) * 65535).rounded()) }
        return Image(width: depth.dim(-1), height: depth.dim(-2), channels: 1, samples16: samples)
    }
}
