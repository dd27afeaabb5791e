// The configs of the checkpoints Stability AI (and RunwayML, for SD 1.5) publish, for single files,
// which carry none: each equals the diffusers repo's <component>/config.json (spec §1.1–§1.3 for the
// editing models; the SD 2.1 and 1.5 repos for the base models), and goes through the same
// ConfigReader as a folder's. `--config DIR` replaces them all with a folder's.
import Foundation
import SDCore

/// What a single file is, from its keys (SingleFileCheckpoint.detect) — one per built-in config set.
public enum CheckpointFamily: String, CaseIterable, Sendable {
    case sd2Inpainting = "stable-diffusion-2-inpainting"
    case sd2Depth = "stable-diffusion-2-depth"
    case x4Upscaler = "stable-diffusion-x4-upscaler"
    /// SD 2.x base models: the 768 v-prediction stable-diffusion-2-1 (as diffusers' from_single_file
    /// assumes); `--prediction-type epsilon` for the 512 base models.
    case sd21 = "stable-diffusion-2-1"
    /// stabilityai/sd-turbo (SD 2.1-base distilled): told from sd21 by its file name or metadata only.
    case sdTurbo = "sd-turbo"
    case sd15 = "stable-diffusion-v1-5"
    case sd15Inpainting = "stable-diffusion-inpainting"

    /// The SD 2 family uses OpenCLIP ViT-H/14; SD 1.x uses CLIP ViT-L/14.
    public var openCLIP: Bool { self != .sd15 && self != .sd15Inpainting }
    /// SD 2.x tokenizers pad with "!" (their special_tokens_map.json), SD 1.x with <|endoftext|>.
    public var padToken: String { openCLIP ? "!" : "<|endoftext|>" }

