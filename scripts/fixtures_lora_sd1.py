"""A LoRA made for SD 1.x run on its 9-channel inpainting model (called from make_fixtures.py "lorasd1";
needs tiny-sd1, i.e. the "single" part, and tiny-sd2-inpainting).

fixtures/models/tiny-sd1-inpainting is built the way runwayml/stable-diffusion-inpainting was made from
SD 1.x: tiny-sd1's UNet weights with conv_in widened to 9 input channels (latents, mask, masked-image
latents; the 5 new input channels random), and tiny-sd1's tokenizer, CLIP ViT-L-style text encoder,
scheduler and VAE, linked rather than copied.

fixtures/lora/kohya_sd1.safetensors is a kohya LoRA + LoCon made on tiny-sd1 (the 4-channel model).
Like the files kohya's sd-scripts write, it has no conv_in module (sd-scripts trains the transformer
blocks and, for LoCon, the resnet/sampler convs), so every module it has exists with the same shape in
the inpainting UNet; this is asserted, and so is that diffusers fuses every module of the file (a module
diffusers skipped would leave its weight unmerged and fail the comparison with A1111's merge).

fixtures/lora/sd1_inpaint.safetensors: StableDiffusionInpaintPipeline on tiny-sd1-inpainting after
load_lora_weights + fuse_lora(lora_scale=0.8), DDIM, 6 steps, guidance 7.5, strength 1, seed 7, 64×64,
prompt "a red brick wall", the image and mask of fixtures/lora/inpaint.{image,mask}.png (written by the
"lora" part): final latents
and 8-bit image (output_type "np", the raw decode without diffusers' optional mask overlay).
It also holds "conv_in_w08|unet|<key>": the weights AUTOMATIC1111 merges from conv_in_sd1.safetensors, a
LoCon made on tiny-sd1 that does train conv_in (LyCORIS's "full" preset does), at weight 0.8 on
tiny-sd1-inpainting. Its 4-channel conv_in update does not fit the 9-channel conv_in: diffusers refuses the
file (load_lora_weights: size mismatch, asserted here); A1111 (extensions-builtin/Lora/networks.py
network_apply_weights) zero-pads the update's input channels 4 → 9 for a 4-D weight with 9 input channels,
so the mask and masked-image channels are left alone. sdedit follows A1111.
sd1_inpaint_noise.json is the difference of a 1-thread and a 2-thread torch run (the reference's own noise).
"""
import json
import os

import torch
from safetensors.torch import save_file

import fixtures_inpaint as fi
import fixtures_lora as fl

CASE = "sd1_inpaint_w08"
WEIGHT = 0.8
REQUEST = dict(prompt="a red brick wall", height=64, width=64, num_inference_steps=6, guidance_scale=7.5, strength=1.0)
SEED = 7


def build_model(models):
    """tiny-sd1-inpainting beside tiny-sd1; the UNet is the only new file."""
    from diffusers import UNet2DConditionModel
    sd1 = os.path.join(models, "tiny-sd1")
    folder = os.path.join(models, "tiny-sd1-inpainting")
    os.makedirs(folder, exist_ok=True)
    fi.link_shared(folder, sd1, ["tokenizer", "text_encoder", "scheduler"])
    fi.link_shared(folder, os.path.join(models, "tiny-sd2-inpainting"), ["vae"])
    base, _ = fl.load_parts(sd1)
    config = {k: v for k, v in base.config.items() if k != "_name_or_path"}   # no local path in the fixture
    config["in_channels"] = 9
    unet = UNet2DConditionModel.from_config(config)
    state = base.state_dict()
    wide = fi.randomize(torch.nn.Conv2d(9, state["conv_in.weight"].shape[0], 3, padding=1), 61).weight.detach()
    wide[:, :4] = state["conv_in.weight"]
    state["conv_in.weight"] = wide
    unet.load_state_dict(state)
    unet.half().save_pretrained(os.path.join(folder, "unet"), variant="fp16")
    index = json.load(open(os.path.join(sd1, "model_index.json")))
    index["_class_name"] = "StableDiffusionInpaintPipeline"
    json.dump(index, open(os.path.join(folder, "model_index.json"), "w"), indent=2)
    return folder


def lora_file(models, out):
    """kohya_sd1.safetensors on tiny-sd1 (alpha 2, rank 4); returns its modules (A1111 key → roles)."""
    unet, te = fl.load_parts(os.path.join(models, "tiny-sd1"))
    tensors, modules = fl.kohya_file(unet, te, torch.Generator().manual_seed(2026), lambda i, n: 2.0)
    assert not any(k.startswith("lora_unet_conv_in") for k in tensors), "kohya LoRAs have no conv_in module"
    save_file(tensors, os.path.join(out, "kohya_sd1.safetensors"), metadata={"ss_network_dim": str(fl.RANK)})
    return modules


