"""img2img fixtures: a tiny random SD 2.1-style base model (4-channel UNet with upcast_attention,
v-prediction DDIM scheduler as stabilityai/stable-diffusion-2-1 ships it) in the diffusers folder
layout, and StableDiffusionImg2ImgPipeline and 4-channel StableDiffusionInpaintPipeline goldens
(called from make_fixtures.py). Tokenizer, text
encoder and VAE are symlinks to the tiny inpainting model's. Cases also swap the scheduler to an
epsilon model's PNDM (the SD 2 base / 512 configuration) through the prediction_type override.
"""
import json
import os

import numpy as np
import torch

import fixtures_inpaint as fi

SD21_SCHEDULER = {"_class_name": "DDIMScheduler", "_diffusers_version": "0.8.0", "beta_end": 0.012,
                  "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
                  "num_train_timesteps": 1000, "prediction_type": "v_prediction", "set_alpha_to_one": False,
                  "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None}


def build_model(folder, inpaint_folder):
    from diffusers import UNet2DConditionModel
    os.makedirs(folder, exist_ok=True)
    fi.link_shared(folder, inpaint_folder, ["tokenizer", "text_encoder", "vae"])
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=[16, 32, 32],
        down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
        up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
        attention_head_dim=[2, 4, 4], cross_attention_dim=32, norm_num_groups=8, norm_eps=1e-5,
        use_linear_projection=True, upcast_attention=True, flip_sin_to_cos=True, freq_shift=0, act_fn="silu")
    fi.randomize(unet, 41).half().save_pretrained(os.path.join(folder, "unet"), variant="fp16")
    os.makedirs(os.path.join(folder, "scheduler"), exist_ok=True)
    json.dump(SD21_SCHEDULER, open(os.path.join(folder, "scheduler", "scheduler_config.json"), "w"), indent=2)
    json.dump({"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.8.0",
               "feature_extractor": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
               "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
               "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
               "vae": ["diffusers", "AutoencoderKL"]}, open(os.path.join(folder, "model_index.json"), "w"), indent=2)


IMG2IMG_CASES = [
    # name, scheduler, w, h, steps, guidance, strength, seed, negative
    ("ddim_v", "ddim", 64, 64, 10, 7.5, 0.8, 1, None),
    ("ddim_v_nocfg", "ddim", 64, 64, 10, 1.0, 0.6, 2, None),
    ("euler_a_v", "euler-a", 64, 64, 8, 7.5, 0.75, 3, "blurry"),
    ("dpm2m_v", "dpm++2m", 80, 48, 8, 7.5, 0.5, 4, None),
    ("pndm_v_odd", "pndm", 72, 56, 8, 5.0, 0.8, 5, None),
]


def goldens(folder, out_dir, threads=1):
    t = img2img_goldens(folder, out_dir, threads)
    t.update(inpaint4_goldens(folder, out_dir, threads))
    return t


def img2img_goldens(folder, out_dir, threads=1, cases=IMG2IMG_CASES, prompt="a watercolor painting"):
    """StableDiffusionImg2ImgPipeline cases (also the SD 1.x ones of fixtures_singlefile.py)."""
    from diffusers import StableDiffusionImg2ImgPipeline
    import fixtures_depth as fd
    torch.set_num_threads(threads)
    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(folder, variant="fp16", torch_dtype=torch.float32,
                                                          safety_checker=None, requires_safety_checker=False)
    base = pipe.scheduler.config
    keys = ["name", "scheduler", "width", "height", "steps", "guidance", "strength", "seed", "negative"]
    json.dump([dict(zip(keys, c)) for c in cases], open(os.path.join(out_dir, "pipeline_cases.json"), "w"), indent=1)
    t = {}
    for name, sch, w, h, steps, gs, strength, seed, neg in cases:
        pipe.scheduler = fi.make_scheduler(sch, base)
        img = fd.test_image(w, h, seed)
        img.save(os.path.join(out_dir, f"{name}.png"))
        kw = dict(prompt=prompt, image=img, num_inference_steps=steps, guidance_scale=gs,
                  strength=strength, negative_prompt=neg)
        t.update(fi.run_case(pipe, kw, seed, name))
    return t


INPAINT4_CASES = [
    # name, scheduler, w, h, steps, guidance, strength, seed, negative
    ("inpaint4_ddim", "ddim", 64, 64, 8, 7.5, 1.0, 11, None),
    ("inpaint4_euler_a", "euler-a", 64, 64, 8, 7.5, 0.75, 12, "blurry"),
    ("inpaint4_dpm2m_nocfg", "dpm++2m", 80, 48, 6, 1.0, 1.0, 13, None),
]


def inpaint4_goldens(folder, out_dir, threads=1):
    """StableDiffusionInpaintPipeline on the 4-channel base model (num_channels_unet == 4: the
    original's latents, re-noised to the next timestep, replace the latents outside the mask)."""
    from diffusers import StableDiffusionInpaintPipeline
    torch.set_num_threads(threads)
    pipe = StableDiffusionInpaintPipeline.from_pretrained(folder, variant="fp16", torch_dtype=torch.float32,
                                                          safety_checker=None, requires_safety_checker=False)
    base = pipe.scheduler.config
    keys = ["name", "scheduler", "width", "height", "steps", "guidance", "strength", "seed", "negative"]
    json.dump([dict(zip(keys, c)) for c in INPAINT4_CASES], open(os.path.join(out_dir, "inpaint4_cases.json"), "w"), indent=1)
    t = {}
    for name, sch, w, h, steps, gs, strength, seed, neg in INPAINT4_CASES:
        pipe.scheduler = fi.make_scheduler(sch, base)
        img, mask = fi.test_images(w, h)
        img.save(os.path.join(out_dir, f"{name}.image.png"))
        mask.save(os.path.join(out_dir, f"{name}.mask.png"))
        kw = dict(prompt="a red brick wall", image=img, mask_image=mask, height=h, width=w, num_inference_steps=steps,
                  guidance_scale=gs, strength=strength, negative_prompt=neg)
        t.update(fi.run_case(pipe, kw, seed, name))
    return t
