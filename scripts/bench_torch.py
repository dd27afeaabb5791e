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
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(0)
    r = lambda *s: torch.randn(*s, generator=g)
    cases = {}
    with torch.inference_mode():
        x, w, b = r(2, 320, 64, 64), r(320, 320, 3, 3), r(320)
        cases["conv3x3_320_64x64_b2"] = lambda: F.conv2d(x, w, b, padding=1)
        x2, w2, b2 = r(2, 1280, 8, 8), r(1280, 1280, 3, 3), r(1280)
        cases["conv3x3_1280_8x8_b2"] = lambda: F.conv2d(x2, w2, b2, padding=1)
        lx, lw, lb = r(8192, 320), r(2560, 320), r(2560)
        cases["linear_8192x320_2560"] = lambda: F.linear(lx, lw, lb)
        q, k, v = r(2, 5, 4096, 64), r(2, 5, 4096, 64), r(2, 5, 4096, 64)
        cases["attention_2x5x4096x64"] = lambda: F.scaled_dot_product_attention(q, k, v)
        out = {"torch": torch.__version__, "threads": a.threads, "seconds": {}}
        for name, fn in cases.items():
            if a.only and a.only not in name:
                continue
            out["seconds"][name] = median(fn, 1, a.repeat)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
