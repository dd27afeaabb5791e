"""Single-file fixtures: a tiny random SD 1.x model (CLIP ViT-L-style text encoder with quick-GELU and
eos padding, 8-head UNet with 1x1-conv proj_in/proj_out, PNDM epsilon as runwayml/stable-diffusion-v1-5
ships it) with StableDiffusionImg2ImgPipeline goldens, and every tiny model re-saved as one original
LDM (CompVis / Stability AI) single file, as A1111 and ComfyUI users have them.

The LDM writer here is the inverse of diffusers' loaders/single_file_utils.py converters
(convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint, convert_open_clip_checkpoint,
convert_ldm_clip_checkpoint): each written file is read back through diffusers' own converter and
must give the folder's tensors bit for bit, so the key names are diffusers', not ours. The files also
carry what real ones do beside the weights: LDM's schedule buffers (betas, alphas_cumprod, ...), the
x4's low_scale_model.* buffers, OpenCLIP's text_projection, logit_scale and unused last resblock,
CLIP-L's int64 position_ids, EMA bookkeeping (model_ema.decay / num_updates) and, in the depth file,
the MiDaS depth estimator under depth_model.model.* (fixtures_midas.py). Called from make_fixtures.py
("single").
"""
import json
import os

import numpy as np
import torch
from safetensors.torch import load_file, save_file

import fixtures_inpaint as fi

SD1_SCHEDULER = {"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_end": 0.012,
                 "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
                 "num_train_timesteps": 1000, "set_alpha_to_one": False, "skip_prk_steps": True,
                 "steps_offset": 1, "trained_betas": None}


