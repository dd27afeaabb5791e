#!/usr/bin/env python3
"""Real-size random-weight models for `sdedit bench inpaint` (never committed: ~5 GB).

    venv/bin/python scripts/make_bench_models.py [--out bench-models]

Writes bench-models/sd2-inpainting, bench-models/sd2-x4-upscaler, bench-models/sd2-depth, bench-models/sd-turbo
and bench-models/taesd in the diffusers folder
layout with the configs of stabilityai/stable-diffusion-2-inpainting, -x4-upscaler and -depth (spec §1.1–§1.3; the
depth estimator is Intel/dpt-hybrid-midas as SD2-depth ships it, 122 M parameters) and diffusers/transformers' default random
initialisation, fp32 safetensors (components already present are kept). Same code path as the real checkpoint; only the values are random.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures_inpaint as fi  # noqa: E402

UNET = {"act_fn": "silu", "attention_head_dim": [5, 10, 20, 20], "block_out_channels": [320, 640, 1280, 1280],
        "center_input_sample": False, "cross_attention_dim": 1024,
        "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
        "downsample_padding": 1, "dual_cross_attention": False, "flip_sin_to_cos": True, "freq_shift": 0,
        "in_channels": 9, "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05,
        "norm_num_groups": 32, "out_channels": 4, "sample_size": 64,
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
        "use_linear_projection": True}
VAE = {"act_fn": "silu", "block_out_channels": [128, 256, 512, 512],
       "down_block_types": ["DownEncoderBlock2D"] * 4, "in_channels": 3, "latent_channels": 4,
       "layers_per_block": 2, "norm_num_groups": 32, "out_channels": 3, "sample_size": 512,
       "up_block_types": ["UpDecoderBlock2D"] * 4}
X4_UNET = {"act_fn": "silu", "attention_head_dim": 8, "block_out_channels": [256, 512, 512, 1024],
           "center_input_sample": False, "cross_attention_dim": 1024,
           "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
           "downsample_padding": 1, "dual_cross_attention": False, "flip_sin_to_cos": True, "freq_shift": 0,
           "in_channels": 7, "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05,
           "norm_num_groups": 32, "num_class_embeds": 1000, "only_cross_attention": [True, True, True, False],
           "out_channels": 4, "sample_size": 128,
           "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
           "use_linear_projection": True}
X4_VAE = {"act_fn": "silu", "block_out_channels": [128, 256, 512], "down_block_types": ["DownEncoderBlock2D"] * 3,
          "in_channels": 3, "latent_channels": 4, "layers_per_block": 2, "norm_num_groups": 32, "out_channels": 3,
          "sample_size": 256, "up_block_types": ["UpDecoderBlock2D"] * 3, "scaling_factor": 0.08333}
TEXT = dict(hidden_size=1024, intermediate_size=4096, num_attention_heads=16, num_hidden_layers=23,
            vocab_size=49408, max_position_embeddings=77, hidden_act="gelu", layer_norm_eps=1e-5, projection_dim=512)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "bench-models"))
    a = p.parse_args()
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel
    torch.manual_seed(0)
    folder = os.path.join(a.out, "sd2-inpainting")
    os.makedirs(folder, exist_ok=True)

    fi.write_tokenizer(os.path.join(folder, "tokenizer"))
    def missing(path):
        return not os.path.exists(os.path.join(path, "config.json"))
    if missing(os.path.join(folder, "text_encoder")):
        CLIPTextModel(CLIPTextConfig(**TEXT)).save_pretrained(os.path.join(folder, "text_encoder"))
    if missing(os.path.join(folder, "vae")):
        AutoencoderKL(**VAE).save_pretrained(os.path.join(folder, "vae"))
    if missing(os.path.join(folder, "unet")):
        UNet2DConditionModel(**UNET).save_pretrained(os.path.join(folder, "unet"))
    os.makedirs(os.path.join(folder, "scheduler"), exist_ok=True)
    json.dump(fi.SD2_SCHEDULER, open(os.path.join(folder, "scheduler", "scheduler_config.json"), "w"), indent=2)
    json.dump({"_class_name": "StableDiffusionInpaintPipeline", "_diffusers_version": "0.8.0",
               "scheduler": ["diffusers", "PNDMScheduler"],
               "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
               "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
               "safety_checker": [None, None], "feature_extractor": [None, None], "requires_safety_checker": False},
              open(os.path.join(folder, "model_index.json"), "w"), indent=2)
    print(folder)
    # x4 upscaler (text encoder and tokenizer shared by symlink, as a Hugging Face cache shares blobs).
    import fixtures_upscale as fu
    x4 = os.path.join(a.out, "sd2-x4-upscaler")
    os.makedirs(x4, exist_ok=True)
    fu.link_text_parts(x4, folder)
    if missing(os.path.join(x4, "unet")):
        UNet2DConditionModel(**X4_UNET).save_pretrained(os.path.join(x4, "unet"))
    if missing(os.path.join(x4, "vae")):
        AutoencoderKL(**X4_VAE).save_pretrained(os.path.join(x4, "vae"))
    fu.write_pipeline_files(x4)
    print(x4)
    depth(a.out, folder)
    turbo(a.out, folder)
    lora(a.out, os.path.join(a.out, "sd-turbo"))


# stabilityai/sd-turbo's scheduler_config.json (SD 2.1-base architecture, distilled for 1–4 steps).
TURBO_SCHEDULER = {"_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.24.0.dev0",
                   "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
                   "interpolation_type": "linear", "num_train_timesteps": 1000, "prediction_type": "epsilon",
                   "set_alpha_to_one": False, "sample_max_value": 1.0, "skip_prk_steps": True, "steps_offset": 1,
                   "timestep_spacing": "trailing", "trained_betas": None, "use_karras_sigmas": False}


def turbo(out, inpaint_folder):
    """sd-turbo: the SD 2.1-base UNet (4 input channels, 512²) with its trailing Euler schedule, and a
    real-size TAESD (madebyollin/taesd: diffusers' AutoencoderTiny defaults) beside it."""
    from diffusers import AutoencoderTiny, UNet2DConditionModel
    folder = os.path.join(out, "sd-turbo")
    os.makedirs(folder, exist_ok=True)
    for shared in ["tokenizer", "text_encoder", "vae"]:
        if not os.path.islink(os.path.join(folder, shared)):
            os.symlink(os.path.join("..", os.path.basename(inpaint_folder), shared), os.path.join(folder, shared))
    if not os.path.exists(os.path.join(folder, "unet", "config.json")):
        UNet2DConditionModel(**dict(UNET, in_channels=4)).save_pretrained(os.path.join(folder, "unet"))
    os.makedirs(os.path.join(folder, "scheduler"), exist_ok=True)
    json.dump(TURBO_SCHEDULER, open(os.path.join(folder, "scheduler", "scheduler_config.json"), "w"), indent=2)
    json.dump({"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.24.0.dev0",
               "scheduler": ["diffusers", "EulerDiscreteScheduler"],
               "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
               "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
               "safety_checker": [None, None], "feature_extractor": [None, None], "requires_safety_checker": False},
              open(os.path.join(folder, "model_index.json"), "w"), indent=2)
    print(folder)
    taesd = os.path.join(out, "taesd")
    if not os.path.exists(os.path.join(taesd, "config.json")):
        AutoencoderTiny().save_pretrained(taesd)
    print(taesd)


def lora(out, base_folder, rank=32):
    """A kohya-format LoRA the shape of the ones people share for SD 2.x: rank 32 on every attention and
    feed-forward Linear and proj_in/proj_out of the UNet's transformers and on the text encoder's
    q/k/v/out and MLP, alpha = rank, fp16 as kohya's trainer saves (`sdedit bench lora`)."""
    from diffusers import UNet2DConditionModel
    from safetensors.torch import save_file
    from transformers import CLIPTextModel
    path = os.path.join(out, "lora-r32.safetensors")
    if os.path.exists(path):
        return print(path)
    g = torch.Generator().manual_seed(3)
    tensors = {}

    def add(prefix, module):
        tensors[prefix + ".lora_down.weight"] = (torch.randn(rank, module.in_features, generator=g) * 0.02).half()
        tensors[prefix + ".lora_up.weight"] = (torch.randn(module.out_features, rank, generator=g) * 0.02).half()
        tensors[prefix + ".alpha"] = torch.tensor(float(rank)).half()
    unet = UNet2DConditionModel.from_pretrained(os.path.join(base_folder, "unet"))
    leaves = ("to_q", "to_k", "to_v", "to_out.0", "ff.net.0.proj", "ff.net.2", "proj_in", "proj_out")
    for name, m in unet.named_modules():
        if isinstance(m, torch.nn.Linear) and "attentions" in name and name.endswith(leaves):
            add("lora_unet_" + name.replace(".", "_"), m)
    te = CLIPTextModel.from_pretrained(os.path.join(base_folder, "text_encoder"))
    for name, m in te.named_modules():
        if isinstance(m, torch.nn.Linear) and ".layers." in name:
            # kohya names the text encoder's modules from CLIPTextModel's text_model (transformers 5
            # lists them without that prefix).
            full = name if name.startswith("text_model.") else "text_model." + name
            add("lora_te_" + full.replace(".", "_"), m)
    save_file(tensors, path)
    print(path)


def depth(out, inpaint_folder):
    """stable-diffusion-2-depth: the SD2 UNet with 5 input channels, and the real-size DPT-hybrid."""
    from diffusers import UNet2DConditionModel
    from transformers import BitConfig, DPTConfig, DPTForDepthEstimation
    import fixtures_depth as fd
    folder = os.path.join(out, "sd2-depth")
    os.makedirs(folder, exist_ok=True)
    for shared in ["tokenizer", "text_encoder", "vae"]:
        if not os.path.islink(os.path.join(folder, shared)):
            os.symlink(os.path.join("..", os.path.basename(inpaint_folder), shared), os.path.join(folder, shared))
    if not os.path.exists(os.path.join(folder, "unet", "config.json")):
        UNet2DConditionModel(**dict(UNET, in_channels=5, sample_size=32)).save_pretrained(os.path.join(folder, "unet"))
    if not os.path.exists(os.path.join(folder, "depth_estimator", "config.json")):
        bit = BitConfig(num_channels=3, embedding_size=64, hidden_sizes=[256, 512, 1024, 2048], depths=[3, 4, 9],
                        layer_type="bottleneck", global_padding="SAME", num_groups=32, hidden_act="relu",
                        embedding_dynamic_padding=True, out_features=["stage1", "stage2", "stage3"])
        cfg = DPTConfig(is_hybrid=True, backbone_config=bit, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                        intermediate_size=3072, hidden_act="gelu", layer_norm_eps=1e-12, image_size=384, patch_size=16,
                        qkv_bias=True, backbone_out_indices=[2, 5, 8, 11], readout_type="project",
                        reassemble_factors=[1, 1, 1, 0.5], neck_hidden_sizes=[256, 512, 768, 768], fusion_hidden_size=256,
                        head_in_index=-1, use_batch_norm_in_fusion_residual=False, add_projection=False,
                        backbone_featmap_shape=[1, 1024, 24, 24], neck_ignore_stages=[0, 1])
        DPTForDepthEstimation(cfg).save_pretrained(os.path.join(folder, "depth_estimator"))
    os.makedirs(os.path.join(folder, "feature_extractor"), exist_ok=True)
    json.dump(dict(fd.PREPROCESSOR, size={"height": 384, "width": 384}),
              open(os.path.join(folder, "feature_extractor", "preprocessor_config.json"), "w"), indent=2)
    os.makedirs(os.path.join(folder, "scheduler"), exist_ok=True)
    json.dump(fd.DEPTH_SCHEDULER, open(os.path.join(folder, "scheduler", "scheduler_config.json"), "w"), indent=2)
    json.dump({"_class_name": "StableDiffusionDepth2ImgPipeline", "_diffusers_version": "0.10.0.dev0",
               "depth_estimator": ["transformers", "DPTForDepthEstimation"],
               "feature_extractor": ["transformers", "DPTImageProcessor"], "scheduler": ["diffusers", "PNDMScheduler"],
               "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
               "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]},
              open(os.path.join(folder, "model_index.json"), "w"), indent=2)
    print(folder)


if __name__ == "__main__":
    main()
