"""Masked-content fixtures (sdedit inpaint --fill): a twin of AUTOMATIC1111's algorithm
(modules/processing.py StableDiffusionProcessingImg2Img.init, inpainting_fill 0/2/3, and
modules/masking.py fill()) written here from its description, applied around diffusers'
StableDiffusionInpaintPipeline. Called from make_fixtures.py ("fill").

- fill: A1111's fill() on the image (Pillow: premultiplied paste through the inverted mask, Gaussian
  blurs at radii 256/64/16/4/2/0 alpha-composited 1/1/2/4/2/1 times), then the pipeline on it.
- latent-noise / latent-nothing: the image latents under the mask (resized to latent size with
  Pillow's default resample, /255, rounded) replaced by noise from a fresh generator on the seed, or
  zeros, in the pipeline's start (the first add_noise); the base model's later blends keep the
  original latents.
"""
import json
import os

import numpy as np
import torch
from PIL import Image, ImageFilter, ImageOps

import fixtures_inpaint as fi

FILL_LAYERS = [(256, 1), (64, 1), (16, 2), (4, 4), (2, 2), (0, 1)]


def a1111_fill(image, mask):
    """masking.fill: the colours outside the mask blurred into it."""
    canvas = Image.new("RGBA", (image.width, image.height))
    masked = Image.new("RGBa", (image.width, image.height))
    masked.paste(image.convert("RGBA").convert("RGBa"), mask=ImageOps.invert(mask.convert("L")))
    masked = masked.convert("RGBa")
    for radius, repeats in FILL_LAYERS:
        blurred = masked.filter(ImageFilter.GaussianBlur(radius)).convert("RGBA")
        for _ in range(repeats):
            canvas.alpha_composite(blurred)
    return canvas.convert("RGB")


def latent_edit(z, mask, content, seed):
    """inpainting_fill 2 (latent noise) or 3 (latent nothing) on image latents z [1, C, h, w]."""
    lat = mask.convert("RGB").resize((z.shape[3], z.shape[2]))
    nmask = torch.from_numpy(np.around(np.moveaxis(np.array(lat, dtype=np.float32), 2, 0)[0] / 255))
    kept = z * (1 - nmask)
    if content == "latent-nothing":
        return kept
    return kept + torch.randn(z.shape, generator=torch.Generator().manual_seed(seed)) * nmask


FILL_IMAGES = [
    # name, w, h, mask box (x0, y0, x1, y1)
    ("square", 64, 64, (16, 16, 48, 40)),
    ("odd", 37, 23, (5, 3, 30, 20)),
    ("edge", 80, 48, (0, 10, 30, 48)),
    ("wide_mask", 300, 40, (20, 0, 290, 40)),
]

CASES = [
    # name, model, scheduler, w, h, steps, guidance, strength, seed, content
    ("fill_ddim", "tiny-sd2-inpainting", "ddim", 64, 64, 8, 7.5, 0.6, 51, "fill"),
    ("latent_noise_euler_a", "tiny-sd2-inpainting", "euler-a", 64, 64, 8, 7.5, 0.75, 52, "latent-noise"),
    ("latent_nothing_dpm2m", "tiny-sd2-inpainting", "dpm++2m", 80, 48, 6, 1.0, 0.7, 53, "latent-nothing"),
    ("latent_nothing_strength1", "tiny-sd2-inpainting", "pndm", 64, 64, 6, 7.5, 1.0, 54, "latent-nothing"),
    ("base4_latent_noise", "tiny-sd21-base", "ddim", 64, 64, 8, 7.5, 0.7, 55, "latent-noise"),
    ("base4_fill", "tiny-sd21-base", "euler", 72, 56, 6, 7.5, 0.8, 56, "fill"),
]


def build_model(folder, inpaint_folder):
    """No model of its own: the cases run the inpainting and SD 2.1-style fixture models."""


def fill_images(out_dir):
    t = {}
    for name, w, h, (x0, y0, x1, y1) in FILL_IMAGES:
        img, _ = fi.test_images(w, h)
        mask = np.zeros((h, w), np.uint8)
        mask[y0:y1, x0:x1] = 255
        img.save(os.path.join(out_dir, f"fill_{name}.image.png"))
        Image.fromarray(mask, "L").save(os.path.join(out_dir, f"fill_{name}.mask.png"))
        t[f"fill_{name}.filled"] = torch.from_numpy(np.asarray(a1111_fill(img, Image.fromarray(mask, "L"))).astype(np.float32))
    return t


def goldens(folder, out_dir, threads=1):
    from diffusers import StableDiffusionInpaintPipeline
    torch.set_num_threads(threads)
    models = os.path.dirname(folder)
    keys = ["name", "model", "scheduler", "width", "height", "steps", "guidance", "strength", "seed", "content"]
    json.dump([dict(zip(keys, c)) for c in CASES], open(os.path.join(out_dir, "pipeline_cases.json"), "w"), indent=1)
    t = fill_images(out_dir)
    pipes = {}
    for name, model, sch, w, h, steps, gs, strength, seed, content in CASES:
        if model not in pipes:
            p = StableDiffusionInpaintPipeline.from_pretrained(
                os.path.join(models, model), variant="fp16", torch_dtype=torch.float32, safety_checker=None,
                requires_safety_checker=False)
            pipes[model] = (p, p.scheduler.config)
        pipe, own = pipes[model]
        img, mask = fi.test_images(w, h)
        img.save(os.path.join(out_dir, f"{name}.image.png"))
        mask.save(os.path.join(out_dir, f"{name}.mask.png"))
        if content == "fill":
            img = a1111_fill(img, mask)
        kw = dict(prompt="a red brick wall", image=img, mask_image=mask, height=h, width=w, num_inference_steps=steps,
                  guidance_scale=gs, strength=strength)

        def fresh_scheduler():
            s = fi.make_scheduler(sch, own)
            if content.startswith("latent"):
                add_noise = s.add_noise
                calls = [0]

                def first_edited(original, noise, timesteps):
                    calls[0] += 1
                    if calls[0] == 1:
                        original = latent_edit(original, mask, content, seed)
                    return add_noise(original, noise, timesteps)
                s.add_noise = first_edited
            return s

        # One scheduler per pipeline call, so each run edits its own first add_noise.
        pipe.scheduler = fresh_scheduler()
        lat = pipe(**kw, generator=torch.Generator().manual_seed(seed), output_type="latent").images
        pipe.scheduler = fresh_scheduler()
        out = pipe(**kw, generator=torch.Generator().manual_seed(seed), output_type="np").images
        t[f"{name}.latents"] = lat
        t[f"{name}.image"] = torch.from_numpy((out * 255).round().astype(np.uint8).astype(np.float32))
    return t
