"""txt2img fixtures: StableDiffusionPipeline goldens on the tiny SD 1.x (epsilon, PNDM) and SD 2.1-style
(v-prediction, DDIM) models, on an SD-Turbo-style model (the SD 2.1-style components with SD-Turbo's
scheduler: EulerDiscreteScheduler, "trailing" spacing, run at guidance 0 = no CFG), scheduler swaps
through from_config (which keeps the config's keys), and the 9-channel inpainting model run as
AUTOMATIC1111 runs it for txt2img (modules/processing.py txt2img_image_conditioning). Called from
make_fixtures.py ("txt2img").

For the inpainting model two references are computed and compared: a twin of A1111's algorithm
(noise, then the posterior sample of a 0.5-grey image, all-ones mask) and diffusers'
StableDiffusionInpaintPipeline on a grey image under an all-white mask at strength 1. Their largest
difference goes to inpaint9_agreement.json; the golden is diffusers'.
"""
import json
import os

import numpy as np
import torch
from PIL import Image

import fixtures_inpaint as fi

# stabilityai/sd-turbo's scheduler_config.json keys (EulerDiscreteScheduler, trailing spacing).
TURBO_SCHEDULER = {"_class_name": "EulerDiscreteScheduler", "_diffusers_version": "0.24.0.dev0", "beta_end": 0.012,
                   "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
                   "interpolation_type": "linear", "num_train_timesteps": 1000, "prediction_type": "v_prediction",
                   "sample_max_value": 1.0, "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
                   "timestep_spacing": "trailing", "timestep_type": "discrete", "trained_betas": None,
                   "use_karras_sigmas": False}

PROMPT = "a red brick wall"

CASES = [
    # name, model, scheduler (None: the model's own), w, h, steps, guidance, seed, negative
    ("sd1_pndm", "tiny-sd1", None, 64, 64, 8, 7.5, 31, None),
    ("sd1_ddim_neg", "tiny-sd1", "ddim", 80, 48, 6, 7.5, 32, "blurry"),
    ("sd1_euler_a_nocfg", "tiny-sd1", "euler-a", 64, 64, 6, 1.0, 33, None),
    ("sd21_ddim_v", "tiny-sd21-base", None, 64, 64, 8, 7.5, 34, None),
    ("sd21_dpm2m_karras_odd", "tiny-sd21-base", "dpm++2m-karras", 72, 56, 6, 5.0, 35, "ugly"),
    ("sd21_euler_nocfg", "tiny-sd21-base", "euler", 64, 48, 6, 0.0, 36, None),
    ("sd21_pndm", "tiny-sd21-base", "pndm", 64, 64, 6, 7.5, 37, None),
    ("turbo_1step", "tiny-sd-turbo-v", None, 64, 64, 1, 0.0, 38, None),
    ("turbo_4step", "tiny-sd-turbo-v", None, 64, 64, 4, 0.0, 39, None),
    ("turbo_euler_a", "tiny-sd-turbo-v", "euler-a", 64, 64, 4, 0.0, 40, None),
    ("turbo_dpm2m_cfg", "tiny-sd-turbo-v", "dpm++2m", 64, 64, 4, 2.0, 41, None),
    ("inpaint9_pndm", "tiny-sd2-inpainting", None, 64, 64, 6, 7.5, 42, "blurry"),
    ("inpaint9_euler_a_nocfg", "tiny-sd2-inpainting", "euler-a", 80, 48, 6, 1.0, 43, None),
]


def build_model(folder, inpaint_folder):
    """tiny-sd-turbo-v: the tiny SD 2.1-style model's components (symlinks) with SD-Turbo's scheduler."""
    base = os.path.join(os.path.dirname(folder), "tiny-sd21-base")
    os.makedirs(folder, exist_ok=True)
    fi.link_shared(folder, base, ["tokenizer", "text_encoder", "vae", "unet"])
    os.makedirs(os.path.join(folder, "scheduler"), exist_ok=True)
    json.dump(TURBO_SCHEDULER, open(os.path.join(folder, "scheduler", "scheduler_config.json"), "w"), indent=2)
    index = json.load(open(os.path.join(base, "model_index.json")))
    index["scheduler"] = ["diffusers", "EulerDiscreteScheduler"]
    json.dump(index, open(os.path.join(folder, "model_index.json"), "w"), indent=2)


