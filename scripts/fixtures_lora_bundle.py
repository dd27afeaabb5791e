"""Embeddings bundled in a LoRA file (called from make_fixtures.py "lorabundle"; needs the "lora" part's
kohya_locon.safetensors, embeddings/ and img2img.png, and tiny-sd21-base).

AUTOMATIC1111 ≥ 1.7 (extensions-builtin/Lora/networks.py load_network) reads keys
`bundle_emb.NAME.string_to_param.K` and `bundle_emb.NAME.K` (one tensor, a "diffusers concept") of a LoRA
file as the textual-inversion embedding NAME (modules/textual_inversion/textual_inversion.py
create_embedding_from_data), and skips one whose name the embeddings folder already defines.

fixtures/lora/bundled.safetensors: kohya_locon's tensors and metadata, plus
  bundle_emb.bundletok.string_to_param.*   2 vectors (A1111's training layout)
  bundle_emb.bundleone.bundleone           1 vector, 1-D (a diffusers concept under its token key)
  bundle_emb.sunsetstyle.emb_params        1 vector; the --embeddings folder's sunsetstyle (3 vectors) wins
fixtures/lora/bundled.goldens.safetensors: StableDiffusionImg2ImgPipeline on tiny-sd21-base after
load_lora_weights(kohya_locon) + fuse_lora(1.0), load_textual_inversion of the folder's three embeddings and
of the two bundled vectors that A1111 registers (token=NAME), DDIM 6 steps, guidance 7.5, strength 0.8,
seed 7, prompt PROMPT: "bundled.latents", "bundled.image"; bundled_noise.json is the 1- vs 2-thread difference.
The bundled vectors are read back from the written file (fp16, as real files are) before diffusers gets them.
"""
import json
import os

import torch
from safetensors import safe_open
from safetensors.torch import save_file

import fixtures_inpaint as fi

PROMPT = "a watercolor painting of bundletok and bundleone in sunsetstyle style"
SEED = 7


def write_file(out):
    src = os.path.join(out, "kohya_locon.safetensors")
    with safe_open(src, "pt") as f:
        t = {k: f.get_tensor(k) for k in f.keys()}
        meta = f.metadata()
    g = torch.Generator().manual_seed(1707)
    t["bundle_emb.bundletok.string_to_param.*"] = (torch.randn(2, 32, generator=g) * 0.5).half()
    t["bundle_emb.bundleone.bundleone"] = (torch.randn(32, generator=g) * 0.5).half()
    t["bundle_emb.sunsetstyle.emb_params"] = (torch.randn(1, 32, generator=g) * 0.5).half()
    save_file(t, os.path.join(out, "bundled.safetensors"), metadata=meta)


def golden(root, threads):
    from diffusers import StableDiffusionImg2ImgPipeline
    from PIL import Image
    torch.set_num_threads(threads)
    out = os.path.join(root, "lora")
    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(os.path.join(root, "models", "tiny-sd21-base"), variant="fp16",
                                                          torch_dtype=torch.float32, safety_checker=None,
                                                          requires_safety_checker=False)
    pipe.load_lora_weights(os.path.join(out, "kohya_locon.safetensors"), adapter_name="kohya_locon")
    pipe.fuse_lora(lora_scale=1.0, adapter_names=["kohya_locon"])
    pipe.unload_lora_weights()
    emb = os.path.join(out, "embeddings")
    for name in ("sunsetstyle", "mytok", "learnedtok"):
        pipe.load_textual_inversion(os.path.join(emb, f"{name}.safetensors"), token=name)
    with safe_open(os.path.join(out, "bundled.safetensors"), "pt") as f:
        vec = {"bundletok": f.get_tensor("bundle_emb.bundletok.string_to_param.*").float(),
               "bundleone": f.get_tensor("bundle_emb.bundleone.bundleone").float()[None]}
    for name, v in vec.items():
        pipe.load_textual_inversion(v, token=name)
    pipe.scheduler = fi.make_scheduler("ddim", pipe.scheduler.config)
    img = Image.open(os.path.join(out, "img2img.png")).convert("RGB")
    kw = dict(prompt=PROMPT, image=img, num_inference_steps=6, guidance_scale=7.5, strength=0.8)
    return fi.run_case(pipe, kw, SEED, "bundled")


def fixtures(root):
    out = os.path.join(root, "lora")
    write_file(out)
    one, two = golden(root, 1), golden(root, 2)
    save_file({k: v.contiguous() for k, v in one.items()}, os.path.join(out, "bundled.goldens.safetensors"))
    noise = {k: {"max": float((one[k] - two[k]).abs().max()), "mean": float((one[k] - two[k]).abs().mean())} for k in one}
    json.dump(noise, open(os.path.join(out, "bundled_noise.json"), "w"), indent=1, sort_keys=True)
    print(f"wrote lora/bundled.safetensors and its golden (1-vs-2-thread noise {noise})")


def fuzz_seed(path):
    """A seed for the lora fuzz target (scripts/fuzz/corpus/lora/bundle.safetensors): two 16×16 rank-2
    kohya modules and two bundled embeddings (string_to_param and a single 1-D tensor)."""
    g = torch.Generator().manual_seed(17)
    t = {}
    for m in ["down_blocks_0_attentions_0_proj_in", "text_model_encoder_layers_0_mlp_fc1"]:
        prefix = "lora_te_" if m.startswith("text_model") else "lora_unet_"
        t[f"{prefix}{m}.lora_up.weight"] = torch.randn(16, 2, generator=g).half()
        t[f"{prefix}{m}.lora_down.weight"] = torch.randn(2, 16, generator=g).half()
    t["bundle_emb.fuzztok.string_to_param.*"] = torch.randn(2, 16, generator=g).half()
    t["bundle_emb.onetok.onetok"] = torch.randn(16, generator=g).half()
    save_file(t, path)
