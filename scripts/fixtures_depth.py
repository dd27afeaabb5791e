"""depth2img fixtures: a tiny random stable-diffusion-2-depth in the exact diffusers folder layout
(depth_estimator/ = DPTForDepthEstimation with is_hybrid and a BiT backbone, feature_extractor/ =
DPTImageProcessor, a 5-channel UNet, PNDM), and goldens from transformers and
StableDiffusionDepth2ImgPipeline (called from make_fixtures.py). Tokenizer, text encoder and VAE are
symlinks to the tiny inpainting model's (as a Hugging Face cache links shared blobs).

The DPT is the real architecture at toy widths: BiT depths [1, 1, 2] (bottleneck, SAME padding,
weight standardisation), ViT 5 layers with backbone_out_indices [0, 1, 2, 4] (layers 2 and 4 feed
the neck), reassemble factors [1, 1, 1, 0.5], 64x64 input (patch 16, 4x4 grid).
A random DPT head ends in ~1e-4 values, half of them clamped to 0 by its last ReLU, which would let
a wrong depth pass the tests: the head's last conv is rescaled once here (weights so the
pre-ReLU values on random inputs have mean 1.5 and std 1, so ~90 % of pixels are positive). That is the only edit.
"""
import json
import os

import numpy as np
import torch
from PIL import Image

import fixtures_inpaint as fi

DEPTH_SCHEDULER = dict(fi.SD2_SCHEDULER, _diffusers_version="0.10.0.dev0", prediction_type="epsilon")
PREPROCESSOR = {"do_normalize": True, "do_rescale": True, "do_resize": True, "ensure_multiple_of": 1,
                "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "DPTImageProcessor",
                "image_std": [0.5, 0.5, 0.5], "keep_aspect_ratio": False, "resample": 2,
                "rescale_factor": 0.00392156862745098, "size": {"height": 64, "width": 64}}


def dpt_config():
    from transformers import BitConfig, DPTConfig
    bit = BitConfig(num_channels=3, embedding_size=8, hidden_sizes=[16, 32, 64, 128], depths=[1, 1, 2],
                    layer_type="bottleneck", global_padding="SAME", num_groups=4, hidden_act="relu",
                    embedding_dynamic_padding=True, out_features=["stage1", "stage2", "stage3"])
    return DPTConfig(is_hybrid=True, backbone_config=bit, hidden_size=32, num_hidden_layers=5,
                     num_attention_heads=4, intermediate_size=64, hidden_act="gelu", layer_norm_eps=1e-12,
                     image_size=64, patch_size=16, num_channels=3, qkv_bias=True,
                     backbone_out_indices=[0, 1, 2, 4], readout_type="project",
                     reassemble_factors=[1, 1, 1, 0.5], neck_hidden_sizes=[16, 32, 24, 24],
                     fusion_hidden_size=16, head_in_index=-1, use_batch_norm_in_fusion_residual=False,
                     add_projection=False, backbone_featmap_shape=[1, 64, 4, 4], neck_ignore_stages=[0, 1])


def build_dpt(folder):
    from transformers import DPTForDepthEstimation
    model = fi.randomize(DPTForDepthEstimation(dpt_config()).eval(), 31)
    x = torch.from_numpy(np.random.RandomState(0).rand(2, 3, 64, 64).astype(np.float32) * 2 - 1)
    last = model.head.head[4]
    with torch.no_grad():
        captured = {}
        hook = last.register_forward_hook(lambda m, i, o: captured.update(o=o))
        model(pixel_values=x)
        hook.remove()
        mean, std = float(captured["o"].mean()), float(captured["o"].std())
        last.weight.mul_(1 / std)
        last.bias.copy_((last.bias - mean) / std + 1.5)
    fi.fp16_exact(model)
    model.save_pretrained(os.path.join(folder, "depth_estimator"))
    os.makedirs(os.path.join(folder, "feature_extractor"), exist_ok=True)
    json.dump(PREPROCESSOR, open(os.path.join(folder, "feature_extractor", "preprocessor_config.json"), "w"), indent=2)


def build_model(folder, inpaint_folder):
    from diffusers import UNet2DConditionModel
    os.makedirs(folder, exist_ok=True)
    fi.link_shared(folder, inpaint_folder, ["tokenizer", "text_encoder", "vae"])
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=5, out_channels=4, layers_per_block=2, block_out_channels=[16, 32, 32],
        down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
        up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
        attention_head_dim=[2, 4, 4], cross_attention_dim=32, norm_num_groups=8, norm_eps=1e-5,
        use_linear_projection=True, flip_sin_to_cos=True, freq_shift=0, act_fn="silu")
    fi.randomize(unet, 32).half().save_pretrained(os.path.join(folder, "unet"), variant="fp16")
    build_dpt(folder)
    os.makedirs(os.path.join(folder, "scheduler"), exist_ok=True)
    json.dump(DEPTH_SCHEDULER, open(os.path.join(folder, "scheduler", "scheduler_config.json"), "w"), indent=2)
    json.dump({"_class_name": "StableDiffusionDepth2ImgPipeline", "_diffusers_version": "0.10.0.dev0",
               "depth_estimator": ["transformers", "DPTForDepthEstimation"],
               "feature_extractor": ["transformers", "DPTImageProcessor"],
               "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
               "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
               "vae": ["diffusers", "AutoencoderKL"]}, open(os.path.join(folder, "model_index.json"), "w"), indent=2)