def build_model(folder, inpaint_folder):
    """tiny-sd1: its own tokenizer files (SD 1.x pads with <|endoftext|>), text encoder and UNet; the
    VAE is the inpainting model's (SD 1.x and 2.x share the VAE architecture)."""
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel
    os.makedirs(folder, exist_ok=True)
    fi.link_shared(folder, inpaint_folder, ["vae"])
    tok = os.path.join(folder, "tokenizer")
    fi.write_tokenizer(tok)
    m = json.load(open(os.path.join(tok, "special_tokens_map.json")))
    m["pad_token"] = m["eos_token"]
    json.dump(m, open(os.path.join(tok, "special_tokens_map.json"), "w"), indent=2)
    te = CLIPTextModel(CLIPTextConfig(hidden_size=32, intermediate_size=64, num_attention_heads=4,
                                      num_hidden_layers=2, vocab_size=49408, max_position_embeddings=77,
                                      hidden_act="quick_gelu", layer_norm_eps=1e-5, projection_dim=32))
    fi.randomize(te, 51).half().save_pretrained(os.path.join(folder, "text_encoder"), variant="fp16")
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=[16, 32, 32],
        down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
        up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
        attention_head_dim=8, cross_attention_dim=32, norm_num_groups=8, norm_eps=1e-5,
        flip_sin_to_cos=True, freq_shift=0, act_fn="silu")
    fi.randomize(unet, 52).half().save_pretrained(os.path.join(folder, "unet"), variant="fp16")
    os.makedirs(os.path.join(folder, "scheduler"), exist_ok=True)
    json.dump(SD1_SCHEDULER, open(os.path.join(folder, "scheduler", "scheduler_config.json"), "w"), indent=2)
    json.dump({"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.6.0",
               "feature_extractor": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
               "scheduler": ["diffusers", "PNDMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
               "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
               "vae": ["diffusers", "AutoencoderKL"]}, open(os.path.join(folder, "model_index.json"), "w"), indent=2)


CASES = [
    # name, scheduler, w, h, steps, guidance, strength, seed, negative
    ("sd1_pndm", "pndm", 64, 64, 10, 7.5, 0.8, 21, None),
    ("sd1_ddim_neg", "ddim", 72, 56, 8, 7.5, 0.6, 22, "blurry"),
    ("sd1_euler_a_nocfg", "euler-a", 64, 64, 8, 1.0, 0.75, 23, None),
]


def goldens(folder, out_dir, threads=1):
    """StableDiffusionImg2ImgPipeline on tiny-sd1, and the single files (written once, at 1 thread)."""
    import fixtures_img2img
    t = fixtures_img2img.img2img_goldens(folder, out_dir, threads, cases=CASES, prompt="a watercolor painting!")
    if threads == 1:
        make_single_files(os.path.dirname(folder))
    return t


# --- diffusers → LDM key names (the inverse of diffusers' converters) ---

RESNET = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1", "norm2": "out_layers.0",
          "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}


def unet_to_ldm(sd, cfg):
    per = cfg["layers_per_block"] + 1
    has_attn = ["CrossAttn" in t for t in cfg["up_block_types"]]
    fixed = {"conv_in": "input_blocks.0.0", "time_embedding.linear_1": "time_embed.0",
             "time_embedding.linear_2": "time_embed.2", "conv_norm_out": "out.0", "conv_out": "out.2",
             "class_embedding": "label_emb"}
    out = {}
    for k, v in sd.items():
        p = k.split(".")
        head = ".".join(p[:2]) if p[0] == "time_embedding" else p[0]
        if head in fixed:
            out[fixed[head] + k[len(head):]] = v
            continue

        def res(rest):
            return [RESNET.get(rest[0], rest[0])] + rest[1:]
        if p[0] == "down_blocks":
            b, kind = int(p[1]), p[2]
            if kind == "downsamplers":
                name = [f"input_blocks.{1 + b * per + per - 1}", "0", "op"] + p[5:]
            else:
                j = int(p[3])
                name = [f"input_blocks.{1 + b * per + j}"] + (["0"] + res(p[4:]) if kind == "resnets" else ["1"] + p[4:])
        elif p[0] == "mid_block":
            idx = {"resnets.0": "0", "attentions.0": "1", "resnets.1": "2"}[p[1] + "." + p[2]]
            name = ["middle_block", idx] + (res(p[3:]) if p[1] == "resnets" else p[3:])
        elif p[0] == "up_blocks":
            b, kind = int(p[1]), p[2]
            if kind == "upsamplers":
                name = [f"output_blocks.{b * per + per - 1}", "2" if has_attn[b] else "1"] + p[4:]
            else:
                j = int(p[3])
                name = [f"output_blocks.{b * per + j}"] + (["0"] + res(p[4:]) if kind == "resnets" else ["1"] + p[4:])
        else:
            raise KeyError(k)
        out[".".join(name)] = v
    return out


def vae_to_ldm(sd, cfg):
    n = len(cfg["block_out_channels"])
    out = {}
    for k, v in sd.items():
        p = k.split(".")
        part = p[0]
        if part in ("quant_conv", "post_quant_conv"):
            out[k] = v
            continue
        rest = p[1:]
        if rest[0] == "conv_norm_out":
            rest = ["norm_out"] + rest[1:]
        elif rest[0] in ("down_blocks", "up_blocks"):
            level = int(rest[1]) if rest[0] == "down_blocks" else n - 1 - int(rest[1])
            block = "down" if rest[0] == "down_blocks" else "up"
            if rest[2] == "resnets":
                rest = [block, str(level), "block", rest[3]] + rest[4:]
            else:
                rest = [block, str(level), "downsample" if block == "down" else "upsample"] + rest[4:]
        elif rest[0] == "mid_block":
            if rest[1] == "resnets":
                rest = ["mid", f"block_{int(rest[2]) + 1}"] + rest[3:]
            else:
                inner = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out": "proj_out"}[rest[3]]
                tail = rest[5:] if rest[3] == "to_out" else rest[4:]
                rest = ["mid", "attn_1", inner] + tail
                if inner != "norm" and tail[-1] == "weight":
                    v = v[:, :, None, None]
        rest = ["nin_shortcut" if r == "conv_shortcut" else r for r in rest]
        out[".".join([part] + rest)] = v
    return out


def open_clip_to_ldm(sd, layers, g):
    """HF CLIPTextModel (SD2: the first `layers` of OpenCLIP's blocks) → open_clip names, plus what the
    real files carry that SD2 does not use: one more resblock, text_projection and logit_scale."""
    out = {"token_embedding.weight": sd["text_model.embeddings.token_embedding.weight"],
           "positional_embedding": sd["text_model.embeddings.position_embedding.weight"],
           "ln_final.weight": sd["text_model.final_layer_norm.weight"],
           "ln_final.bias": sd["text_model.final_layer_norm.bias"]}
    names = {"layer_norm1": "ln_1", "layer_norm2": "ln_2", "self_attn.out_proj": "attn.out_proj",
             "mlp.fc1": "mlp.c_fc", "mlp.fc2": "mlp.c_proj"}
    d = out["ln_final.weight"].shape[0]
    for i in range(layers):
        pre = f"text_model.encoder.layers.{i}."
        blk = f"transformer.resblocks.{i}."
        for a, b in names.items():
            for s in ("weight", "bias"):
                out[blk + b + "." + s] = sd[pre + a + "." + s]
        for s in ("weight", "bias"):
            out[blk + "attn.in_proj_" + s] = torch.cat([sd[pre + f"self_attn.{x}_proj.{s}"] for x in "qkv"])
    extra = f"transformer.resblocks.{layers}."
    for k in [k for k in out if k.startswith("transformer.resblocks.0.")]:
        out[extra + k[len("transformer.resblocks.0."):]] = torch.randn(out[k].shape, generator=g).half().float()
    out["text_projection"] = torch.randn(d, d, generator=g).half().float()
    out["logit_scale"] = torch.tensor(4.6052)
    return out


def schedule_buffers(prefix, start, end):
    """LDM's register_schedule buffers (float32 1000-vectors): a real file's non-weight keys."""
    betas = torch.linspace(start ** 0.5, end ** 0.5, 1000, dtype=torch.float64) ** 2
    ac = torch.cumprod(1 - betas, 0)
    prev = torch.cat([torch.ones(1, dtype=torch.float64), ac[:-1]])
    post = betas * (1 - prev) / (1 - ac)
    b = {"betas": betas, "alphas_cumprod": ac, "alphas_cumprod_prev": prev, "sqrt_alphas_cumprod": ac.sqrt(),
         "sqrt_one_minus_alphas_cumprod": (1 - ac).sqrt(), "log_one_minus_alphas_cumprod": (1 - ac).log(),
         "sqrt_recip_alphas_cumprod": (1 / ac).sqrt(), "sqrt_recipm1_alphas_cumprod": (1 / ac - 1).sqrt(),
         "posterior_variance": post, "posterior_log_variance_clipped": post.clamp(min=1e-20).log(),
         "posterior_mean_coef1": betas * prev.sqrt() / (1 - ac), "posterior_mean_coef2": (1 - prev) * (1 - betas).sqrt() / (1 - ac)}
    return {prefix + k: v.float() for k, v in b.items()}


def load_component(folder, name):
    path = os.path.join(folder, name)
    files = [f for f in os.listdir(path) if f.endswith(".safetensors")]
    return load_file(os.path.join(path, files[0])), json.load(open(os.path.join(path, "config.json")))


def to_ldm_file(folder, path, dtype, extras):
    """One LDM single file from a tiny diffusers folder; checked through diffusers' converters."""
    from diffusers.loaders.single_file_utils import (convert_ldm_clip_checkpoint, convert_ldm_unet_checkpoint,
                                                     convert_ldm_vae_checkpoint, convert_open_clip_checkpoint)
    from transformers import CLIPTextConfig, CLIPTextModel
    g = torch.Generator().manual_seed(7)
    unet, ucfg = load_component(folder, "unet")
    vae, vcfg = load_component(folder, "vae")
    te, tcfg = load_component(folder, "text_encoder")
    # transformers 5 saves CLIPTextModel without the "text_model." prefix the real repos' files have.
    te = {(k if k.startswith("text_model.") else "text_model." + k): v for k, v in te.items()}
    ckpt = {"model.diffusion_model." + k: v for k, v in unet_to_ldm(unet, ucfg).items()}
    ckpt.update({"first_stage_model." + k: v for k, v in vae_to_ldm(vae, vcfg).items()})
    open_clip = tcfg["hidden_act"] == "gelu"
    if open_clip:
        ckpt.update({"cond_stage_model.model." + k: v for k, v in open_clip_to_ldm(te, tcfg["num_hidden_layers"], g).items()})
    else:
        ckpt.update({"cond_stage_model.transformer." + k: v for k, v in te.items()})
        ckpt["cond_stage_model.transformer.text_model.embeddings.position_ids"] = torch.arange(77)[None]
    ckpt.update(extras(g))
    buffers = lambda k: "." not in k or k.startswith(("low_scale_model.", "model_ema."))  # float32 in real files
    ckpt = {k: (v.to(dtype) if v.is_floating_point() and not buffers(k) else v).contiguous() for k, v in ckpt.items()}
    save_file(ckpt, path)

    # The round trip through diffusers' own converters gives the folder's tensors exactly.
    back = {k: v.float() if v.is_floating_point() else v for k, v in load_file(path).items()}
    got = convert_ldm_unet_checkpoint(back, ucfg)
    assert set(got) == set(unet), sorted(set(got) ^ set(unet))[:5]
    assert all(torch.equal(got[k].float(), unet[k].float()) for k in unet)
    got = convert_ldm_vae_checkpoint({k[len("first_stage_model."):]: v for k, v in back.items()
                                      if k.startswith("first_stage_model.")}, vcfg)
    assert set(got) == set(vae), sorted(set(got) ^ set(vae))[:5]
    assert all(torch.equal(got[k].reshape(vae[k].shape).float(), vae[k].float()) for k in vae)
    if open_clip:
        model = CLIPTextModel(CLIPTextConfig(**{k: v for k, v in tcfg.items() if not k.startswith("_")}))
        got = convert_open_clip_checkpoint(model, back)
        layer = f"text_model.encoder.layers.{tcfg['num_hidden_layers']}."
        got = {k: v for k, v in got.items() if not k.startswith(layer) and k != "text_projection.weight"}
    else:
        got = convert_ldm_clip_checkpoint(back)
    want = {k: v for k, v in te.items() if k != "text_model.embeddings.position_ids"}
    got = {k: v for k, v in got.items() if k != "text_model.embeddings.position_ids"}
    assert set(got) == set(want), sorted(set(got) ^ set(want))[:5]
    assert all(torch.equal(got[k].float(), want[k].float()) for k in want)


def make_single_files(models, only=None):
    """fixtures/models/single/<model>.safetensors for every tiny model (or the one named `only`), fp16 as
    most downloads are (the tests re-save one in fp32), each with the extra keys its real counterpart
    carries."""
    import fixtures_midas
    out = os.path.join(models, "single")
    os.makedirs(out, exist_ok=True)
    sd2 = lambda g: schedule_buffers("", 0.00085, 0.012)

    def ema(g):
        return {**sd2(g), "model_ema.decay": torch.tensor(0.9999), "model_ema.num_updates": torch.tensor(100, dtype=torch.int32)}

    def x4(g):
        return {**schedule_buffers("", 0.0001, 0.02), **schedule_buffers("low_scale_model.", 0.0001, 0.02)}

    def depth(g):
        # 512-depth-ema carries its MiDaS DPT-hybrid under depth_model.model.* (MiDaS/timm names).
        return {**sd2(g), **fixtures_midas.midas_state_dict(os.path.join(models, "tiny-sd2-depth"), g)}
    for name, dtype, extras in [("tiny-sd2-inpainting", torch.float16, sd2), ("tiny-sd2-depth", torch.float16, depth),
                                ("tiny-sd2-x4-upscaler", torch.float16, x4), ("tiny-sd21-base", torch.float16, sd2),
                                ("tiny-sd1", torch.float16, ema)]:
        if only is not None and name != only:
            continue
        to_ldm_file(os.path.join(models, name), os.path.join(out, name + ".safetensors"), dtype, extras)
