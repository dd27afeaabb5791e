"""Few-step fixtures (called from make_fixtures.py "fewstep"): a tiny random TAESD (diffusers
AutoencoderTiny, also written as the original madebyollin/taesd taesd_encoder/taesd_decoder files), a
tiny SD-Turbo-like model (the tiny SD 2.1-style base UNet with stabilityai/sd-turbo's
scheduler_config.json: EulerDiscreteScheduler, "trailing" spacing, epsilon), LCMScheduler sequences,
and StableDiffusionImg2ImgPipeline / 4-channel StableDiffusionInpaintPipeline goldens with the turbo
scheduler, with LCMScheduler, and with the AutoencoderTiny as the pipeline's vae.
"""
import json
import os

import numpy as np
import torch
from safetensors.torch import save_file

import fixtures_inpaint as fi

# stabilityai/sd-turbo scheduler/scheduler_config.json.
TURBO_SCHEDULER = {"_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.24.0.dev0", "beta_end": 0.012,
                   "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
                   "interpolation_type": "linear", "num_train_timesteps": 1000, "prediction_type": "epsilon",
                   "sample_max_value": 1.0, "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
                   "timestep_spacing": "trailing", "timestep_type": "discrete", "trained_betas": None,
                   "use_karras_sigmas": False}

# The published taesd's layout (four levels, blocks (1, 3, 3, 3) / (3, 3, 3, 1)) at 8 channels.
TAESD_KW = dict(encoder_block_out_channels=[8, 8, 8, 8], decoder_block_out_channels=[8, 8, 8, 8])


def models_dir(folder):
    return os.path.dirname(os.path.abspath(folder))


def build_taesd(models):
    from diffusers import AutoencoderTiny
    vae = fi.randomize(AutoencoderTiny(**TAESD_KW), 77)
    vae.save_pretrained(os.path.join(models, "tiny-taesd"))
    # madebyollin/taesd's own files: each half a bare nn.Sequential (taesd.py), the decoder's index 0
    # being its Clamp module, so its layers sit one index later than diffusers' DecoderTiny's.
    sd = vae.state_dict()
    orig = os.path.join(models, "tiny-taesd-original")
    os.makedirs(orig, exist_ok=True)
    enc = {k[len("encoder.layers."):]: v.contiguous() for k, v in sd.items() if k.startswith("encoder.layers.")}
    dec = {}
    for k, v in sd.items():
        if k.startswith("decoder.layers."):
            i, rest = k[len("decoder.layers."):].split(".", 1)
            dec[f"{int(i) + 1}.{rest}"] = v.contiguous()
    save_file(enc, os.path.join(orig, "taesd_encoder.safetensors"))
    save_file(dec, os.path.join(orig, "taesd_decoder.safetensors"))
    return vae


