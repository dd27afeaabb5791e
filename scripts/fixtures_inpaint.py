"""Inpaint fixtures: a tiny random SD2-inpainting model in the exact diffusers folder layout, and golden
outputs of every component and of StableDiffusionInpaintPipeline (called from make_fixtures.py).

The model doubles as the README's demo model (fixtures/models/tiny-sd2-inpainting). Its tokenizer is the
real CLIP vocabulary, built from the BPE file open-clip-torch ships; weights are random, stored as the fp16
variant (halves the size, exercises F16 loading) and loaded by diffusers with variant="fp16" in float32.
"""
import gzip
import json
import os

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

SD2_SCHEDULER = {
    "_class_name": "PNDMScheduler", "_diffusers_version": "0.8.0", "beta_end": 0.012,
    "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
    "num_train_timesteps": 1000, "set_alpha_to_one": False, "skip_prk_steps": True,
    "steps_offset": 1, "trained_betas": None,
}

PROMPTS = [
    "a photo of an astronaut riding a horse on mars",
    "",
    "A Red Brick Wall",
    "a cat!!! sitting on a mat!",
    "don't stop, it's 2024 & we're   here",
    "rock'n'roll, 1234567 numbers",
    "emoji 🎨🖌️ and symbols ©®™",
    "ÉCOLE Über straße café naïve",
    "日本語のテキスト 中文 한국어",
    "tabs\tand\nnewlines  and\u00a0nbsp",
    "<|startoftext|>special tokens<|endoftext|> inside",
    "a " * 40 + "very long prompt that will be truncated after seventy five tokens " * 3,
    "word " * 100,
    "hyphen-ated, comma,separated;semi:colon",
    "UPPER lower MiXeD",
    "(((masterpiece))), [best quality], {detailed}",
    "a photo of a dog -- high res -- 8k",
    "price: $100.50 / 50% off",
    "email@example.com http://example.com/path?x=1",
    "accents àéîõü ÀÉÎÕÜ ñ ç",
    "'quoted' \"double\" `back`",
    "ends with punctuation...",
    "under_score and x__y",
    "Ωmega αβγ ∑∫",
]


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def write_tokenizer(folder):
    """vocab.json/merges.txt exactly as the SD2 repos ship them, built from open_clip's BPE merges."""
    import open_clip
    path = os.path.join(os.path.dirname(open_clip.__file__), "bpe_simple_vocab_16e6.txt.gz")
    lines = gzip.open(path).read().decode("utf-8").split("\n")
    merges = lines[1:49152 - 256 - 2 + 1]
    chars = bytes_to_unicode()
    vocab = chars + [c + "</w>" for c in chars] + ["".join(m.split()) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    os.makedirs(folder, exist_ok=True)
    json.dump({t: i for i, t in enumerate(vocab)}, open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8"),
              ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")
    tok = lambda c: {"content": c, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    json.dump({"add_prefix_space": False, "bos_token": {"__type": "AddedToken", **tok("<|startoftext|>")},
               "do_lower_case": True, "eos_token": {"__type": "AddedToken", **tok("<|endoftext|>")},
               "errors": "replace", "model_max_length": 77, "pad_token": "<|endoftext|>",
               "special_tokens_map_file": "./special_tokens_map.json", "tokenizer_class": "CLIPTokenizer",
               "unk_token": {"__type": "AddedToken", **tok("<|endoftext|>")}},
              open(os.path.join(folder, "tokenizer_config.json"), "w"), indent=2)
    json.dump({"bos_token": tok("<|startoftext|>"), "eos_token": tok("<|endoftext|>"), "pad_token": "!",
               "unk_token": tok("<|endoftext|>")}, open(os.path.join(folder, "special_tokens_map.json"), "w"), indent=2)


def link_shared(folder, source_folder, parts):
    """Components shared with a sibling model, as relative symlinks (as a Hugging Face cache links blobs)."""
    for shared in parts:
        link = os.path.join(folder, shared)
        if not os.path.islink(link):
            os.symlink(os.path.join("..", os.path.basename(source_folder), shared), link)


def fp16_exact(module):
    """Round every parameter to fp16 so the fp16 files and the float32 reference hold the same values."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(p.half().float())
    return module


def randomize(module, seed, scale=None):
    """Random weights with a spread that keeps activations O(1) through the tiny nets."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
            elif p.dim() == 1:  # norm weights
                p.copy_(1 + torch.randn(p.shape, generator=g) * 0.1)
            else:
                fan_in = p[0].numel() if p.dim() > 1 else 1
                p.copy_(torch.randn(p.shape, generator=g) / np.sqrt(fan_in) * (scale or 1.0))
    return fp16_exact(module)


def build_model(folder):
    from diffusers import AutoencoderKL, PNDMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel
    os.makedirs(folder, exist_ok=True)
    write_tokenizer(os.path.join(folder, "tokenizer"))
    te = CLIPTextModel(CLIPTextConfig(hidden_size=32, intermediate_size=64, num_attention_heads=4,
                                      num_hidden_layers=2, vocab_size=49408, max_position_embeddings=77,
                                      hidden_act="gelu", layer_norm_eps=1e-5, projection_dim=32))
    randomize(te, 1).half().save_pretrained(os.path.join(folder, "text_encoder"), variant="fp16")
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=[8, 16, 16, 16],
                        down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                        layers_per_block=1, norm_num_groups=4, sample_size=64)
    randomize(vae, 2).half().save_pretrained(os.path.join(folder, "vae"), variant="fp16")
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=9, out_channels=4, layers_per_block=2, block_out_channels=[16, 32, 32],
        down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
        up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
        attention_head_dim=[2, 4, 4], cross_attention_dim=32, norm_num_groups=8, norm_eps=1e-5,
        use_linear_projection=True, flip_sin_to_cos=True, freq_shift=0, act_fn="silu")
    randomize(unet, 3).half().save_pretrained(os.path.join(folder, "unet"), variant="fp16")
    os.makedirs(os.path.join(folder, "scheduler"), exist_ok=True)
    json.dump(SD2_SCHEDULER, open(os.path.join(folder, "scheduler", "scheduler_config.json"), "w"), indent=2)
    json.dump({"_class_name": "StableDiffusionInpaintPipeline", "_diffusers_version": "0.8.0",
               "feature_extractor": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
               "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
               "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
               "vae": ["diffusers", "AutoencoderKL"]}, open(os.path.join(folder, "model_index.json"), "w"), indent=2)
    return folder


SCHEDULERS = ["pndm", "ddim", "dpm++2m", "dpm++2m-karras", "euler", "euler-a"]


def run_case(pipe, kw, seed, name):
    """One golden case: the pipeline's final latents and its 8-bit image, each from a fresh generator."""
    lat = pipe(**kw, generator=torch.Generator().manual_seed(seed), output_type="latent").images
    out = pipe(**kw, generator=torch.Generator().manual_seed(seed), output_type="np").images
    return {f"{name}.latents": lat,
            f"{name}.image": torch.from_numpy((out * 255).round().astype(np.uint8).astype(np.float32))}


def make_scheduler(name, config):
    """The scheduler a user gets by swapping classes in diffusers (XScheduler.from_config)."""
    import diffusers as d
    cls = {"pndm": d.PNDMScheduler, "ddim": d.DDIMScheduler, "dpm++2m": d.DPMSolverMultistepScheduler,
           "dpm++2m-karras": d.DPMSolverMultistepScheduler, "euler": d.EulerDiscreteScheduler,
           "euler-a": d.EulerAncestralDiscreteScheduler}[name]
    extra = {"use_karras_sigmas": True} if name == "dpm++2m-karras" else {}
    return cls.from_config(config, **extra)


def component_goldens(folder, out_path):
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer
    t = {}
    tok = CLIPTokenizer.from_pretrained(os.path.join(folder, "tokenizer"))
    ids = torch.tensor([tok(p, padding="max_length", max_length=77, truncation=True).input_ids for p in PROMPTS])
    t["tokenizer.ids"] = ids.float()
    json.dump(PROMPTS, open(os.path.join(os.path.dirname(out_path), "prompts.json"), "w"), ensure_ascii=False, indent=0)
    te = CLIPTextModel.from_pretrained(os.path.join(folder, "text_encoder"), variant="fp16", torch_dtype=torch.float32)
    with torch.no_grad():
        t["text.ids"] = ids[:3].float()
        t["text.hidden"] = te(ids[:3])[0]
    vae = AutoencoderKL.from_pretrained(os.path.join(folder, "vae"), variant="fp16", torch_dtype=torch.float32)
    g = torch.Generator().manual_seed(11)
    x = torch.rand((1, 3, 64, 48), generator=g) * 2 - 1
    with torch.no_grad():
        dist = vae.encode(x).latent_dist
        t.update({"vae.x": x, "vae.mean": dist.mean, "vae.std": dist.std,
                  "vae.sample_seed5": dist.sample(torch.Generator().manual_seed(5))})
        z = torch.randn((1, 4, 8, 6), generator=g)
        t.update({"vae.z": z, "vae.decoded": vae.decode(z).sample})
    unet = UNet2DConditionModel.from_pretrained(os.path.join(folder, "unet"), variant="fp16", torch_dtype=torch.float32)
    with torch.no_grad():
        s, c = torch.randn((2, 9, 8, 6), generator=g), torch.randn((2, 77, 32), generator=g)
        t.update({"unet.sample": s, "unet.context": c,
                  "unet.out_t981": unet(s, torch.tensor(981), encoder_hidden_states=c).sample,
                  "unet.out_t978f": unet(s, torch.tensor(978.6122436523438), encoder_hidden_states=c).sample})
        odd = torch.randn((1, 9, 9, 7), generator=g)
        t.update({"unet.odd": odd, "unet.out_odd": unet(odd, torch.tensor(500), encoder_hidden_states=c[:1]).sample})
    save_file({k: v.contiguous().float() for k, v in t.items()}, out_path)
    print(f"wrote {out_path}")


def scheduler_goldens(out_path):
    """Each scheduler over 10 steps (and sliced for strength 0.6) on recorded model outputs."""
    t = {}
    for name in SCHEDULERS:
        for steps, strength in [(10, 1.0), (10, 0.6), (7, 1.0)]:
            key = f"{name}.n{steps}.s{int(strength * 100)}"
            sch = make_scheduler(name, SD2_SCHEDULER)
            sch.set_timesteps(steps)
            init_t = min(int(steps * strength), steps)
            t_start = max(steps - init_t, 0)
            ts = sch.timesteps[t_start * sch.order:]
            if hasattr(sch, "set_begin_index"):
                sch.set_begin_index(t_start * sch.order)
            g = torch.Generator().manual_seed(3)
            x = torch.randn((1, 4, 4, 3), generator=g)
            if strength < 1:
                noise = torch.randn((1, 4, 4, 3), generator=g)
                x = sch.add_noise(x, noise, ts[:1])
            else:
                x = x * sch.init_noise_sigma
            t[f"{key}.timesteps"] = ts.float()
            t[f"{key}.x0"] = x
            step_g = torch.Generator().manual_seed(9)
            ms, xs, scales = [], [], []
            for i, tt in enumerate(ts):
                scales.append(sch.scale_model_input(torch.ones(1), tt))
                m = torch.randn((1, 4, 4, 3), generator=g) * 0.5 + 0.1 * x
                ms.append(m)
                # As the pipelines' prepare_extra_step_kwargs: pass the generator only where step takes one.
                import inspect
                extra = {"generator": step_g} if "generator" in inspect.signature(sch.step).parameters else {}
                x = sch.step(m, tt, x, **extra).prev_sample
                xs.append(x)
            t[f"{key}.m"] = torch.stack(ms)
            t[f"{key}.x"] = torch.stack(xs)
            t[f"{key}.scale"] = torch.cat(scales)
            t[f"{key}.init_sigma"] = torch.tensor([float(sch.init_noise_sigma)])
    a = make_scheduler("pndm", SD2_SCHEDULER)
    t["alphas_cumprod"] = a.alphas_cumprod
    save_file({k: v.contiguous().float() for k, v in t.items()}, out_path)
    print(f"wrote {out_path}")


def test_images(w, h):
    """A smooth RGB picture and a rectangular mask (white = repaint), both PNG."""
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([(xx * 255 // max(1, w - 1)), (yy * 255 // max(1, h - 1)),
                    ((xx + yy) * 3) % 256], -1).astype(np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[h // 4: h // 4 + h // 2, w // 3: w // 3 + w // 3] = 255
    return Image.fromarray(img, "RGB"), Image.fromarray(mask, "L")


PIPELINE_CASES = [
    # name, scheduler, w, h, steps, guidance, strength, seed, negative
    ("pndm_cfg_neg", "pndm", 64, 64, 8, 7.5, 1.0, 42, "blurry"),
    ("pndm_nocfg", "pndm", 64, 64, 8, 1.0, 1.0, 1, None),
    ("ddim_strength", "ddim", 64, 64, 10, 7.5, 0.6, 3, None),
    ("ddim", "ddim", 64, 64, 6, 7.5, 1.0, 4, None),
    ("dpm2m", "dpm++2m", 64, 64, 6, 7.5, 1.0, 5, None),
    ("dpm2m_karras", "dpm++2m-karras", 64, 64, 6, 7.5, 1.0, 6, None),
    ("euler", "euler", 64, 64, 6, 7.5, 1.0, 7, None),
    ("euler_a", "euler-a", 64, 64, 6, 7.5, 1.0, 8, None),
    ("euler_strength", "euler", 64, 64, 10, 7.5, 0.5, 12, None),
    ("nonsquare", "pndm", 80, 48, 6, 7.5, 1.0, 9, None),
    ("odd_latent", "euler-a", 72, 56, 6, 5.0, 0.8, 10, "ugly"),
]


def pipeline_goldens(folder, out_dir, threads=1):
    from diffusers import StableDiffusionInpaintPipeline
    torch.set_num_threads(threads)
    pipe = StableDiffusionInpaintPipeline.from_pretrained(folder, variant="fp16", torch_dtype=torch.float32,
                                                          safety_checker=None, requires_safety_checker=False)
    base = pipe.scheduler.config
    keys = ["name", "scheduler", "width", "height", "steps", "guidance", "strength", "seed", "negative"]
    json.dump([dict(zip(keys, c)) for c in PIPELINE_CASES], open(os.path.join(out_dir, "pipeline_cases.json"), "w"), indent=1)
    t = {}
    for name, sch, w, h, steps, gs, strength, seed, neg in PIPELINE_CASES:
        pipe.scheduler = make_scheduler(sch, base)
        img, mask = test_images(w, h)
        img.save(os.path.join(out_dir, f"{name}.image.png"))
        mask.save(os.path.join(out_dir, f"{name}.mask.png"))
        kw = dict(prompt="a red brick wall", image=img, mask_image=mask, height=h, width=w,
                  num_inference_steps=steps, guidance_scale=gs, strength=strength, negative_prompt=neg)
        t.update(run_case(pipe, kw, seed, name))
    return t


CROP_CASES = [
    # name, image w, h, mask box (x0, y0, x1, y1), padding, work size, steps, seed
    ("crop_center", 160, 120, (70, 50, 94, 74), 8, 64, 6, 21),
    ("crop_wide_mask", 200, 150, (60, 60, 120, 80), 12, 64, 6, 22),
]


def crop_pipeline_goldens(folder, out_dir):
    """StableDiffusionInpaintPipeline with padding_mask_crop (diffusers crops around the mask, resizes
    the crop to height×width, inpaints, and pastes it back with apply_overlay) on images larger than the
    working size. Masks are placed so the box never meets the image edge (where sdedit keeps the box's
    aspect instead of diffusers' fill bands) and the box is square like the 64×64 working size."""
    from diffusers import StableDiffusionInpaintPipeline
    pipe = StableDiffusionInpaintPipeline.from_pretrained(folder, variant="fp16", torch_dtype=torch.float32,
                                                          safety_checker=None, requires_safety_checker=False)
    keys = ["name", "width", "height", "box", "padding", "work", "steps", "seed"]
    json.dump([dict(zip(keys, c)) for c in CROP_CASES], open(os.path.join(out_dir, "crop_cases.json"), "w"), indent=1)
    t = {}
    for name, w, h, (x0, y0, x1, y1), pad, work, steps, seed in CROP_CASES:
        img, _ = test_images(w, h)
        mask = np.zeros((h, w), np.uint8)
        mask[y0:y1, x0:x1] = 255
        img.save(os.path.join(out_dir, f"{name}.image.png"))
        Image.fromarray(mask, "L").save(os.path.join(out_dir, f"{name}.mask.png"))
        crop = pipe.mask_processor.get_crop_region(Image.fromarray(mask, "L"), work, work, pad=pad)
        out = pipe(prompt="a red brick wall", image=img, mask_image=Image.fromarray(mask, "L"), height=work, width=work,
                   padding_mask_crop=pad, num_inference_steps=steps, generator=torch.Generator().manual_seed(seed),
                   output_type="pil").images[0]
        t[f"{name}.image"] = torch.from_numpy(np.asarray(out).astype(np.float32))
        t[f"{name}.box"] = torch.tensor([float(v) for v in crop])
    return t
