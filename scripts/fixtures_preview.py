#!/usr/bin/env python3
"""Golden for LatentPreview.cheapRGB: AUTOMATIC1111's "Approx cheap" live preview of SD 1.x/2.x latents
(modules/sd_vae_approx.py cheap_approximation, then sd_samplers_common.single_sample_to_image:
clamp((x + 1) / 2), 255 ×, astype(uint8)), written as its own twin here.

    venv/bin/python scripts/fixtures_preview.py      # writes fixtures/preview/cheap.json
"""
import json
import os

import numpy as np
import torch

COEFS = [[0.298, 0.207, 0.208], [0.187, 0.286, 0.173], [-0.158, 0.189, 0.264], [-0.184, -0.271, -0.473]]


def main():
    g = torch.Generator().manual_seed(11)
    latents = torch.randn(2, 4, 3, 5, generator=g) * 1.5          # batch 2: the preview shows the first
    x = torch.einsum("lxy,lr -> rxy", latents[0], torch.tensor(COEFS))
    x = torch.clamp((x + 1.0) / 2.0, min=0.0, max=1.0)
    rgb = (255.0 * np.moveaxis(x.numpy(), 0, 2)).astype(np.uint8)  # [h, w, 3]
    out = os.path.join(os.path.dirname(__file__), "..", "fixtures", "preview", "cheap.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    json.dump({"shape": list(latents.shape), "latents": latents.flatten().tolist(), "rgb": rgb.flatten().tolist()},
              open(out, "w"))
    print(out)


if __name__ == "__main__":
    main()