def a1111_twin(pipe, kw, seed):
    """A1111's txt2img with an inpainting model on diffusers' components and schedulers: the noise,
    then the posterior sample of a 0.5-grey image (0 in [-1, 1]) from the same generator, an all-ones
    mask channel. Returns the final latents."""
    g = torch.Generator().manual_seed(seed)
    w, h, gs = kw["width"], kw["height"], kw["guidance_scale"]
    cfg = gs > 1
    with torch.no_grad():
        cond, uncond = pipe.encode_prompt(kw["prompt"], "cpu", 1, cfg, kw["negative_prompt"])
        ctx = torch.cat([uncond, cond]) if cfg else cond
        sch = pipe.scheduler
        sch.set_timesteps(kw["num_inference_steps"])
        f = pipe.vae_scale_factor
        lat = torch.randn((1, 4, h // f, w // f), generator=g) * sch.init_noise_sigma
        grey = pipe.vae.encode(torch.zeros(1, 3, h, w)).latent_dist.sample(g) * pipe.vae.config.scaling_factor
        c = torch.cat([torch.ones(1, 1, h // f, w // f), grey], 1)
        if cfg:
            c = torch.cat([c, c])
        for t in sch.timesteps:
            x = torch.cat([lat, lat]) if cfg else lat
            x = torch.cat([sch.scale_model_input(x, t), c], 1)
            pred = pipe.unet(x, t, encoder_hidden_states=ctx).sample
            if cfg:
                u, p = pred.chunk(2)
                pred = u + gs * (p - u)
            lat = sch.step(pred, t, lat, **pipe.prepare_extra_step_kwargs(g, 0.0)).prev_sample
    return lat


def goldens(folder, out_dir, threads=1):
    from diffusers import StableDiffusionInpaintPipeline, StableDiffusionPipeline
    torch.set_num_threads(threads)
    models = os.path.dirname(folder)
    keys = ["name", "model", "scheduler", "width", "height", "steps", "guidance", "seed", "negative"]
    json.dump([dict(zip(keys, c)) for c in CASES], open(os.path.join(out_dir, "pipeline_cases.json"), "w"), indent=1)
    t, pipes, agreement = {}, {}, {}
    for name, model, sch, w, h, steps, gs, seed, neg in CASES:
        inpainting = model == "tiny-sd2-inpainting"
        cls = StableDiffusionInpaintPipeline if inpainting else StableDiffusionPipeline
        if model not in pipes:
            p = cls.from_pretrained(os.path.join(models, model), variant="fp16", torch_dtype=torch.float32,
                                    safety_checker=None, requires_safety_checker=False)
            pipes[model] = (p, p.scheduler)
        pipe, own = pipes[model]
        pipe.scheduler = type(own).from_config(own.config) if sch is None else fi.make_scheduler(sch, own.config)
        kw = dict(prompt=PROMPT, negative_prompt=neg, height=h, width=w, num_inference_steps=steps, guidance_scale=gs)
        if inpainting:
            twin = a1111_twin(pipe, dict(kw), seed)
            kw.update(image=Image.new("RGB", (w, h), (128, 128, 128)), mask_image=Image.new("L", (w, h), 255),
                      strength=1.0)
        t.update(fi.run_case(pipe, kw, seed, name))
        if inpainting:
            agreement[name] = float((twin - t[f"{name}.latents"]).abs().max())
    if threads == 1:
        json.dump(agreement, open(os.path.join(out_dir, "inpaint9_agreement.json"), "w"), indent=1, sort_keys=True)
    return t
