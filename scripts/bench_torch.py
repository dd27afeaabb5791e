#!/usr/bin/env python3
"""PyTorch twin of `sdedit bench core`: the same shapes, timed the same way (1 warm-up, median of N).

    venv/bin/python scripts/bench_torch.py --threads 2 --repeat 3     # prints one JSON object

`sdedit bench` runs this itself when it finds a Python with torch (see --torch-python), so every
ratio is measured back to back on the same machine in the same run.
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F


def median(fn, warmup, repeat):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    return ts[len(ts) // 2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--only", default="")
    p.add_argument("--suite", default="core", choices=["core", "inpaint", "inpaint-full", "upscale", "depth", "depth-full",
                                                    "turbo", "turbo-job", "lora"])
    p.add_argument("--model", default="bench-models/sd2-inpainting")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--no-full", action="store_true")
    p.add_argument("--taesd", default="bench-models/taesd")
    p.add_argument("--strength", type=float, default=0.5)
    p.add_argument("--tiny-vae", action="store_true")
    p.add_argument("--lora", default="bench-models/lora-r32.safetensors")
    p.add_argument("--bf16", action="store_true", help="also time torch.autocast('cpu', torch.bfloat16)")
    a = p.parse_args()
    if a.suite == "upscale":
        return upscale(a)
    if a.suite in ("depth", "depth-full"):
        return depth(a)
    if a.suite in ("turbo", "turbo-job"):
        return turbo(a)
    if a.suite == "lora":
        return lora(a)
    if a.suite != "core":
        return inpaint(a)
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    r = lambda *s: torch.randn(*s, generator=g)
    cases = {}
    with torch.inference_mode():
        x, w, b = r(2, 320, 64, 64), r(320, 320, 3, 3), r(320)
        cases["conv3x3_320_64x64_b2"] = lambda: F.conv2d(x, w, b, padding=1)
        x2, w2, b2 = r(2, 1280, 8, 8), r(1280, 1280, 3, 3), r(1280)
        cases["conv3x3_1280_8x8_b2"] = lambda: F.conv2d(x2, w2, b2, padding=1)
        x1 = x2[:1].contiguous()
        cases["conv3x3_1280_8x8_b1"] = lambda: F.conv2d(x1, w2, b2, padding=1)
        x4, w4, b4 = r(1, 64, 512, 512), r(64, 64, 3, 3), r(64)
        cases["conv3x3s2_64_512x512_b1"] = lambda: F.conv2d(x4, w4, b4, stride=2, padding=1)
        lx, lw, lb = r(8192, 320), r(2560, 320), r(2560)
        cases["linear_8192x320_2560"] = lambda: F.linear(lx, lw, lb)
        q, k, v = r(2, 5, 4096, 64), r(2, 5, 4096, 64), r(2, 5, 4096, 64)
        cases["attention_2x5x4096x64"] = lambda: F.scaled_dot_product_attention(q, k, v)
        x3, w3, b3 = r(2, 1280, 16, 16), r(1280, 1280, 3, 3), r(1280)
        cases["conv3x3_1280_16x16_b2"] = lambda: F.conv2d(x3, w3, b3, padding=1)
        x3b1 = x3[:1].contiguous()
        cases["conv3x3_1280_16x16_b1"] = lambda: F.conv2d(x3b1, w3, b3, padding=1)
        x5, w5, b5 = r(1, 640, 32, 32), r(640, 640, 3, 3), r(640)
        cases["conv3x3_640_32x32_b1"] = lambda: F.conv2d(x5, w5, b5, padding=1)
        if a.bf16:
            # As sdedit's bf16 cases: weights stored in bf16, fp32 activations cast by autocast.
            bw, bw2, blw = w.bfloat16(), w2.bfloat16(), lw.bfloat16()
            cases["conv3x3_320_64x64_b2_bf16"] = lambda: F.conv2d(x, bw, b, padding=1)
            cases["conv3x3_1280_8x8_b2_bf16"] = lambda: F.conv2d(x2, bw2, b2, padding=1)
            cases["conv3x3_1280_8x8_b1_bf16"] = lambda: F.conv2d(x1, bw2, b2, padding=1)
            cases["conv3x3_1280_16x16_b2_bf16"] = lambda: F.conv2d(x3, w3.bfloat16(), b3, padding=1)
            cases["conv3x3_1280_16x16_b1_bf16"] = lambda: F.conv2d(x3b1, w3.bfloat16(), b3, padding=1)
            cases["conv3x3_640_32x32_b1_bf16"] = lambda: F.conv2d(x5, w5.bfloat16(), b5, padding=1)
            cases["linear_8192x320_2560_bf16"] = lambda: F.linear(lx, blw, lb)
            cases["attention_2x5x4096x64_bf16"] = lambda: F.scaled_dot_product_attention(q, k, v)
        out = {"torch": torch.__version__, "threads": a.threads, "seconds": {}}
        for name, fn in cases.items():
            if a.only and a.only not in name:
                continue
            if name.endswith("_bf16"):
                with torch.autocast("cpu", torch.bfloat16):
                    out["seconds"][name] = median(fn, 1, a.repeat)
            else:
                out["seconds"][name] = median(fn, 1, a.repeat)
    print(json.dumps(out))


def inpaint(a):
    """Same work as `sdedit bench inpaint`: UNet step (512², CFG batch 2), VAE encode/decode, full run."""
    import os
    import resource
    import subprocess
    import sys
    torch.set_num_threads(a.threads)
    if a.suite == "inpaint-full":
        import numpy as np
        from diffusers import StableDiffusionInpaintPipeline
        from PIL import Image
        g = torch.Generator().manual_seed(1)
        img = Image.fromarray((torch.rand((512, 512, 3), generator=g) * 255).byte().numpy(), "RGB")
        m = np.zeros((512, 512), np.uint8)
        m[128:384, 128:384] = 255
        # The whole job, model load included, as `sdedit inpaint` is timed.
        t0 = time.perf_counter()
        pipe = StableDiffusionInpaintPipeline.from_pretrained(a.model, torch_dtype=torch.float32, safety_checker=None,
                                                              requires_safety_checker=False)
        with torch.inference_mode():
            pipe(prompt="a red brick wall", image=img, mask_image=Image.fromarray(m, "L"), height=512, width=512,
                 num_inference_steps=a.steps, generator=torch.Generator().manual_seed(0))
        print(json.dumps({"full": time.perf_counter() - t0,
                          "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
        return
    # The full run first, before this process loads anything: a child's ru_maxrss includes the
    # parent's RSS at the time it was started (it runs in the parent's address space until exec).
    full = None
    if not a.no_full:
        r = subprocess.run([sys.executable, __file__, "--suite", "inpaint-full", "--model", a.model,
                            "--threads", str(a.threads), "--steps", str(a.steps)], capture_output=True, text=True, check=True)
        full = json.loads(r.stdout.strip().splitlines()[-1])
    from diffusers import AutoencoderKL, StableDiffusionInpaintPipeline, UNet2DConditionModel
    out = {"torch": torch.__version__, "threads": a.threads, "seconds": {}}
    # Model load from a warm page cache: the whole pipeline (text encoder, UNet, VAE), as sdedit loads it.
    StableDiffusionInpaintPipeline.from_pretrained(a.model, torch_dtype=torch.float32, safety_checker=None,
                                                   requires_safety_checker=False)

    def load():
        StableDiffusionInpaintPipeline.from_pretrained(a.model, torch_dtype=torch.float32, safety_checker=None,
                                                       requires_safety_checker=False)
    out["seconds"]["model_load"] = median(load, 0, a.repeat)
    with torch.inference_mode():
        unet = UNet2DConditionModel.from_pretrained(os.path.join(a.model, "unet"), torch_dtype=torch.float32)
        g = torch.Generator().manual_seed(0)
        x = torch.randn((2, unet.config.in_channels, 64, 64), generator=g)
        ctx = torch.randn((2, 77, unet.config.cross_attention_dim), generator=g)
        out["seconds"]["unet_step"] = median(lambda: unet(x, 981, encoder_hidden_states=ctx), 1, a.repeat)
        if a.bf16:
            # Fidelity of autocast bf16: relative L2 of the UNet step output against fp32.
            ref = unet(x, 981, encoder_hidden_states=ctx).sample
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out["seconds"]["unet_step_bf16"] = median(lambda: unet(x, 981, encoder_hidden_states=ctx), 1, a.repeat)
                y = unet(x, 981, encoder_hidden_states=ctx).sample.float()
            out["unet_bf16_rel_l2"] = float((y - ref).norm() / ref.norm())
        del unet
        vae = AutoencoderKL.from_pretrained(os.path.join(a.model, "vae"), torch_dtype=torch.float32)
        img = torch.rand((1, 3, 512, 512), generator=g) * 2 - 1
        out["seconds"]["vae_encode"] = median(lambda: vae.encode(img).latent_dist.sample(g), 1, a.repeat)
        z = torch.randn((1, 4, 64, 64), generator=g)
        out["seconds"]["vae_decode"] = median(lambda: vae.decode(z), 1, a.repeat)
        if a.bf16:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out["seconds"]["vae_encode_bf16"] = median(lambda: vae.encode(img).latent_dist.sample(g), 1, a.repeat)
                out["seconds"]["vae_decode_bf16"] = median(lambda: vae.decode(z), 1, a.repeat)
    if full is not None:
        out["seconds"]["full"] = full["full"]
        out["full_peak_rss_mib"] = full["peak_rss_mib"]
    print(json.dumps(out))


def turbo(a):
    """Same work as `sdedit bench turbo`: one whole SD-Turbo img2img job per fresh process (load included),
    with the model's VAE or with AutoencoderTiny (TAESD) as the pipeline's vae."""
    import resource
    import subprocess
    import sys
    if a.suite == "turbo-job":
        t_imports = time.perf_counter()
        from diffusers import AutoencoderTiny, StableDiffusionImg2ImgPipeline
        from PIL import Image
        t0 = time.perf_counter()
        torch.set_num_threads(a.threads)
        extra = {"vae": AutoencoderTiny.from_pretrained(a.taesd, torch_dtype=torch.float32)} if a.tiny_vae else {}
        pipe = StableDiffusionImg2ImgPipeline.from_pretrained(a.model, torch_dtype=torch.float32, safety_checker=None,
                                                              requires_safety_checker=False, **extra)
        g = torch.Generator().manual_seed(1)
        img = Image.fromarray((torch.rand((512, 512, 3), generator=g) * 255).byte().numpy(), "RGB")
        with torch.inference_mode():
            out = pipe(prompt="a red brick wall", image=img, num_inference_steps=a.steps, strength=a.strength,
                       guidance_scale=0.0, generator=torch.Generator().manual_seed(0)).images[0]
        out.save("/dev/null", format="PNG")
        print(json.dumps({"job": time.perf_counter() - t0, "imports": t0 - t_imports,
                          "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
        return
    out = {"torch": torch.__version__, "threads": a.threads, "seconds": {}, "peak_rss_mib": {}}
    for key, tiny in [("job_vae", False), ("job_taesd", True)]:
        if a.only and key not in a.only.split(","):
            continue
        args = [sys.executable, __file__, "--suite", "turbo-job", "--model", a.model, "--taesd", a.taesd,
                "--threads", str(a.threads), "--steps", str(a.steps), "--strength", str(a.strength)]
        args += ["--tiny-vae"] if tiny else []
        runs = []
        for _ in range(1 + max(1, a.repeat)):  # the first run warms the page cache
            r = subprocess.run(args, capture_output=True, text=True, check=True)
            runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
        runs = sorted(runs[1:], key=lambda j: j["job"])
        mid = runs[len(runs) // 2]
        out["seconds"][key] = mid["job"]
        out["seconds"]["python_imports"] = mid["imports"]
        out["peak_rss_mib"][key] = mid["peak_rss_mib"]
    print(json.dumps(out))


def lora(a):
    """Same work as `sdedit bench lora`: the pipeline's from_pretrained, and the same followed by
    load_lora_weights + fuse_lora (the LoRA merged into the weights, as sdedit merges it at load)."""
    from diffusers import StableDiffusionPipeline
    torch.set_num_threads(a.threads)

    def load(with_lora):
        pipe = StableDiffusionPipeline.from_pretrained(a.model, torch_dtype=torch.float32, safety_checker=None,
                                                       requires_safety_checker=False)
        if with_lora:
            pipe.load_lora_weights(a.lora)
            pipe.fuse_lora(lora_scale=1.0)
        return pipe
    out = {"torch": torch.__version__, "threads": a.threads,
           "seconds": {"load": median(lambda: load(False), 1, a.repeat),
                       "load_lora": median(lambda: load(True), 1, a.repeat)}}
    print(json.dumps(out))


def upscale(a):
    """Same work as `sdedit bench upscale`: x4 UNet step (128² input, CFG batch 2), f=4 VAE decode to 512²."""
    import os
    from diffusers import AutoencoderKL, UNet2DConditionModel
    torch.set_num_threads(a.threads)
    out = {"torch": torch.__version__, "threads": a.threads, "seconds": {}}
    with torch.inference_mode():
        unet = UNet2DConditionModel.from_pretrained(os.path.join(a.model, "unet"), torch_dtype=torch.float32)
        g = torch.Generator().manual_seed(0)
        x = torch.randn((2, unet.config.in_channels, 128, 128), generator=g)
        ctx = torch.randn((2, 77, unet.config.cross_attention_dim), generator=g)
        labels = torch.tensor([20, 20])
        out["seconds"]["unet_step"] = median(lambda: unet(x, 963, encoder_hidden_states=ctx, class_labels=labels), 1, a.repeat)
        if a.bf16:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out["seconds"]["unet_step_bf16"] = median(
                    lambda: unet(x, 963, encoder_hidden_states=ctx, class_labels=labels), 1, a.repeat)
        del unet
        vae = AutoencoderKL.from_pretrained(os.path.join(a.model, "vae"), torch_dtype=torch.float32)
        z = torch.randn((1, 4, 128, 128), generator=g)
        out["seconds"]["vae_decode"] = median(lambda: vae.decode(z), 1, a.repeat)
        if a.bf16:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out["seconds"]["vae_decode_bf16"] = median(lambda: vae.decode(z), 1, a.repeat)
    print(json.dumps(out))


def depth(a):
    """Same work as `sdedit bench depth`: DPT-hybrid 384², depth UNet step (512², CFG batch 2), full depth2img."""
    import os
    import resource
    import subprocess
    import sys
    torch.set_num_threads(a.threads)
    if a.suite == "depth-full":
        from diffusers import StableDiffusionDepth2ImgPipeline
        from PIL import Image
        pipe = StableDiffusionDepth2ImgPipeline.from_pretrained(a.model, torch_dtype=torch.float32)
        g = torch.Generator().manual_seed(1)
        img = Image.fromarray((torch.rand((512, 512, 3), generator=g) * 255).byte().numpy(), "RGB")
        t0 = time.perf_counter()
        with torch.inference_mode():
            pipe(prompt="a marble statue", image=img, num_inference_steps=a.steps, generator=torch.Generator().manual_seed(0))
        print(json.dumps({"full": time.perf_counter() - t0,
                          "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
        return
    full = None
    if not a.no_full:   # first, before this process loads anything (see inpaint)
        r = subprocess.run([sys.executable, __file__, "--suite", "depth-full", "--model", a.model,
                            "--threads", str(a.threads), "--steps", str(a.steps)], capture_output=True, text=True, check=True)
        full = json.loads(r.stdout.strip().splitlines()[-1])
    from diffusers import UNet2DConditionModel
    from transformers import DPTForDepthEstimation
    out = {"torch": torch.__version__, "threads": a.threads, "seconds": {}}
    with torch.inference_mode():
        dpt = DPTForDepthEstimation.from_pretrained(os.path.join(a.model, "depth_estimator")).eval()
        g = torch.Generator().manual_seed(0)
        px = torch.rand((1, 3, 384, 384), generator=g) * 2 - 1
        out["seconds"]["dpt"] = median(lambda: dpt(pixel_values=px), 1, a.repeat)
        if a.bf16:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out["seconds"]["dpt_bf16"] = median(lambda: dpt(pixel_values=px), 1, a.repeat)
        del dpt
        unet = UNet2DConditionModel.from_pretrained(os.path.join(a.model, "unet"), torch_dtype=torch.float32)
        x = torch.randn((2, unet.config.in_channels, 64, 64), generator=g)
        ctx = torch.randn((2, 77, unet.config.cross_attention_dim), generator=g)
        out["seconds"]["unet_step"] = median(lambda: unet(x, 801, encoder_hidden_states=ctx), 1, a.repeat)
        if a.bf16:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out["seconds"]["unet_step_bf16"] = median(lambda: unet(x, 801, encoder_hidden_states=ctx), 1, a.repeat)
    if full is not None:
        out["seconds"]["full"] = full["full"]
        out["full_peak_rss_mib"] = full["peak_rss_mib"]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