def golden(models, out, modules, threads):
    from diffusers import StableDiffusionInpaintPipeline
    torch.set_num_threads(threads)
    folder = os.path.join(models, "tiny-sd1-inpainting")
    pipe = StableDiffusionInpaintPipeline.from_pretrained(folder, variant="fp16", torch_dtype=torch.float32,
                                                          safety_checker=None, requires_safety_checker=False)
    state = fl.state_of(pipe.unet, pipe.text_encoder)
    assert all(k in state for k in modules), "a kohya_sd1 module has no weight in the inpainting model"
    want = fl.merge(state, modules, WEIGHT)
    fl.diffusers_fused(pipe, out, [("kohya_sd1", WEIGHT)])
    fused = fl.state_of(pipe.unet, pipe.text_encoder)
    worst = max(float((fused[k] - v).abs().max()) for k, v in want.items())
    moved = sum(1 for k in want if not torch.equal(fused[k], state[k]))
    untouched = [k for k in state if k not in want and not torch.equal(fused[k], state[k])]
    print(f"  {CASE}: diffusers fused {moved} of {len(want)} modules, max |Δw| vs A1111 = {worst:.3g}")
    assert moved == len(want) and not untouched and worst < 1e-4, "diffusers and A1111 merge kohya_sd1 differently"
    pipe.scheduler = fi.make_scheduler("ddim", pipe.scheduler.config)
    img, mask = fi.test_images(64, 64)
    return fi.run_case(pipe, dict(REQUEST, image=img, mask_image=mask), SEED, CASE)


def conv_in_file(models, out):
    """conv_in_sd1.safetensors (conv_in and one attention projection, made on tiny-sd1) and the weights
    A1111 merges from it at WEIGHT on tiny-sd1-inpainting ("conv_in_w08|unet|<key>")."""
    from diffusers import StableDiffusionInpaintPipeline
    sd1, _ = fl.load_parts(os.path.join(models, "tiny-sd1"))
    g = torch.Generator().manual_seed(2027)
    tensors, modules = {}, {}
    for name in ("conv_in", "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k"):
        up, down = fl.lora_pair(sd1.get_submodule(name), g)
        w = {"lora_up.weight": up.half(), "lora_down.weight": down.half(), "alpha": torch.tensor(2.0).half()}
        tensors.update({f"{fl.kohya_name('lora_unet_', name)}.{r}": t for r, t in w.items()})
        modules[f"unet|{name}.weight"] = {r: t.float() for r, t in w.items()}
    save_file(tensors, os.path.join(out, "conv_in_sd1.safetensors"), metadata={"ss_network_dim": str(fl.RANK)})
    pipe = StableDiffusionInpaintPipeline.from_pretrained(os.path.join(models, "tiny-sd1-inpainting"), variant="fp16",
                                                          torch_dtype=torch.float32, safety_checker=None, requires_safety_checker=False)
    state = fl.state_of(pipe.unet, pipe.text_encoder)
    try:
        pipe.load_lora_weights(os.path.join(out, "conv_in_sd1.safetensors"), adapter_name="conv_in")
        raise AssertionError("diffusers now loads a 4-channel conv_in LoRA on a 9-channel UNet: revisit this case")
    except RuntimeError as e:
        assert "size mismatch" in str(e), e
    expected = {}
    for key, w in modules.items():
        d = fl.a1111_delta(w, torch.empty(w["lora_up.weight"].shape[0], *w["lora_down.weight"].shape[1:])) * WEIGHT
        base = state[key]
        if base.dim() == 4 and base.shape[1] == 9:
            d = torch.nn.functional.pad(d, (0, 0, 0, 0, 0, 5))   # A1111: channel 4 → 9, zeros
        expected[f"conv_in_w08|{key}"] = base + d.reshape(base.shape)
    return expected


def fixtures(root):
    models = os.path.join(root, "models")
    out = os.path.join(root, "lora")
    os.makedirs(out, exist_ok=True)
    build_model(models)
    modules = lora_file(models, out)
    one = golden(models, out, modules, threads=1)
    two = golden(models, out, modules, threads=2)
    noise = {k: {"max": float((one[k] - two[k]).abs().max()), "mean": float((one[k] - two[k]).abs().mean())} for k in one}
    json.dump(noise, open(os.path.join(out, "sd1_inpaint_noise.json"), "w"), indent=1, sort_keys=True)
    one.update(conv_in_file(models, out))
    save_file({k: v.contiguous() for k, v in one.items()}, os.path.join(out, "sd1_inpaint.safetensors"))
    print(f"wrote models/tiny-sd1-inpainting and lora/kohya_sd1 ({len(modules)} modules), lora/sd1_inpaint ({CASE})")