    /// The built-in config of `component` (unet, vae, text_encoder, scheduler, low_res_scheduler,
    /// model_index; depth_estimator and feature_extractor for the depth model's MiDaS), nil where the
    /// family has none.
    public func config(_ component: String) -> ConfigReader? {
        guard let text = json(component),
              let dict = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return nil }
        return ConfigReader(dict: dict, path: "built-in \(rawValue) \(component) config")
    }

    private func json(_ component: String) -> String? {
        switch component {
        case "unet": return unet
        case "vae":
            return self == .x4Upscaler ? BuiltinJSON.vae(levels: 3, sampleSize: 256, extra: #", "scaling_factor": 0.08333"#)
                : BuiltinJSON.vae(levels: 4, sampleSize: self == .sd21 ? 768 : 512)
        case "text_encoder": return openCLIP ? BuiltinJSON.openCLIPText : BuiltinJSON.clipLText
        case "scheduler":
            switch self {
            case .sd2Inpainting: return BuiltinJSON.pndm(version: "0.8.0", extra: "")
            case .sd2Depth: return BuiltinJSON.pndm(version: "0.10.0.dev0", extra: #", "prediction_type": "epsilon""#)
            case .x4Upscaler: return BuiltinJSON.ddim(version: "0.9.0.dev0", betaStart: 0.0001, betaEnd: 0.02)
            case .sd21: return BuiltinJSON.ddim(version: "0.8.0", betaStart: 0.00085, betaEnd: 0.012)
            case .sd15, .sd15Inpainting: return BuiltinJSON.pndm(version: "0.6.0", extra: "")
            case .sdTurbo: return BuiltinJSON.turboEuler
            }
        case "low_res_scheduler" where self == .x4Upscaler: return BuiltinJSON.x4LowRes
        case "model_index" where self == .x4Upscaler: return #"{"max_noise_level": 350}"#
        case "depth_estimator" where self == .sd2Depth: return BuiltinJSON.dptHybridMidas
        case "feature_extractor" where self == .sd2Depth: return BuiltinJSON.dptProcessor
        default: return nil
        }
    }

    private var unet: String {
        switch self {
        case .sd2Inpainting: return BuiltinJSON.sd2UNet(inChannels: 9, sampleSize: 64, extra: "")
        case .sd2Depth: return BuiltinJSON.sd2UNet(inChannels: 5, sampleSize: 32, extra: "")
        case .sd21: return BuiltinJSON.sd2UNet(inChannels: 4, sampleSize: 96, extra: #", "upcast_attention": true"#)
        case .sdTurbo: return BuiltinJSON.sd2UNet(inChannels: 4, sampleSize: 64, extra: "")
        case .sd15: return BuiltinJSON.sd15UNet(inChannels: 4)
        case .sd15Inpainting: return BuiltinJSON.sd15UNet(inChannels: 9)
        case .x4Upscaler: return BuiltinJSON.x4UNet
        }
    }
}

/// The JSON texts, with the repos' keys and values.
enum BuiltinJSON {
    static let crossDown = #""down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]"#
    static let crossUp = #""up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]"#
    static let common = #""act_fn": "silu", "center_input_sample": false, "downsample_padding": 1, "dual_cross_attention": false, "flip_sin_to_cos": true, "freq_shift": 0, "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "out_channels": 4"#

    static func sd2UNet(inChannels: Int, sampleSize: Int, extra: String) -> String {
        #"{"_class_name": "UNet2DConditionModel", \#(common), "attention_head_dim": [5, 10, 20, 20], "block_out_channels": [320, 640, 1280, 1280], "cross_attention_dim": 1024, \#(crossDown), "in_channels": \#(inChannels), "sample_size": \#(sampleSize), \#(crossUp), "use_linear_projection": true\#(extra)}"#
    }

    static func sd15UNet(inChannels: Int) -> String {
        #"{"_class_name": "UNet2DConditionModel", \#(common), "attention_head_dim": 8, "block_out_channels": [320, 640, 1280, 1280], "cross_attention_dim": 768, \#(crossDown), "in_channels": \#(inChannels), "sample_size": 64, \#(crossUp)}"#
    }

    static let x4UNet = #"{"_class_name": "UNet2DConditionModel", \#(common), "attention_head_dim": 8, "block_out_channels": [256, 512, 512, 1024], "cross_attention_dim": 1024, "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"], "in_channels": 7, "num_class_embeds": 1000, "only_cross_attention": [true, true, true, false], "sample_size": 128, "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], "use_linear_projection": true}"#

    static func vae(levels: Int, sampleSize: Int, extra: String = "") -> String {
        let channels = [128, 256, 512, 512].prefix(levels).map(String.init).joined(separator: ", ")
        let down = Array(repeating: #""DownEncoderBlock2D""#, count: levels).joined(separator: ", ")
        let up = Array(repeating: #""UpDecoderBlock2D""#, count: levels).joined(separator: ", ")
        return #"{"_class_name": "AutoencoderKL", "act_fn": "silu", "block_out_channels": [\#(channels)], "down_block_types": [\#(down)], "in_channels": 3, "latent_channels": 4, "layers_per_block": 2, "norm_num_groups": 32, "out_channels": 3, "sample_size": \#(sampleSize), "up_block_types": [\#(up)]\#(extra)}"#
    }

    static let openCLIPText = #"{"architectures": ["CLIPTextModel"], "hidden_act": "gelu", "hidden_size": 1024, "intermediate_size": 4096, "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "model_type": "clip_text_model", "num_attention_heads": 16, "num_hidden_layers": 23, "projection_dim": 512, "vocab_size": 49408}"#
    static let clipLText = #"{"architectures": ["CLIPTextModel"], "hidden_act": "quick_gelu", "hidden_size": 768, "intermediate_size": 3072, "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "model_type": "clip_text_model", "num_attention_heads": 12, "num_hidden_layers": 12, "projection_dim": 768, "vocab_size": 49408}"#

    static func pndm(version: String, extra: String) -> String {
        #"{"_class_name": "PNDMScheduler", "_diffusers_version": "\#(version)", "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": false, "num_train_timesteps": 1000, "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1, "trained_betas": null\#(extra)}"#
    }

    static func ddim(version: String, betaStart: Double, betaEnd: Double) -> String {
        #"{"_class_name": "DDIMScheduler", "_diffusers_version": "\#(version)", "beta_end": \#(betaEnd), "beta_schedule": "scaled_linear", "beta_start": \#(betaStart), "clip_sample": false, "num_train_timesteps": 1000, "prediction_type": "v_prediction", "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1, "trained_betas": null}"#
    }

    /// stabilityai/sd-turbo scheduler/scheduler_config.json.
    static let turboEuler = #"{"_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.24.0.dev0", "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": false, "interpolation_type": "linear", "num_train_timesteps": 1000, "prediction_type": "epsilon", "sample_max_value": 1.0, "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1, "timestep_spacing": "trailing", "timestep_type": "discrete", "trained_betas": null, "use_karras_sigmas": false}"#

    static let x4LowRes = #"{"_class_name": "DDPMScheduler", "_diffusers_version": "0.9.0.dev0", "beta_end": 0.02, "beta_schedule": "scaled_linear", "beta_start": 0.0001, "clip_sample": true, "num_train_timesteps": 1000, "prediction_type": "epsilon", "trained_betas": null, "variance_type": "fixed_small"}"#

    /// stable-diffusion-2-depth's depth_estimator/config.json, which is Intel/dpt-hybrid-midas's (spec
    /// §1.2): transformers' convert_dpt_hybrid_to_pytorch.py get_dpt_config for a "midas" checkpoint
    /// over the DPTConfig defaults, with DPTConfig's default BiT backbone (configuration_dpt.py).
    static let dptHybridMidas = #"{"architectures": ["DPTForDepthEstimation"], "backbone_config": {"depths": [3, 4, 9], "embedding_dynamic_padding": true, "embedding_size": 64, "global_padding": "SAME", "hidden_act": "relu", "hidden_sizes": [256, 512, 1024, 2048], "layer_type": "bottleneck", "model_type": "bit", "num_channels": 3, "num_groups": 32, "out_features": ["stage1", "stage2", "stage3"], "output_stride": 32, "width_factor": 1}, "backbone_featmap_shape": [1, 1024, 24, 24], "backbone_out_indices": [2, 5, 8, 11], "fusion_hidden_size": 256, "head_in_index": -1, "hidden_act": "gelu", "hidden_size": 768, "image_size": 384, "intermediate_size": 3072, "is_hybrid": true, "layer_norm_eps": 1e-12, "model_type": "dpt", "neck_hidden_sizes": [256, 512, 768, 768], "neck_ignore_stages": [0, 1], "num_attention_heads": 12, "num_channels": 3, "num_hidden_layers": 12, "patch_size": 16, "qkv_bias": true, "readout_type": "project", "reassemble_factors": [1, 1, 1, 0.5], "use_batch_norm_in_fusion_residual": false}"#

    /// stable-diffusion-2-depth's feature_extractor/preprocessor_config.json (spec §1.2): squash to
    /// 384×384 with bilinear, then (x/255 − 0.5)/0.5.
    static let dptProcessor = #"{"do_normalize": true, "do_rescale": true, "do_resize": true, "ensure_multiple_of": 1, "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "DPTImageProcessor", "image_std": [0.5, 0.5, 0.5], "keep_aspect_ratio": false, "resample": 2, "rescale_factor": 0.00392156862745098, "size": {"height": 384, "width": 384}}"#
}
