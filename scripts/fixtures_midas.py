"""MiDaS in a depth single file. Stability AI's 512-depth-ema.safetensors carries the depth estimator
as LDM's MiDaSInference saved it: depth_model.model.* in MiDaS/timm names (pretrained.model = timm's
ViT-hybrid with the BiT ResNet under patch_embed.backbone and a fused attn.qkv, pretrained.
act_postprocessK = DPT's reassemble stage K, scratch = neck convs, refinenets and output head), plus
timm's unused ImageNet classifier pretrained.model.head.*.

midas_state_dict() re-saves the tiny depth model's DPT (transformers names, depth_estimator/) under those
names, for fixtures_singlefile.py's depth file. It is the inverse of transformers'
models/dpt/convert_dpt_hybrid_to_pytorch.py (rename_key, read_in_q_k_v), and checked three ways:
* through transformers' own conversion functions, which give back the folder's tensors exactly.
  transformers 5 wheels do not ship the conversion scripts: set SDEDIT_DPT_CONVERTER to the file
  (a transformers checkout's src/transformers/models/dpt/convert_dpt_hybrid_to_pytorch.py) to run it;
  without it the check is skipped with a note;
* the pretrained.model.* names load strictly into a timm VisionTransformer + HybridEmbed(ResNetV2) of
  the tiny widths (the model MiDaS builds, timm vit_base_r50_s16_384 at toy size);
* at real size: the Intel/dpt-hybrid-midas config (get_dpt_config for a "midas" URL over DPTConfig's
  defaults) builds a DPTForDepthEstimation of exactly 122,377,985 parameters (spec section 9); its keys
  and shapes, in both spellings, go to fixtures/depth/midas_keys.json for the Swift key-table test.

Called from make_fixtures.py ("single" writes the depth file with the rest; "midas" only this).
"""
import importlib.util
import json
import os
from functools import partial

import torch
from safetensors.torch import load_file

BIT = "dpt.embeddings.backbone.bit."
VIT = {"layernorm_before": "norm1", "layernorm_after": "norm2", "attention.output.dense": "attn.proj",
       "intermediate.dense": "mlp.fc1", "output.dense": "mlp.fc2"}
REAL_PARAMETERS = 122_377_985


def midas_name(k):
    """One transformers DPT key → its MiDaS/timm name (q, k, v are fused separately)."""
    p = k.split(".")
    if k.startswith(BIT + "embedder."):
        return "pretrained.model.patch_embed.backbone.stem." + {"convolution": "conv", "norm": "norm"}[p[5]] + "." + p[6]
    if k.startswith(BIT + "encoder.stages."):
        return f"pretrained.model.patch_embed.backbone.stages.{p[6]}.blocks.{p[8]}." + ".".join(p[9:])
    fixed = {"dpt.embeddings.cls_token": "pretrained.model.cls_token",
             "dpt.embeddings.position_embeddings": "pretrained.model.pos_embed"}
    if k in fixed:
        return fixed[k]
    if k.startswith("dpt.embeddings.projection."):
        return "pretrained.model.patch_embed.proj." + p[-1]
    if k.startswith("dpt.layernorm."):
        return "pretrained.model.norm." + p[-1]
    if k.startswith("dpt.encoder.layer."):
        return f"pretrained.model.blocks.{p[3]}.{VIT['.'.join(p[4:-1])]}.{p[-1]}"
    if k.startswith("neck.reassemble_stage.readout_projects."):
        return f"pretrained.act_postprocess{int(p[3]) + 1}.0.project.0.{p[-1]}"
    if k.startswith("neck.reassemble_stage.layers."):
        return f"pretrained.act_postprocess{int(p[3]) + 1}.{ {'projection': 3, 'resize': 4}[p[4]] }.{p[-1]}"
    if k.startswith("neck.convs."):
        return f"scratch.layer{int(p[2]) + 1}_rn.{p[-1]}"
    if k.startswith("neck.fusion_stage.layers."):
        inner = ".".join(p[4:-1]).replace("residual_layer", "resConfUnit").replace("convolution", "conv")
        return f"scratch.refinenet{4 - int(p[3])}.{inner.replace('projection', 'out_conv')}.{p[-1]}"
    if k.startswith("head.head."):
        return f"scratch.output_conv.{p[2]}.{p[3]}"
    raise KeyError(k)


def to_midas(sd, layers, head):
    """transformers DPT state dict → MiDaS names: qkv fused as timm stores them (q, k, v rows), and
    timm's classifier `head` = (weight, bias) added as the real file carries it."""
    out = {}
    qkv = ("attention.attention.query", "attention.attention.key", "attention.attention.value")
    for k, v in sd.items():
        if any(f".{q}." in k for q in qkv):
            continue
        out[midas_name(k)] = v
    for i in range(layers):
        pre = f"dpt.encoder.layer.{i}."
        for s in ("weight", "bias"):
            out[f"pretrained.model.blocks.{i}.attn.qkv.{s}"] = torch.cat([sd[pre + q + "." + s] for q in qkv])
    out["pretrained.model.head.weight"], out["pretrained.model.head.bias"] = head
    return out


