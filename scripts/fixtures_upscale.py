"""x4-upscaler fixtures: a tiny random model in the diffusers layout of
stabilityai/stable-diffusion-x4-upscaler (7-channel UNet with the noise-level class embedding and
only_cross_attention blocks, f=4 VAE, DDIM v-prediction + DDPM low_res_scheduler), and golden outputs of
StableDiffusionUpscalePipeline (called from make_fixtures.py). Tokenizer and text encoder are symlinks
to the tiny inpainting model's (as a Hugging Face cache links shared blobs).
"""
import json
import os

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

import fixtures_inpaint as fi

X4_SCHEDULER = {"_class_name": "DDIMScheduler", "_diffusers_version": "0.9.0.dev0", "beta_end": 0.02,
                "beta_schedule": "scaled_linear", "beta_start": 0.0001, "clip_sample": False,
                "num_train_timesteps": 1000, "prediction_type": "v_prediction", "set_alpha_to_one": False,
                "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None}
X4_LOW_RES = {"_class_name": "DDPMScheduler", "_diffusers_version": "0.9.0.dev0", "beta_end": 0.02,
              "beta_schedule": "scaled_linear", "beta_start": 0.0001, "clip_sample": True,
              "num_train_timesteps": 1000, "prediction_type": "epsilon", "trained_betas": None,
              "variance_type": "fixed_small"}


def link_text_parts(folder, source_folder):
    """tokenizer/ and text_encoder/ as relative symlinks to a sibling model's (shared, like HF cache blobs)."""
    fi.link_shared(folder, source_folder, ["tokenizer", "text_encoder"])


def write_pipeline_files(folder):
    """scheduler/, low_res_scheduler/ and model_index.json of stabilityai/stable-diffusion-x4-upscaler."""
    for sub, cfg in [("scheduler", X4_SCHEDULER), ("low_res_scheduler", X4_LOW_RES)]:
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
        json.dump(cfg, open(os.path.join(folder, sub, "scheduler_config.json"), "w"), indent=2)
    json.dump({"_class_name": "StableDiffusionUpscalePipeline", "_diffusers_version": "0.9.0.dev0",
               "low_res_scheduler": ["diffusers", "DDPMScheduler"], "max_noise_level": 350,
               "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
               "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
               "vae": ["diffusers", "AutoencoderKL"]}, open(os.path.join(folder, "model_index.json"), "w"), indent=2)


def build_model(folder, inpaint_folder):
    from diffusers import AutoencoderKL, UNet2DConditionModel
    os.makedirs(folder, exist_ok=True)
    link_text_parts(folder, inpaint_folder)
    unet = UNet2DConditionModel(
        sample_size=16, in_channels=7, out_channels=4, layers_per_block=2, block_out_channels=[16, 32, 32],
        down_block_types=["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
        up_block_types=["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
        only_cross_attention=[True, True, False], attention_head_dim=8, num_class_embeds=1000,
        cross_attention_dim=32, norm_num_groups=8, norm_eps=1e-5, use_linear_projection=True)
    fi.randomize(unet, 21).half().save_pretrained(os.path.join(folder, "unet"), variant="fp16")
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=[8, 16, 16],
                        down_block_types=["DownEncoderBlock2D"] * 3, up_block_types=["UpDecoderBlock2D"] * 3,
                        layers_per_block=1, norm_num_groups=4, sample_size=32, scaling_factor=0.08333)
    fi.randomize(vae, 22).half().save_pretrained(os.path.join(folder, "vae"), variant="fp16")
    write_pipeline_files(folder)


UPSCALE_CASES = [
    # name, scheduler, w, h, steps, guidance, noise_level, seed, negative
    ("ddim_cfg", "ddim", 16, 16, 6, 9.0, 20, 1, None),
    ("ddim_nocfg", "ddim", 16, 16, 6, 1.0, 20, 2, None),
    ("ddim_noise100", "ddim", 16, 12, 6, 9.0, 100, 3, "blurry"),
    ("euler_a", "euler-a", 16, 16, 6, 9.0, 20, 4, None),
    ("dpm2m", "dpm++2m", 20, 16, 6, 9.0, 20, 5, None),
    ("dpm2m_nocfg_noise100", "dpm++2m", 16, 16, 6, 1.0, 100, 6, None),
    ("odd_size", "ddim", 22, 15, 5, 9.0, 20, 7, None),       # rounded down to 20x12 (multiple of 4), latent 20x12
]


def test_image(w, h, seed):
    rs = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 // max(1, w - 1), yy * 255 // max(1, h - 1), (xx * yy) % 256], -1)
    return Image.fromarray(np.clip(base + rs.randint(-20, 20, base.shape), 0, 255).astype(np.uint8), "RGB")


def goldens(folder, out_dir, threads=1):
    from diffusers import StableDiffusionUpscalePipeline, UNet2DConditionModel, AutoencoderKL
    torch.set_num_threads(threads)
    t = {}
    unet = UNet2DConditionModel.from_pretrained(os.path.join(folder, "unet"), variant="fp16", torch_dtype=torch.float32)
    vae = AutoencoderKL.from_pretrained(os.path.join(folder, "vae"), variant="fp16", torch_dtype=torch.float32)
    g = torch.Generator().manual_seed(31)
    with torch.no_grad():
        s, c = torch.randn((2, 7, 8, 6), generator=g), torch.randn((2, 77, 32), generator=g)
        t.update({"unet.sample": s, "unet.context": c,
                  "unet.out": unet(s, torch.tensor(963), encoder_hidden_states=c,
                                   class_labels=torch.tensor([20, 20])).sample,
                  "unet.out_label250": unet(s, torch.tensor(500), encoder_hidden_states=c,
                                            class_labels=torch.tensor([250, 250])).sample})
        z = torch.randn((1, 4, 8, 6), generator=g)
        t.update({"vae.z": z, "vae.decoded": vae.decode(z).sample})
    pipe = StableDiffusionUpscalePipeline.from_pretrained(folder, variant="fp16", torch_dtype=torch.float32)
    base = pipe.scheduler.config
    keys = ["name", "scheduler", "width", "height", "steps", "guidance", "noise_level", "seed", "negative"]
    json.dump([dict(zip(keys, c)) for c in UPSCALE_CASES], open(os.path.join(out_dir, "pipeline_cases.json"), "w"), indent=1)
    for name, sch, w, h, steps, gs, nl, seed, neg in UPSCALE_CASES:
        pipe.scheduler = fi.make_scheduler(sch, base)
        img = test_image(w, h, seed)
        img.save(os.path.join(out_dir, f"{name}.png"))
        kw = dict(prompt="a sharp photo", image=img, num_inference_steps=steps, guidance_scale=gs, noise_level=nl,
                  negative_prompt=neg)
        t.update(fi.run_case(pipe, kw, seed, name))
    return t
