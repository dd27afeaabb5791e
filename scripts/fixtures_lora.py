"""LoRA fixtures (called from make_fixtures.py "lora"): LoRA-family files for the tiny models, the
weights AUTOMATIC1111's Lora extension merges from them, and diffusers pipeline goldens.

Files written to fixtures/lora/ (fp16 tensors, as real kohya files are):
  kohya_locon   kohya LoRA + LoCon (3×3 and 1×1 conv down, 1×1 up) on the tiny SD 2.1 base UNet and the
                text encoder; one alpha for every module (diffusers and A1111 agree)
  peft          diffusers' save_lora_weights layout (unet./text_encoder. lora_A/lora_B) with PEFT
                adapter metadata: lora_alpha 8, r 4, an alpha_pattern for to_k
  kohya_mixed   kohya file whose alphas differ per module and are missing for some: A1111 scales each
                module by its own alpha/rank (missing = 1); diffusers 0.42 gives attention and text
                encoder modules the file's most common alpha (its deviation is printed, not used)
  loha, lokr    LyCORIS LoHa (with and without hada_t1/t2) and LoKr (full, decomposed and lokr_t2)
  sd1_width     a LoRA whose cross-attention width (48) fits no tiny model: the "other architecture" error
  inpaint9      kohya LoRA made on the tiny 9-channel SD 2 inpainting model (its own weights)
  kohya_ldm     kohya_locon with its UNet modules in LDM spelling (lora_unet_input_blocks_1_1_…), the
                mapping checked against diffusers' single-file conversion and A1111's name conversion
ti_hashes.json holds A1111's short hash of each embedding in embeddings/ (sha256 of the whole file).

expected.safetensors holds, per case, the merged value of every weight the file touches
("<case>|<model key>"), computed here by A1111's formulas (network_lora.py, network_hada.py,
network_lokr.py, lyco_helpers.py: ΔW · alpha/dim · multiplier). Cases named inpaint* run
StableDiffusionInpaintPipeline (the 9-channel UNet, or the 4-channel base's latent blending), the others
StableDiffusionImg2ImgPipeline. goldens.safetensors holds diffusers
pipeline outputs: load_lora_weights + fuse_lora(lora_scale=w) for kohya/PEFT files (asserted equal
to the A1111 merge first), the A1111-merged weights loaded into the pipeline for the others.
"""
import json
import os

import numpy as np
import torch
from safetensors.torch import save_file

import fixtures_inpaint as fi

RANK = 4


def kohya_name(prefix, module):
    return prefix + module.replace(".", "_")