def build_model(folder, inpaint_folder):
    """tiny-sd-turbo: the tiny SD 2.1 base's UNet and the inpainting model's text parts and VAE, with the
    turbo scheduler config; tiny-taesd beside it."""
    os.makedirs(folder, exist_ok=True)
    fi.link_shared(folder, inpaint_folder, ["tokenizer", "text_encoder", "vae"])
    link = os.path.join(folder, "unet")
    if not os.path.islink(link):
        os.symlink(os.path.join("..", "tiny-sd21-base", "unet"), link)
    os.makedirs(os.path.join(folder, "scheduler"), exist_ok=True)
    json.dump(TURBO_SCHEDULER, open(os.path.join(folder, "scheduler", "scheduler_config.json"), "w"), indent=2)
    json.dump({"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.24.0.dev0",
               "feature_extractor": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
               "scheduler": ["diffusers", "EulerDiscreteScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
               "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
               "vae": ["diffusers", "AutoencoderKL"]}, open(os.path.join(folder, "model_index.json"), "w"), indent=2)
    build_taesd(models_dir(folder))
    sgm_single_file(models_dir(folder))


def sgm_single_file(models):
    """single/tiny-sd_turbo.safetensors: the tiny SD 2.1 base's single file (fixtures_singlefile.py) with
    its OpenCLIP under Stability AI's generative-models prefix, as that code base saves checkpoints, and
    named as SD-Turbo's file is. diffusers' from_single_file with config=tiny-sd-turbo reproduces the
    folder's turbo_img2img latents (checked here), so the folder goldens serve the file too."""
    from safetensors.torch import load_file
    single = os.path.join(models, "single")
    sd = load_file(os.path.join(single, "tiny-sd21-base.safetensors"))
    ldm, sgm = "cond_stage_model.model.", "conditioner.embedders.0.model."
    out = os.path.join(single, "tiny-sd_turbo.safetensors")
    save_file({(sgm + k[len(ldm):] if k.startswith(ldm) else k): v for k, v in sd.items()}, out)
    return out


def check_single_file(models, folder, golden):
    from diffusers import StableDiffusionImg2ImgPipeline
    import fixtures_depth as fd
    pipe = StableDiffusionImg2ImgPipeline.from_single_file(
        os.path.join(models, "single", "tiny-sd_turbo.safetensors"), config=os.path.abspath(folder),
        torch_dtype=torch.float32, safety_checker=None, requires_safety_checker=False)
    name, sch, w, h, steps, gs, strength, seed, neg, _ = IMG2IMG_CASES[0]
    lat = pipe(prompt="a watercolor painting", image=fd.test_image(w, h, seed), num_inference_steps=steps, guidance_scale=gs,
               strength=strength, generator=torch.Generator().manual_seed(seed), output_type="latent").images
    d = float((lat - golden).abs().max())
    assert d < 1e-4, d
    print(f"from_single_file(tiny-sd_turbo.safetensors) {name}: max {d:.2e} from the folder's latents")


def taesd_goldens(models):
    from diffusers import AutoencoderTiny
    vae = AutoencoderTiny.from_pretrained(os.path.join(models, "tiny-taesd"))
    g = torch.Generator().manual_seed(31)
    x = torch.rand((1, 3, 64, 48), generator=g) * 2 - 1
    z = torch.randn((1, 4, 8, 6), generator=g) * 2
    with torch.no_grad():
        return {"taesd.x": x, "taesd.latents": vae.encode(x).latents, "taesd.z": z, "taesd.decoded": vae.decode(z).sample}


LCM_CONFIGS = {
    # name: config overrides on the turbo config (LCMScheduler.from_config, as a user swaps it in)
    "lcm": {},
    "lcm_v": {"prediction_type": "v_prediction"},
    "lcm_orig25": {"original_inference_steps": 25},
}


def lcm_goldens():
    """LCMScheduler on recorded model outputs: timesteps, and each step's output (its noise drawn
    from a generator, as the pipelines pass theirs), for several step counts and strengths."""
    from diffusers import LCMScheduler
    t = {}
    for cname, over in LCM_CONFIGS.items():
        for steps, strength in [(4, 1.0), (4, 0.5), (1, 1.0), (8, 0.75), (3, 1.0)]:
            key = f"{cname}.n{steps}.s{int(strength * 100)}"
            sch = LCMScheduler.from_config({**TURBO_SCHEDULER, **over})
            sch.set_timesteps(steps)
            t[f"{key}.all_timesteps"] = sch.timesteps.float()
            init_t = min(int(steps * strength), steps)
            t_start = max(steps - init_t, 0)
            ts = sch.timesteps[t_start:]
            sch.set_begin_index(t_start)
            g = torch.Generator().manual_seed(3)
            x = torch.randn((1, 4, 4, 3), generator=g)
            if strength < 1:
                x = sch.add_noise(x, torch.randn((1, 4, 4, 3), generator=g), ts[:1])
            t[f"{key}.timesteps"] = ts.float()
            t[f"{key}.x0"] = x
            step_g = torch.Generator().manual_seed(9)
            ms, xs = [], []
            for tt in ts:
                m = torch.randn((1, 4, 4, 3), generator=g) * 0.5 + 0.1 * x
                ms.append(m)
                x = sch.step(m, tt, x, generator=step_g).prev_sample
                xs.append(x)
            t[f"{key}.model_outputs"] = torch.stack(ms)
            t[f"{key}.samples"] = torch.stack(xs)
    return t


IMG2IMG_CASES = [
    # name, scheduler, w, h, steps, guidance, strength, seed, negative, taesd
    ("turbo_img2img", "turbo", 64, 64, 2, 0.0, 0.5, 21, None, False),
    ("turbo_img2img_1step", "turbo", 64, 64, 1, 0.0, 1.0, 22, None, False),
    ("turbo_img2img_cfg", "turbo", 80, 48, 4, 2.0, 0.75, 23, "blurry", False),
    ("turbo_img2img_taesd", "turbo", 64, 64, 2, 0.0, 0.5, 24, None, True),
    ("lcm_img2img", "lcm", 64, 64, 4, 1.0, 0.6, 25, None, False),
    ("lcm_img2img_taesd", "lcm", 72, 56, 4, 1.5, 1.0, 26, None, True),
]

INPAINT4_CASES = [
    ("turbo_inpaint4", "turbo", 64, 64, 2, 0.0, 1.0, 31, None, False),
    ("turbo_inpaint4_taesd", "turbo", 64, 64, 4, 0.0, 0.75, 32, None, True),
    ("lcm_inpaint4", "lcm", 80, 48, 4, 1.0, 1.0, 33, None, False),
]

# On the 9-channel tiny SD 2 inpainting model (what LCM-LoRA for an inpainting model runs).
INPAINT9_CASES = [
    ("lcm_inpaint9", "lcm", 64, 64, 4, 1.0, 1.0, 34, None, False),
    ("lcm_inpaint9_cfg_taesd", "lcm", 64, 64, 3, 2.0, 0.8, 35, "blurry", True),
]


def goldens(folder, out_dir, threads=1):
    from diffusers import AutoencoderTiny, LCMScheduler, StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline
    import fixtures_depth as fd
    torch.set_num_threads(threads)
    models = models_dir(folder)
    t = taesd_goldens(models)
    t.update(lcm_goldens())
    keys = ["name", "scheduler", "width", "height", "steps", "guidance", "strength", "seed", "negative", "taesd"]
    json.dump([dict(zip(keys, c)) for c in IMG2IMG_CASES], open(os.path.join(out_dir, "img2img_cases.json"), "w"), indent=1)
    json.dump([dict(zip(keys, c)) for c in INPAINT4_CASES], open(os.path.join(out_dir, "inpaint4_cases.json"), "w"), indent=1)
    json.dump([dict(zip(keys, c)) for c in INPAINT9_CASES], open(os.path.join(out_dir, "inpaint9_cases.json"), "w"), indent=1)
    taesd = AutoencoderTiny.from_pretrained(os.path.join(models, "tiny-taesd"))
    inpaint9 = os.path.join(models, "tiny-sd2-inpainting")
    for cls, cases, model in [(StableDiffusionImg2ImgPipeline, IMG2IMG_CASES, folder),
                              (StableDiffusionInpaintPipeline, INPAINT4_CASES, folder),
                              (StableDiffusionInpaintPipeline, INPAINT9_CASES, inpaint9)]:
        full = cls.from_pretrained(model, variant="fp16", torch_dtype=torch.float32, safety_checker=None,
                                   requires_safety_checker=False)
        tiny = cls.from_pretrained(model, variant="fp16", torch_dtype=torch.float32, safety_checker=None,
                                   requires_safety_checker=False, vae=taesd)
        base = full.scheduler.config
        for name, sch, w, h, steps, gs, strength, seed, neg, use_taesd in cases:
            pipe = tiny if use_taesd else full
            pipe.scheduler = LCMScheduler.from_config(base) if sch == "lcm" else fi.make_scheduler("euler", base)
            if cls is StableDiffusionImg2ImgPipeline:
                img = fd.test_image(w, h, seed)
                img.save(os.path.join(out_dir, f"{name}.png"))
                kw = dict(prompt="a watercolor painting", image=img)
            else:
                img, mask = fi.test_images(w, h)
                img.save(os.path.join(out_dir, f"{name}.image.png"))
                mask.save(os.path.join(out_dir, f"{name}.mask.png"))
                kw = dict(prompt="a red brick wall", image=img, mask_image=mask, height=h, width=w)
            kw.update(num_inference_steps=steps, guidance_scale=gs, strength=strength, negative_prompt=neg)
            t.update(fi.run_case(pipe, kw, seed, name))
    check_single_file(models, folder, t[f"{IMG2IMG_CASES[0][0]}.latents"])
    return t
