"""What merging a real-size LoRA costs sdedit, counted (no timing): the parameters it touches and the
bytes the merge allocates, for kohya LoRA / LoCon files shaped like the common SD 1.5 and SD 2.1 ones.
The models are built on PyTorch's meta device from their published configs (no weights are read).

Target modules follow kohya sd-scripts networks/lora.py: Linear and 1×1 Conv2d inside Transformer2DModel
(UNet) and CLIPAttention/CLIPMLP (text encoder); LoCon adds the 3×3 convs of ResnetBlock2D, Downsample2D
and Upsample2D. sdedit's merge (Sources/SDModels/Weights.swift load/merged, LoRADelta.swift delta), per
touched weight W of n values, fp32 element = 4 bytes, a rank-r module with f = r·(in·k + out) factor values:
  read   the factors as fp32: 4·f            (transient)
  ΔW     up·down, scaled in place: 4·n        (transient)
  base   W read as fp32 (load), ΔW added to it in place: 4·n (at --precision fp32 it is the weight
         the model keeps: for an F32 file that is a resident copy where the untouched weights are
         used straight from the mapped file; an F16 file is converted to fp32 with or without a
         LoRA; at bf16 it is transient and the weight is rounded once to 2·n)
  flops  2·n·r multiply-adds for up·down (LoCon: r·in·k per output value), n adds for the merge
Run: python scripts/lora_merge_cost.py
"""
import torch

SD15_UNET = dict(sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
                 block_out_channels=(320, 640, 1280, 1280), cross_attention_dim=768, attention_head_dim=8,
                 down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                 up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3)
SD21_UNET = dict(SD15_UNET, cross_attention_dim=1024, attention_head_dim=(5, 10, 20, 20), use_linear_projection=True)
CLIP_L = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12, vocab_size=49408)
OPENCLIP_H = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=23, num_attention_heads=16, vocab_size=49408,
                  hidden_act="gelu")


def modules(unet, te, locon):
    from diffusers.models.transformers.transformer_2d import Transformer2DModel
    from diffusers.models.resnet import ResnetBlock2D, Downsample2D, Upsample2D
    out = []
    parents = (Transformer2DModel,) + ((ResnetBlock2D, Downsample2D, Upsample2D) if locon else ())
    for _, parent in unet.named_modules():
        if not isinstance(parent, parents):
            continue
        for _, m in parent.named_modules():
            if isinstance(m, torch.nn.Linear) or (isinstance(m, torch.nn.Conv2d) and (m.kernel_size == (1, 1) or locon)):
                out.append(m)
    for name, m in te.named_modules():
        if isinstance(m, torch.nn.Linear) and ("self_attn" in name or "mlp" in name):
            out.append(m)
    return list({id(m): m for m in out}.values())


def cost(label, unet_cfg, te_cfg, rank, locon):
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel
    with torch.device("meta"):
        unet = UNet2DConditionModel(**unet_cfg)
        te = CLIPTextModel(CLIPTextConfig(**te_cfg))
    mods = modules(unet, te, locon)
    n = [m.weight.numel() for m in mods]
    f = [rank * (m.weight[0].numel() + m.weight.shape[0]) for m in mods]
    total = sum(p.numel() for p in unet.parameters()) + sum(p.numel() for p in te.parameters())
    mb = lambda b: f"{b / 2**20:,.0f} MiB"
    big = max(range(len(mods)), key=lambda i: n[i])
    print(f"{label}: {len(mods)} modules, rank {rank}; file {mb(2 * sum(f))} (fp16)")
    print(f"  touched parameters {sum(n):,} of {total:,} UNet+text-encoder parameters ({100 * sum(n) / total:.0f} %)")
    print(f"  flops {2 * rank * sum(n) + sum(n):,} ({(2 * rank + 1) * sum(n) / 1e9:.1f} GFLOP)")
    print(f"  allocated over the whole merge: factors {mb(4 * sum(f))}, ΔW {mb(4 * sum(n))} (both freed weight by weight), "
          f"fp32 bases {mb(4 * sum(n))}")
    print(f"  live at once for the largest weight {tuple(mods[big].weight.shape)}: {mb(4 * (2 * n[big] + f[big]))}")


if __name__ == "__main__":
    cost("SD 1.5 kohya LoRA", SD15_UNET, CLIP_L, 32, False)
    cost("SD 1.5 kohya LoCon (conv rank 32)", SD15_UNET, CLIP_L, 32, True)
    cost("SD 2.1 kohya LoRA", SD21_UNET, OPENCLIP_H, 32, False)
    cost("SD 1.5 kohya LoRA, rank 128", SD15_UNET, CLIP_L, 128, False)