def test_image(w, h, seed):
    """A smooth scene with some structure (so the depth is not flat) plus noise."""
    rs = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    blob = 255 * np.exp(-(((xx - w * 0.6) / (0.2 * w)) ** 2 + ((yy - h * 0.4) / (0.25 * h)) ** 2))
    base = np.stack([xx * 255 // max(1, w - 1), blob, (yy * 255 // max(1, h - 1) + blob) / 2], -1)
    return Image.fromarray(np.clip(base + rs.randint(-25, 25, base.shape), 0, 255).astype(np.uint8), "RGB")


def depth_map_image(w, h):
    """A 16-bit grayscale depth map (white = near) for the depth_map= cases."""
    yy, xx = np.mgrid[0:h, 0:w]
    d = 65535 * (0.3 * xx / max(1, w - 1) + 0.7 * (1 - yy / max(1, h - 1))) ** 1.5
    return d.round().astype(np.uint16)


# DPT inputs: the processor's resize is downscale, upscale and non-square (and one identity size).
DPT_IMAGES = [("square", 96, 96), ("wide", 150, 70), ("small", 40, 52), ("same", 64, 64), ("odd", 101, 77)]

DEPTH_CASES = [
    # name, scheduler, w, h, steps, guidance, strength, seed, negative, depth_map
    ("pndm_cfg", "pndm", 64, 64, 10, 7.5, 0.8, 1, None, False),
    ("pndm_nocfg", "pndm", 64, 64, 10, 1.0, 0.8, 2, None, False),
    ("pndm_neg_s05", "pndm", 64, 64, 10, 7.5, 0.5, 3, "blurry", False),
    ("ddim", "ddim", 64, 64, 8, 7.5, 0.8, 4, None, False),
    ("dpm2m", "dpm++2m", 64, 64, 8, 7.5, 0.8, 5, None, False),
    ("euler_a", "euler-a", 64, 64, 8, 7.5, 0.8, 6, None, False),
    ("nonsquare", "pndm", 80, 48, 6, 7.5, 0.8, 7, None, False),
    ("odd_latent", "euler-a", 72, 56, 6, 5.0, 0.5, 8, "ugly", False),   # latent 9x7: not divisible by 4
    ("depth_map", "pndm", 64, 64, 8, 7.5, 0.8, 9, None, True),
    ("depth_map_nonsquare", "ddim", 80, 48, 6, 7.5, 0.8, 10, None, True),
]


def goldens(folder, out_dir, threads=1):
    from diffusers import StableDiffusionDepth2ImgPipeline
    from transformers import DPTForDepthEstimation, DPTImageProcessor
    torch.set_num_threads(threads)
    t = {}
    proc = DPTImageProcessor.from_pretrained(os.path.join(folder, "feature_extractor"))
    dpt = DPTForDepthEstimation.from_pretrained(os.path.join(folder, "depth_estimator")).eval()
    for name, w, h in DPT_IMAGES:
        img = test_image(w, h, w * 7 + h)
        img.save(os.path.join(out_dir, f"dpt_{name}.png"))
        px = proc(images=img, return_tensors="pt").pixel_values
        with torch.no_grad():
            t[f"dpt.{name}.pixel_values"] = px
            t[f"dpt.{name}.depth"] = dpt(pixel_values=px).predicted_depth
    pipe = StableDiffusionDepth2ImgPipeline.from_pretrained(folder, variant="fp16", torch_dtype=torch.float32)
    base = pipe.scheduler.config
    keys = ["name", "scheduler", "width", "height", "steps", "guidance", "strength", "seed", "negative", "depth_map"]
    json.dump([dict(zip(keys, c)) for c in DEPTH_CASES], open(os.path.join(out_dir, "pipeline_cases.json"), "w"), indent=1)
    for name, sch, w, h, steps, gs, strength, seed, neg, use_map in DEPTH_CASES:
        pipe.scheduler = fi.make_scheduler(sch, base)
        img = test_image(w, h, seed)
        img.save(os.path.join(out_dir, f"{name}.png"))
        depth_map = None
        if use_map:
            d = depth_map_image(w // 2 + 3, h // 2 + 1)   # any size: the pipeline resizes it to the latent
            Image.fromarray(d).save(os.path.join(out_dir, f"{name}.depth.png"))
            depth_map = torch.from_numpy(d.astype(np.float32) / 65535)[None]
        with torch.no_grad():
            t[f"{name}.depth_latent"] = pipe.prepare_depth_map(img, depth_map, 1, False, torch.float32,
                                                               torch.device("cpu"))
        kw = dict(prompt="a marble statue", image=img, num_inference_steps=steps, guidance_scale=gs,
                  strength=strength, negative_prompt=neg, depth_map=depth_map)
        t.update(fi.run_case(pipe, kw, seed, name))
    return t