def check_with_transformers(midas, want, config):
    """transformers' own conversion (rename_key, read_in_q_k_v, remove_ignore_keys_) of `midas` must
    give `want` exactly."""
    path = os.environ.get("SDEDIT_DPT_CONVERTER")
    if not path:
        print("note: SDEDIT_DPT_CONVERTER not set; the check through transformers' convert_dpt_hybrid_to_pytorch.py is skipped")
        return
    spec = importlib.util.spec_from_file_location("convert_dpt_hybrid_to_pytorch", path)
    conv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conv)
    sd = dict(midas)
    conv.remove_ignore_keys_(sd)
    sd = {conv.rename_key(k): v for k, v in sd.items()}
    conv.read_in_q_k_v(sd, config)
    assert set(sd) == set(want), sorted(set(sd) ^ set(want))[:8]
    assert all(torch.equal(sd[k], want[k]) for k in want)
    print(f"checked through transformers' {os.path.basename(path)}: {len(want)} tensors back exactly")


def check_with_timm(midas, config, classes):
    """The pretrained.model.* names load strictly into timm's ViT-hybrid of the same widths."""
    from timm.layers import GroupNormAct, StdConv2dSame
    from timm.models.resnetv2 import ResNetV2
    from timm.models.vision_transformer import VisionTransformer
    from timm.models.vision_transformer_hybrid import HybridEmbed
    b = config.backbone_config
    backbone = ResNetV2(layers=b.depths, channels=b.hidden_sizes[:len(b.depths)], num_classes=0, global_pool="",
                        in_chans=3, preact=False, stem_type="same", conv_layer=StdConv2dSame, stem_chs=b.embedding_size,
                        norm_layer=partial(GroupNormAct, num_groups=b.num_groups))
    vit = VisionTransformer(img_size=config.image_size, patch_size=1, embed_dim=config.hidden_size,
                            depth=config.num_hidden_layers, num_heads=config.num_attention_heads,
                            mlp_ratio=config.intermediate_size / config.hidden_size, num_classes=classes,
                            embed_layer=partial(HybridEmbed, backbone=backbone))
    prefix = "pretrained.model."
    vit.load_state_dict({k[len(prefix):]: v for k, v in midas.items() if k.startswith(prefix)}, strict=True)


def intel_dpt_hybrid_midas():
    """The Intel/dpt-hybrid-midas config, as convert_dpt_hybrid_to_pytorch.py's get_dpt_config sets it
    for a "midas" checkpoint (transformers 5 no longer reads its embedding_type="hybrid": is_hybrid)."""
    from transformers import DPTConfig
    return DPTConfig(is_hybrid=True, hidden_size=768, reassemble_factors=[1, 1, 1, 0.5],
                     neck_hidden_sizes=[256, 512, 768, 768], patch_size=16, use_batch_norm_in_fusion_residual=False,
                     readout_type="project")


def real_size_keys(path):
    """fixtures/depth/midas_keys.json: the real DPT-hybrid's config, and each MiDaS key with the
    transformers keys it becomes and its shape (no weights: built on the meta device)."""
    from transformers import DPTForDepthEstimation
    config = intel_dpt_hybrid_midas()
    with torch.device("meta"):
        model = DPTForDepthEstimation(config)
    sd = model.state_dict()
    count = sum(v.numel() for v in sd.values())
    assert count == REAL_PARAMETERS, count
    meta_head = (torch.empty(1000, 768, device="meta"), torch.empty(1000, device="meta"))
    midas = to_midas(sd, config.num_hidden_layers, meta_head)
    keys = {m: {"transformers": [], "shape": list(v.shape)} for m, v in midas.items()}
    for k in sd:  # state_dict order: query, key, value within each layer
        p = k.split(".")
        fused = ".attention.attention." in k
        keys[f"pretrained.model.blocks.{p[3]}.attn.qkv.{p[-1]}" if fused else midas_name(k)]["transformers"].append(k)
    assert sum(len(e["transformers"]) for e in keys.values()) == len(sd)
    cfg = config.to_dict()
    cfg["backbone_config"] = config.backbone_config.to_dict()
    with open(path, "w") as fh:
        json.dump({"config": cfg, "parameters": count, "keys": keys}, fh, indent=0, sort_keys=True)
    print(f"wrote {path} ({len(keys)} MiDaS keys, {len(sd)} transformers keys, {count} parameters)")


def midas_state_dict(depth_folder, g):
    """The tiny depth model's DPT as depth_model.model.* of a 512-depth-ema-style file, checked."""
    from transformers import DPTConfig
    folder = os.path.join(depth_folder, "depth_estimator")
    sd = load_file(os.path.join(folder, "model.safetensors"))
    config = DPTConfig.from_pretrained(folder)
    classes = 10  # timm's ImageNet head is [1000, 768] in the real file; toy width here
    head = (torch.randn(classes, config.hidden_size, generator=g).half().float(), torch.zeros(classes))
    midas = to_midas(sd, config.num_hidden_layers, head)
    check_with_transformers(midas, sd, config)
    check_with_timm(midas, config, classes)
    return {"depth_model.model." + k: v for k, v in midas.items()}


def make(models, fixtures):
    """The "midas" part alone: midas_keys.json and the depth single file."""
    import fixtures_singlefile
    real_size_keys(os.path.join(fixtures, "depth", "midas_keys.json"))
    fixtures_singlefile.make_single_files(models, only="tiny-sd2-depth")