def targets(model, te=False):
    """The Linear/Conv2d modules a kohya LoCon trains (attention, feed-forward, projections, resnet convs)."""
    out = []
    for name, m in model.named_modules():
        if not isinstance(m, (torch.nn.Linear, torch.nn.Conv2d)):
            continue
        if te:
            if any(name.endswith(s) for s in ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2")):
                out.append((name if name.startswith("text_model.") else "text_model." + name, m))
        elif any(s in name for s in ("attn1", "attn2", "ff.net", "proj_in", "proj_out", "resnets", "downsamplers", "upsamplers")):
            out.append((name, m))
    return out


def lora_pair(m, g, rank=RANK):
    """(up, down) for a Linear, or a LoCon conv pair: down keeps the kernel (3×3 or 1×1), up is 1×1."""
    if isinstance(m, torch.nn.Linear):
        return torch.randn(m.out_features, rank, generator=g) * 0.2, torch.randn(rank, m.in_features, generator=g) * 0.2
    o, i, kh, kw = m.weight.shape
    return torch.randn(o, rank, 1, 1, generator=g) * 0.2, torch.randn(rank, i, kh, kw, generator=g) * 0.2


# --- A1111's formulas -------------------------------------------------------------------------

def rebuild_conventional(up, down, shape):
    return (up.reshape(up.shape[0], -1) @ down.reshape(down.shape[0], -1)).reshape(shape)


def weight_cp(t, wa, wb):
    return torch.einsum("ijkl,ir,js->rskl", t, wa, wb)


def a1111_delta(w, orig):
    """ΔW · scale for one module's tensors `w` (role → tensor), shaped like `orig`."""
    w = {k: v.float() for k, v in w.items()}
    alpha = w.get("alpha")
    if "lora_up.weight" in w:
        up, down = w["lora_up.weight"], w["lora_down.weight"]
        dim = down.shape[0]
        shape = [up.shape[0], down.shape[1]] + (list(down.shape[2:]) if down.dim() == 4 else [])
        d = rebuild_conventional(up, down, shape)
    elif "hada_w1_a" in w:
        dim = w["hada_w1_b"].shape[0]
        if "hada_t1" in w:
            d1 = weight_cp(w["hada_t1"], w["hada_w1_a"], w["hada_w1_b"])
        else:
            d1 = rebuild_conventional(w["hada_w1_a"], w["hada_w1_b"], [w["hada_w1_a"].shape[0], -1])
        if "hada_t2" in w:
            d2 = weight_cp(w["hada_t2"], w["hada_w2_a"], w["hada_w2_b"])
        else:
            d2 = rebuild_conventional(w["hada_w2_a"], w["hada_w2_b"], [w["hada_w2_a"].shape[0], -1])
        d = d1.reshape(-1) * d2.reshape(-1)
    else:
        w1 = w["lokr_w1"] if "lokr_w1" in w else w["lokr_w1_a"] @ w["lokr_w1_b"]
        if "lokr_w2" in w:
            w2 = w["lokr_w2"]
        elif "lokr_t2" in w:
            w2 = weight_cp(w["lokr_t2"], w["lokr_w2_a"], w["lokr_w2_b"])
        else:
            w2 = w["lokr_w2_a"] @ w["lokr_w2_b"]
        dim = w["lokr_w2_b"].shape[0] if "lokr_w2_b" in w else (w["lokr_w1_b"].shape[0] if "lokr_w1_b" in w else None)
        if w2.dim() == 4:
            w1 = w1[:, :, None, None]
        d = torch.kron(w1, w2.contiguous())
    scale = float(alpha) / dim if (alpha is not None and dim is not None) else 1.0
    return d.reshape(orig.shape) * scale


def merge(state, modules, mult):
    """A1111: W ← W + ΔW · scale · multiplier for every module (key → role tensors)."""
    out = {}
    for key, w in modules.items():
        base = out.get(key, state[key])
        out[key] = base + a1111_delta(w, base) * mult
    return out


# --- files -----------------------------------------------------------------------------------

def kohya_file(unet, te, g, alpha_of, kinds=None):
    """kohya keys for every target module; alpha_of(i, name) → alpha or None; kinds(i, m) → role dict."""
    tensors, modules = {}, {}
    i = 0
    for comp, prefix, mods in (("unet", "lora_unet_", targets(unet)), ("text_encoder", "lora_te_", targets(te, te=True))):
        for name, m in mods:
            w = kinds(i, m, g) if kinds else dict(zip(("lora_up.weight", "lora_down.weight"), lora_pair(m, g)))
            a = alpha_of(i, name)
            if a is not None:
                w["alpha"] = torch.tensor(float(a))
            base = kohya_name(prefix, name)
            for role, t in w.items():
                tensors[f"{base}.{role}"] = t.half()
            modules[f"{comp}|{name}.weight"] = {k: v.half().float() for k, v in w.items()}
            i += 1
    return tensors, modules


def loha(i, m, g):
    o, inn = m.weight.shape[0], m.weight[0].numel()
    r = 3
    if m.weight.dim() == 4 and m.weight.shape[2] == 3 and i % 2 == 0:
        kh = m.weight.shape[2]
        return {"hada_w1_a": torch.randn(r, o, generator=g) * 0.4, "hada_w1_b": torch.randn(r, m.weight.shape[1], generator=g) * 0.4,
                "hada_t1": torch.randn(r, r, kh, kh, generator=g) * 0.4,
                "hada_w2_a": torch.randn(r, o, generator=g) * 0.4, "hada_w2_b": torch.randn(r, m.weight.shape[1], generator=g) * 0.4,
                "hada_t2": torch.randn(r, r, kh, kh, generator=g) * 0.4}
    return {"hada_w1_a": torch.randn(o, r, generator=g) * 0.4, "hada_w1_b": torch.randn(r, inn, generator=g) * 0.4,
            "hada_w2_a": torch.randn(o, r, generator=g) * 0.4, "hada_w2_b": torch.randn(r, inn, generator=g) * 0.4}


def factor(n):
    for f in (4, 2, 1):
        if n % f == 0:
            return f, n // f


def lokr(i, m, g):
    o, inn = m.weight.shape[0], m.weight.shape[1]
    (a, c), (b, d) = factor(o), factor(inn)
    w = {}
    if i % 2 == 0:
        w["lokr_w1"] = torch.randn(a, b, generator=g) * 0.3
    else:
        w["lokr_w1_a"], w["lokr_w1_b"] = torch.randn(a, 2, generator=g) * 0.3, torch.randn(2, b, generator=g) * 0.3
    if m.weight.dim() == 4:
        kh = m.weight.shape[2]
        if i % 3 == 0:
            w["lokr_w2_a"], w["lokr_w2_b"] = torch.randn(2, c, generator=g) * 0.3, torch.randn(2, d, generator=g) * 0.3
            w["lokr_t2"] = torch.randn(2, 2, kh, kh, generator=g) * 0.3
        else:
            w["lokr_w2"] = torch.randn(c, d, kh, kh, generator=g) * 0.3
    elif i % 3 == 1:
        w["lokr_w2"] = torch.randn(c, d, generator=g) * 0.3
    else:
        w["lokr_w2_a"], w["lokr_w2_b"] = torch.randn(c, 3, generator=g) * 0.3, torch.randn(3, d, generator=g) * 0.3
    return w


def peft_file(unet, te, g):
    """unet.<module>.lora_A/B and text_encoder.<module>.lora_A/B, PEFT metadata as diffusers writes it."""
    tensors, modules = {}, {}
    meta = {"unet.lora_alpha": 8, "unet.r": RANK, "unet.alpha_pattern": {"to_k": 2}, "unet.rank_pattern": {},
            "text_encoder.lora_alpha": 2, "text_encoder.r": RANK, "text_encoder.alpha_pattern": {}, "text_encoder.rank_pattern": {}}
    for comp, mods in (("unet", [t for t in targets(unet) if isinstance(t[1], torch.nn.Linear)]), ("text_encoder", targets(te, te=True))):
        meta[f"{comp}.target_modules"] = sorted({n.removeprefix("text_model.") for n, _ in mods})
        for name, m in mods:
            up, down = lora_pair(m, g)
            saved = name.removeprefix("text_model.") if comp == "text_encoder" else name   # transformers 5 layout
            tensors[f"{comp}.{saved}.lora_A.weight"] = down.half()
            tensors[f"{comp}.{saved}.lora_B.weight"] = up.half()
            alpha = 2 if comp == "unet" and name.endswith("to_k") else meta[f"{comp}.lora_alpha"]
            modules[f"{comp}|{name}.weight"] = {"lora_up.weight": up.half().float(), "lora_down.weight": down.half().float(),
                                                "alpha": torch.tensor(float(alpha))}
    return tensors, modules, {"format": "pt", "lora_adapter_metadata": json.dumps(meta, indent=2, sort_keys=True)}


def load_parts(folder):
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextModel
    unet = UNet2DConditionModel.from_pretrained(os.path.join(folder, "unet"), variant="fp16", torch_dtype=torch.float32)
    te = CLIPTextModel.from_pretrained(os.path.join(folder, "text_encoder"), variant="fp16", torch_dtype=torch.float32)
    return unet, te


def state_of(unet, te):
    s = {f"unet|{k}": v.detach().clone() for k, v in unet.state_dict().items()}
    for k, v in te.state_dict().items():
        s[f"text_encoder|{k if k.startswith('text_model.') else 'text_model.' + k}"] = v.detach().clone()
    return s


def build(root):
    """Write the LoRA files and expected merged weights; returns {case: (model, [(file, weight)], modules)}."""
    models = os.path.join(root, "models")
    out = os.path.join(root, "lora")
    os.makedirs(out, exist_ok=True)
    base_unet, base_te = load_parts(os.path.join(models, "tiny-sd21-base"))
    inp_unet, inp_te = load_parts(os.path.join(models, "tiny-sd2-inpainting"))
    files = {}
    g = torch.Generator().manual_seed(2020)
    files["kohya_locon"] = kohya_file(base_unet, base_te, g, lambda i, n: 2.0)
    files["kohya_mixed"] = kohya_file(base_unet, base_te, g, lambda i, n: [1.0, 3.0, None, 8.0, 1.0][i % 5])
    files["loha"] = kohya_file(base_unet, base_te, g, lambda i, n: [2.0, None, 5.0][i % 3], kinds=loha)
    files["lokr"] = kohya_file(base_unet, base_te, g, lambda i, n: [None, 2.0, 6.0][i % 3], kinds=lokr)
    files["inpaint9"] = kohya_file(inp_unet, inp_te, g, lambda i, n: 4.0)
    pt, pm, meta = peft_file(base_unet, base_te, g)
    for name, (t, _) in files.items():
        save_file(t, os.path.join(out, f"{name}.safetensors"), metadata={"ss_network_dim": str(RANK)})
    save_file(pt, os.path.join(out, "peft.safetensors"), metadata=meta)
    files["peft"] = (pt, pm)
    # Another architecture: cross-attention keys 48 wide.
    bad = {"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": torch.randn(RANK, 48, generator=g).half(),
           "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_up.weight": torch.randn(16, RANK, generator=g).half()}
    save_file(bad, os.path.join(out, "sd1_width.safetensors"))
    # Expected merged weights, per case: (model, [(file, weight)]).
    cases = {"kohya_locon_w1": ("tiny-sd21-base", [("kohya_locon", 1.0)]),
             "kohya_mixed_w07": ("tiny-sd21-base", [("kohya_mixed", 0.7)]),
             "peft_w07": ("tiny-sd21-base", [("peft", 0.7)]),
             "stacked": ("tiny-sd21-base", [("kohya_locon", 1.0), ("peft", 0.7)]),
             "loha_w1": ("tiny-sd21-base", [("loha", 1.0)]),
             "lokr_w07": ("tiny-sd21-base", [("lokr", 0.7)]),
             "inpaint9_w07": ("tiny-sd2-inpainting", [("inpaint9", 0.7)]),
             "inpaint4_kohya_w1": ("tiny-sd21-base", [("kohya_locon", 1.0)])}
    states = {"tiny-sd21-base": state_of(base_unet, base_te), "tiny-sd2-inpainting": state_of(inp_unet, inp_te)}
    expected, merged = {}, {}
    for case, (model, stack) in cases.items():
        m = {}
        for fname, w in stack:
            step = merge({**states[model], **m}, files[fname][1], w)
            m.update(step)
        merged[case] = m
        # Two weights of every kind of update the case makes (roles, alpha or not, weight rank) keep
        # the file small and cover each formula; the golden images cover every weight.
        kinds = {}
        for k in sorted(m):
            sig = tuple(sorted(tuple(sorted(files[f][1][k])) for f, _ in stack if k in files[f][1])) + (m[k].dim(),)
            kinds.setdefault(sig, []).append(k)
        for keys in kinds.values():
            for k in keys[:2]:
                expected[f"{case}|{k}"] = m[k]
    save_file({k: v.contiguous() for k, v in expected.items()}, os.path.join(out, "expected.safetensors"))
    json.dump({c: {"model": m, "loras": [[f, w] for f, w in s]} for c, (m, s) in cases.items()},
              open(os.path.join(out, "cases.json"), "w"), indent=1)
    # A1111's short hash of each file (modules/hashes.py addnet_hash_safetensors, first 12 digits).
    import hashlib
    hashes = {}
    for name in sorted(list(files) + ["sd1_width"]):
        raw = open(os.path.join(out, f"{name}.safetensors"), "rb").read()
        hashes[name] = hashlib.sha256(raw[8 + int.from_bytes(raw[:8], "little"):]).hexdigest()[:12]
    json.dump(hashes, open(os.path.join(out, "hashes.json"), "w"), indent=1, sort_keys=True)
    print(f"wrote lora/ ({len(files) + 1} LoRA files, {len(expected)} expected weights)")
    return cases, merged


def diffusers_fused(pipe, out, stack):
    """diffusers' own merge: load_lora_weights + fuse_lora(lora_scale=w), one file after another."""
    for fname, w in stack:
        pipe.load_lora_weights(os.path.join(out, f"{fname}.safetensors"), adapter_name=fname)
        pipe.fuse_lora(lora_scale=w, adapter_names=[fname])
        pipe.unload_lora_weights()


def apply_state(pipe, merged):
    with torch.no_grad():
        for k, v in merged.items():
            comp, key = k.split("|")
            mod = pipe.unet if comp == "unet" else pipe.text_encoder
            sd = mod.state_dict()
            name = key if key in sd else key.removeprefix("text_model.")
            sd[name].copy_(v)


def goldens(root, cases, merged, threads=1):
    from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionInpaintPipeline
    import fixtures_depth as fd
    torch.set_num_threads(threads)
    out = os.path.join(root, "lora")
    t = {}
    for case, (model, stack) in cases.items():
        folder = os.path.join(root, "models", model)
        cls = StableDiffusionInpaintPipeline if case.startswith("inpaint") else StableDiffusionImg2ImgPipeline
        pipe = cls.from_pretrained(folder, variant="fp16", torch_dtype=torch.float32, safety_checker=None,
                                   requires_safety_checker=False)
        by_diffusers = all(f in ("kohya_locon", "peft", "inpaint9") for f, _ in stack)
        if by_diffusers or case == "kohya_mixed_w07":
            diffusers_fused(pipe, out, stack)
            worst = 0.0
            for k, v in merged[case].items():
                comp, key = k.split("|")
                sd = (pipe.unet if comp == "unet" else pipe.text_encoder).state_dict()
                worst = max(worst, float((sd[key if key in sd else key.removeprefix("text_model.")] - v).abs().max()))
            print(f"  {case}: diffusers fuse_lora vs A1111 merge, max |Δw| = {worst:.3g}")
            if by_diffusers:
                assert worst < 1e-4, f"{case}: diffusers and A1111 merges differ by {worst}"
        if not by_diffusers:
            pipe = cls.from_pretrained(folder, variant="fp16", torch_dtype=torch.float32, safety_checker=None,
                                       requires_safety_checker=False)
            apply_state(pipe, merged[case])
        pipe.scheduler = fi.make_scheduler("ddim", pipe.scheduler.config)
        if case.startswith("inpaint"):
            img, mask = fi.test_images(64, 64)
            kw = dict(prompt="a red brick wall", image=img, mask_image=mask, height=64, width=64, num_inference_steps=6,
                      guidance_scale=7.5, strength=1.0)
        else:
            img = fd.test_image(64, 64, 3)
            kw = dict(prompt="a watercolor painting", image=img, num_inference_steps=6, guidance_scale=7.5, strength=0.8)
        t.update(fi.run_case(pipe, kw, 7, case))
    fi.test_images(64, 64)[0].save(os.path.join(out, "inpaint.image.png"))
    fi.test_images(64, 64)[1].save(os.path.join(out, "inpaint.mask.png"))
    fd.test_image(64, 64, 3).save(os.path.join(out, "img2img.png"))
    return t


EMBEDDING_PROMPT = "a watercolor painting of mytok in sunsetstyle style, learnedtok"


def embedding_fixtures(root, threads=1):
    """Textual-inversion files (fixtures/lora/embeddings/): sunsetstyle in A1111's emb_params layout
    with 3 vectors, mytok in diffusers' {token: vector} layout, learnedtok as learned_embeds; and
    img2img goldens after diffusers load_textual_inversion(path, token=NAME) for each."""
    from diffusers import StableDiffusionImg2ImgPipeline
    import fixtures_depth as fd
    torch.set_num_threads(threads)
    d = os.path.join(root, "lora", "embeddings")
    os.makedirs(d, exist_ok=True)
    g = torch.Generator().manual_seed(77)
    files = {"sunsetstyle": {"emb_params": torch.randn(3, 32, generator=g) * 0.5},
             "mytok": {"<mytok>": torch.randn(32, generator=g) * 0.5},
             "learnedtok": {"learned_embeds": torch.randn(32, generator=g) * 0.5}}
    for name, t in files.items():
        save_file({k: v.half() for k, v in t.items()}, os.path.join(d, f"{name}.safetensors"))
    save_file({"emb_params": torch.randn(2, 48, generator=g).half()}, os.path.join(root, "lora", "wide_embedding.safetensors"))
    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(os.path.join(root, "models", "tiny-sd21-base"), variant="fp16",
                                                          torch_dtype=torch.float32, safety_checker=None, requires_safety_checker=False)
    for name in files:
        pipe.load_textual_inversion(os.path.join(d, f"{name}.safetensors"), token=name)
    pipe.scheduler = fi.make_scheduler("ddim", pipe.scheduler.config)
    img = fd.test_image(64, 64, 3)
    kw = dict(prompt=EMBEDDING_PROMPT, image=img, num_inference_steps=6, guidance_scale=7.5, strength=0.8)
    t = fi.run_case(pipe, kw, 7, "embeddings")
    ids = pipe.tokenizer(pipe.maybe_convert_prompt(EMBEDDING_PROMPT, pipe.tokenizer), padding="max_length", max_length=77).input_ids
    t["embeddings.ids"] = torch.tensor(ids, dtype=torch.float32)
    return t


# --- kohya names in LDM (compvis) spelling ----------------------------------------------------

RESNET_LDM = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1", "norm2": "out_layers.0",
              "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}


def ldm_unet_key(key, config):
    """A diffusers UNet key → the LDM one (model.diffusion_model.* without the prefix); checked below
    against diffusers' own single-file conversion."""
    L = config["layers_per_block"]
    p = key.split(".")
    if p[0] == "conv_in":
        return ".".join(["input_blocks", "0", "0"] + p[1:])
    if p[0] == "time_embedding":
        return ".".join(["time_embed", "0" if p[1] == "linear_1" else "2"] + p[2:])
    if p[0] in ("conv_norm_out", "conv_out"):
        return ".".join(["out", "0" if p[0] == "conv_norm_out" else "2"] + p[1:])

    def resnet(rest):
        return RESNET_LDM[rest[0]].split(".") + rest[1:]
    if p[0] == "mid_block":
        if p[1] == "attentions":
            return ".".join(["middle_block", "1"] + p[3:])
        return ".".join(["middle_block", "0" if p[2] == "0" else "2"] + resnet(p[3:]))
    b = int(p[1])
    if p[0] == "down_blocks":
        if p[2] == "downsamplers":
            return ".".join(["input_blocks", str((b + 1) * (L + 1)), "0", "op"] + p[5:])
        i = 1 + b * (L + 1) + int(p[3])
        return ".".join(["input_blocks", str(i)] + (["1"] + p[4:] if p[2] == "attentions" else ["0"] + resnet(p[4:])))
    if p[2] == "upsamplers":
        has_attention = config["up_block_types"][b].startswith("CrossAttn")
        return ".".join(["output_blocks", str(b * (L + 1) + L), "2" if has_attention else "1"] + p[4:])
    i = b * (L + 1) + int(p[3])
    return ".".join(["output_blocks", str(i)] + (["1"] + p[4:] if p[2] == "attentions" else ["0"] + resnet(p[4:])))


def a1111_compvis_name(name):
    """What A1111's convert_diffusers_name_to_compvis (extensions-builtin/Lora/networks.py, written
    for SD's three blocks per level) makes of a diffusers-spelled kohya UNet name."""
    import re
    res = {"conv1": "in_layers_2", "conv2": "out_layers_3", "norm1": "in_layers_0", "norm2": "out_layers_0",
           "time_emb_proj": "emb_layers_1", "conv_shortcut": "skip_connection"}
    m = re.match(r"lora_unet_(down|up)_blocks_(\d+)_(attentions|resnets)_(\d+)_(.+)", name)
    if m:
        b, j, rest = int(m[2]), int(m[4]), m[5]
        sfx = res.get(rest, rest) if m[3] == "resnets" else rest
        i = 1 + b * 3 + j if m[1] == "down" else b * 3 + j
        return f"diffusion_model_{'input' if m[1] == 'down' else 'output'}_blocks_{i}_{1 if m[3] == 'attentions' else 0}_{sfx}"
    m = re.match(r"lora_unet_mid_block_(attentions|resnets)_(\d+)_(.+)", name)
    if m:
        sfx = res.get(m[3], m[3]) if m[1] == "resnets" else m[3]
        return f"diffusion_model_middle_block_{1 if m[1] == 'attentions' else int(m[2]) * 2}_{sfx}"
    m = re.match(r"lora_unet_down_blocks_(\d+)_downsamplers_0_conv", name)
    if m:
        return f"diffusion_model_input_blocks_{3 + int(m[1]) * 3}_0_op"
    m = re.match(r"lora_unet_up_blocks_(\d+)_upsamplers_0_conv", name)
    if m:
        return f"diffusion_model_output_blocks_{2 + int(m[1]) * 3}_{2 if int(m[1]) > 0 else 1}_conv"
    return name


def ldm_named_file(root):
    """kohya_ldm.safetensors: kohya_locon's tensors with every lora_unet_ module renamed to its LDM
    spelling (lora_unet_input_blocks_1_1_proj_in …; the text-encoder names stay kohya's, which A1111
    maps onto OpenCLIP on SD 2.x). sdedit must merge it exactly as kohya_locon (case kohya_locon_w1)."""
    from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint
    from safetensors import safe_open
    out = os.path.join(root, "lora")
    unet, _ = load_parts(os.path.join(root, "models", "tiny-sd21-base"))
    config = dict(unet.config)
    state = unet.state_dict()
    # The mapping, checked on every UNet key against diffusers' single-file conversion.
    ldm = {"model.diffusion_model." + ldm_unet_key(k, config): v for k, v in state.items()}
    assert len(ldm) == len(state), "two diffusers keys map to one LDM key"
    back = convert_ldm_unet_checkpoint(ldm, config)
    assert set(back) == set(state) and all(torch.equal(back[k], state[k]) for k in state), "LDM mapping disagrees with diffusers"
    src = os.path.join(out, "kohya_locon.safetensors")
    tensors, renamed = {}, 0
    with safe_open(src, "pt") as f:
        meta = f.metadata()
        for key in f.keys():
            module, role = key.split(".", 1)
            if module.startswith("lora_unet_"):
                dotted = next(n for n, _ in targets(unet) if kohya_name("lora_unet_", n) == module)
                ldm_name = "lora_unet_" + ldm_unet_key(dotted + ".weight", config)[:-len(".weight")].replace(".", "_")
                # A1111 looks an LDM-spelled name up as diffusion_model_…; its conversion of the
                # diffusers spelling must land on the same module.
                assert a1111_compvis_name(module) == ldm_name.replace("lora_unet", "diffusion_model", 1), (module, ldm_name)
                module, renamed = ldm_name, renamed + 1
            tensors[f"{module}.{role}"] = f.get_tensor(key)
    # A converter that keeps kohya's metadata keeps its sshs_model_hash (sd-scripts: the addnet hash of
    # the file it saved), which A1111 reports as the file's hash (network.py NetworkOnDisk).
    import hashlib
    raw = open(src, "rb").read()
    meta = dict(meta or {}, sshs_model_hash=hashlib.sha256(raw[8 + int.from_bytes(raw[:8], "little"):]).hexdigest())
    save_file(tensors, os.path.join(out, "kohya_ldm.safetensors"), metadata=meta)
    print(f"wrote lora/kohya_ldm.safetensors ({renamed} of {len(tensors)} keys renamed to LDM names)")


def embedding_hashes(root):
    """A1111's TI short hashes (textual_inversion.py: hashes.sha256 of the whole file, first 12 digits)."""
    import hashlib
    d = os.path.join(root, "lora", "embeddings")
    hashes = {n[:-len(".safetensors")]: hashlib.sha256(open(os.path.join(d, n), "rb").read()).hexdigest()[:12]
              for n in sorted(os.listdir(d)) if n.endswith(".safetensors")}
    json.dump(hashes, open(os.path.join(d, "..", "ti_hashes.json"), "w"), indent=1, sort_keys=True)


def ldm_fuzz_seed(path):
    """A seed for the lora fuzz target (scripts/fuzz/corpus/lora/ldm.safetensors): five kohya modules in
    LDM spelling (attention, resnet layer, downsampler, upsampler, time embedding), each 16×16, rank 2."""
    g = torch.Generator().manual_seed(5)
    t = {}
    for i, m in enumerate(["input_blocks_1_1_proj_in", "middle_block_0_in_layers_2", "input_blocks_3_0_op",
                           "output_blocks_2_1_conv", "time_embed_0"]):
        t[f"lora_unet_{m}.lora_up.weight"] = torch.randn(16, 2, generator=g).half()
        t[f"lora_unet_{m}.lora_down.weight"] = torch.randn(2, 16, generator=g).half()
        if i % 2 == 0:
            t[f"lora_unet_{m}.alpha"] = torch.tensor(1.0).half()
    save_file(t, path)
