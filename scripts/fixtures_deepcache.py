"""DeepCache fixtures: diffusers pipelines on the tiny fixture models with the `DeepCache` package's
DeepCacheSDHelper (set_params(cache_interval=N, cache_branch_id=0)) enabled, at intervals 2 and 3
(called from make_fixtures.py; the models are the other fixture sets'). Besides the final latents and
image of each case, the golden records which UNet calls the helper ran whole: the real mid block's
forward is counted per UNet call (the helper returns its cached output on the other calls).

Cases: 9-channel inpaint (PNDM, whose repeated timestep shares one step index, and DPM++ 2M / Euler),
img2img at strength 0.6 (k0 > 0), the x4 upscaler (last up block without attention, class label),
depth2img; with and without CFG.
"""
import json
import os

import numpy as np
import torch

import fixtures_depth as fd
import fixtures_inpaint as fi
import fixtures_upscale as fu

CASES = [
    # name, job, model, scheduler, w, h, steps, guidance, strength (upscale: noise level), seed, negative, interval
    ("inpaint_pndm_i2", "inpaint", "tiny-sd2-inpainting", "pndm", 64, 64, 8, 7.5, 1.0, 21, None, 2),
    ("inpaint_pndm_i3_nocfg", "inpaint", "tiny-sd2-inpainting", "pndm", 64, 64, 10, 1.0, 1.0, 22, None, 3),
    ("inpaint_dpm2m_i3", "inpaint", "tiny-sd2-inpainting", "dpm++2m", 80, 48, 8, 7.5, 1.0, 23, "blurry", 3),
    ("inpaint_euler_i2", "inpaint", "tiny-sd2-inpainting", "euler", 64, 64, 6, 7.5, 1.0, 24, None, 2),
    ("img2img_ddim_s06_i2", "img2img", "tiny-sd21-base", "ddim", 64, 64, 10, 7.5, 0.6, 25, None, 2),
    ("img2img_pndm_s06_i3", "img2img", "tiny-sd21-base", "pndm", 64, 64, 10, 7.5, 0.6, 26, None, 3),
    ("upscale_ddim_i2", "upscale", "tiny-sd2-x4-upscaler", "ddim", 16, 16, 6, 9.0, 20, 27, None, 2),
    ("upscale_euler_a_i3", "upscale", "tiny-sd2-x4-upscaler", "euler-a", 20, 16, 7, 9.0, 20, 28, None, 3),
    ("depth_pndm_i3", "depth", "tiny-sd2-depth", "pndm", 64, 64, 10, 7.5, 0.8, 29, None, 3),
    ("depth_ddim_i2_nocfg", "depth", "tiny-sd2-depth", "ddim", 64, 64, 8, 1.0, 0.8, 30, None, 2),
]

PROMPTS = {"inpaint": "a red brick wall", "img2img": "a watercolor painting", "upscale": "a sharp photo",
           "depth": "a marble statue"}


def load_pipe(job, folder):
    import diffusers as d
    cls = {"inpaint": d.StableDiffusionInpaintPipeline, "img2img": d.StableDiffusionImg2ImgPipeline,
           "upscale": d.StableDiffusionUpscalePipeline, "depth": d.StableDiffusionDepth2ImgPipeline}[job]
    kw = {} if job in ("upscale", "depth") else dict(safety_checker=None, requires_safety_checker=False)
    return cls.from_pretrained(folder, variant="fp16", torch_dtype=torch.float32, **kw)


def cached_run(pipe, kw, seed, interval, output_type):
    """One pipeline call with a freshly enabled helper; returns the images and, per UNet call, whether
    the real mid block ran (1 = full UNet, 0 = cached branch)."""
    from DeepCache import DeepCacheSDHelper
    helper = DeepCacheSDHelper(pipe=pipe)
    helper.set_params(cache_interval=interval, cache_branch_id=0)
    helper.enable()
    calls = []
    real_unet = helper.function_dict["unet_forward"]
    real_mid = helper.function_dict[("mid", "mid_block", 0, 0)]

    def unet_forward(*a, **k):
        calls.append(0)
        return real_unet(*a, **k)

    def mid_forward(*a, **k):
        calls[-1] = 1
        return real_mid(*a, **k)
    helper.function_dict["unet_forward"] = unet_forward
    helper.function_dict[("mid", "mid_block", 0, 0)] = mid_forward
    try:
        out = pipe(**kw, generator=torch.Generator().manual_seed(seed), output_type=output_type).images
    finally:
        helper.function_dict["unet_forward"] = real_unet
        helper.function_dict[("mid", "mid_block", 0, 0)] = real_mid
        helper.disable()
    return out, calls


def goldens(root, out_dir, threads=1):
    torch.set_num_threads(threads)
    keys = ["name", "job", "model", "scheduler", "width", "height", "steps", "guidance", "strength", "seed",
            "negative", "interval"]
    cases = [dict(zip(keys, c)) for c in CASES]
    t = {}
    pipes, bases = {}, {}
    for c in cases:
        name, job = c["name"], c["job"]
        folder = os.path.join(root, "models", c["model"])
        if folder not in pipes:
            pipes[folder] = load_pipe(job, folder)
            bases[folder] = pipes[folder].scheduler.config
        pipe = pipes[folder]
        pipe.scheduler = fi.make_scheduler(c["scheduler"], bases[folder])
        w, h = c["width"], c["height"]
        kw = dict(prompt=PROMPTS[job], num_inference_steps=c["steps"], guidance_scale=c["guidance"],
                  negative_prompt=c["negative"])
        if job == "inpaint":
            img, mask = fi.test_images(w, h)
            img.save(os.path.join(out_dir, f"{name}.image.png"))
            mask.save(os.path.join(out_dir, f"{name}.mask.png"))
            kw.update(image=img, mask_image=mask, height=h, width=w, strength=c["strength"])
        elif job == "upscale":
            img = fu.test_image(w, h, c["seed"])
            img.save(os.path.join(out_dir, f"{name}.png"))
            kw.update(image=img, noise_level=int(c["strength"]))
            c["noise_level"] = int(c.pop("strength"))
        else:
            img = fd.test_image(w, h, c["seed"])
            img.save(os.path.join(out_dir, f"{name}.png"))
            kw.update(image=img, strength=c["strength"])
        lat, calls = cached_run(pipe, kw, c["seed"], c["interval"], "latent")
        out, calls2 = cached_run(pipe, kw, c["seed"], c["interval"], "np")
        assert calls == calls2 and 0 in calls, (name, calls, calls2)
        c["full_calls"] = calls
        t[f"{name}.latents"] = lat
        t[f"{name}.image"] = torch.from_numpy((out * 255).round().astype(np.uint8).astype(np.float32))
        print(f"{name}: UNet calls full/cached {calls}")
    json.dump(cases, open(os.path.join(out_dir, "pipeline_cases.json"), "w"), indent=1)
    return t
