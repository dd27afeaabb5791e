#!/usr/bin/env python3
"""DeepCache helpers for the notes and the lead's fidelity run (no timing: counts and image distances).

    venv/bin/python scripts/deepcache_tools.py flops          # FLOPs of a full vs a cached UNet call
    venv/bin/python scripts/deepcache_tools.py psnr A.png B.png

`flops` builds the real-size UNets of scripts/make_bench_models.py on torch's meta device (no memory,
no weights), enables the DeepCache package's DeepCacheSDHelper (cache_branch_id 0) on a stand-in
pipeline and counts matmul/conv/attention FLOPs of a full call and of a cached one with
torch.utils.flop_counter. Steps at interval N then cost about N / (1 + (N - 1) * cached/full) fewer
UNet FLOPs (PNDM's repeated timestep shifts which calls are full, see docs/notes/deepcache.md).
`psnr` is the distance of a --deep-cache image from the uncached one (8-bit RGB, peak 255).
"""
import os
import sys
import types


def flops():
    import torch
    from diffusers import UNet2DConditionModel
    from torch.utils.flop_counter import FlopCounterMode
    from DeepCache import DeepCacheSDHelper
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import make_bench_models as mb

    def count(name, cfg, in_channels, size, class_labels):
        cfg = {k: v for k, v in cfg.items() if not k.startswith("_")}
        cfg["in_channels"] = in_channels
        with torch.device("meta"):
            unet = UNet2DConditionModel(**cfg)
        timesteps = torch.tensor([999.0, 500.0])
        pipe = types.SimpleNamespace(unet=unet, scheduler=types.SimpleNamespace(timesteps=timesteps))
        helper = DeepCacheSDHelper(pipe=pipe)
        helper.set_params(cache_interval=2, cache_branch_id=0)
        helper.enable()
        x = torch.empty(2, in_channels, size, size, device="meta")
        kw = dict(encoder_hidden_states=torch.empty(2, 77, cfg["cross_attention_dim"], device="meta"))
        if class_labels:
            kw["class_labels"] = torch.tensor([20, 20], device="meta")
        total = []
        for t in timesteps:     # the first call runs whole, the second takes the cached branch
            with FlopCounterMode(display=False) as f:
                unet(x, t.clone(), **kw)
            total.append(f.get_total_flops())
        s = total[1] / total[0]
        print(f"{name}: full call {total[0] / 1e9:.1f} GFLOP, cached call {total[1] / 1e9:.2f} GFLOP "
              f"({100 * s:.1f} %); UNet FLOPs / N-interval FLOPs: "
              + ", ".join(f"N={n} {n / (1 + (n - 1) * s):.2f}x" for n in (2, 3, 4, 5)))

    count("SD 2 inpainting, 512² (latent 64², CFG batch 2)", mb.UNET, 9, 64, False)
    count("x4 upscaler, 128² input (CFG batch 2)", mb.X4_UNET, 7, 128, True)


def psnr(a, b):
    import numpy as np
    from PIL import Image
    x = np.asarray(Image.open(a).convert("RGB"), dtype=np.float64)
    y = np.asarray(Image.open(b).convert("RGB"), dtype=np.float64)
    if x.shape != y.shape:
        sys.exit(f"{b}: size {y.shape[1]}x{y.shape[0]} differs from {a}'s {x.shape[1]}x{x.shape[0]}")
    mse = ((x - y) ** 2).mean()
    print(f"PSNR {'inf' if mse == 0 else f'{10 * np.log10(255 ** 2 / mse):.2f}'} dB, max |Δ| {np.abs(x - y).max():.0f}, "
          f"mean |Δ| {np.abs(x - y).mean():.2f} grey levels")


if __name__ == "__main__":
    if sys.argv[1:2] == ["flops"]:
        flops()
    elif sys.argv[1:2] == ["psnr"] and len(sys.argv) == 4:
        psnr(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
