#!/usr/bin/env python3
"""Write the golden fixtures that `swift test` compares against, from the reference libraries themselves.

    python3 -m venv venv && venv/bin/pip install -r scripts/requirements.txt
    venv/bin/python scripts/make_fixtures.py            # writes fixtures/

Every expected value in fixtures/ comes out of torch / Pillow / safetensors as pinned in
scripts/requirements.txt; nothing is typed in by hand. Run it on x86-64 (torch's CPU randn differs by
platform; see spec §7.4). Outputs are deterministic for a given set of versions.
"""
import argparse
import io
import os
import struct
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


def save(tensors, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    save_file({k: v.detach().contiguous().to(torch.float32) for k, v in tensors.items()}, path)
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes, {len(tensors)} tensors)")


def ops_fixtures():
    """One input/output set per op family (fixtures/core/ops.safetensors)."""
    g = torch.Generator().manual_seed(1234)
    r = lambda *s: torch.randn(*s, generator=g)
    t = {}
    # Elementwise, broadcasting both ways.
    a, b, c = r(2, 3, 4, 5), r(3, 1, 5), r(4, 1)
    t.update({"ew.a": a, "ew.b": b, "ew.c": c, "ew.add": a + b, "ew.sub": a - b, "ew.mul": a * b,
              "ew.div": a / (b.abs() + 0.5), "ew.b_div": b.abs() + 0.5, "ew.add_c": a + c,
              "ew.scalar": a * 0.18215 - 1.5})
    x = r(3, 50) * 4
    t.update({"act.x": x, "act.silu": F.silu(x), "act.gelu": F.gelu(x), "act.sigmoid": torch.sigmoid(x),
              "act.exp": torch.exp(x.clamp(-80, 80)), "act.x_exp": x.clamp(-80, 80)})
    gg = r(2, 7, 2 * 24)
    h, gate = gg.chunk(2, dim=-1)
    t.update({"geglu.x": gg, "geglu.y": h * F.gelu(gate)})
    s = r(3, 5, 77) * 3
    t.update({"softmax.x": s, "softmax.y": s.softmax(-1)})
    # Reductions.
    t.update({"red.sum1": a.sum(1), "red.mean3": a.mean(3), "red.max2": a.amax(2), "red.min0": a.amin(0)})
    # Shapes.
    t.update({"shape.permute": a.permute(0, 2, 3, 1), "shape.transpose": a.transpose(1, 3),
              "shape.cat1": torch.cat([a, a * 2], 1), "shape.narrow": a.narrow(2, 1, 2),
              "shape.pad": F.pad(a, (0, 1, 0, 1)), "shape.pad2": F.pad(a, (2, 1, 3, 0), value=-1.0)})
    # Linear / matmul.
    lx, lw, lb = r(2, 7, 33), r(19, 33), r(19)
    t.update({"linear.x": lx, "linear.w": lw, "linear.b": lb, "linear.y": F.linear(lx, lw, lb),
              "linear.y_nobias": F.linear(lx, lw)})
    ma, mb, m2 = r(3, 5, 7), r(3, 7, 4), r(7, 6)
    t.update({"matmul.a": ma, "matmul.b": mb, "matmul.y": ma @ mb, "matmul.b2": m2, "matmul.y2": ma @ m2})
    # Convolutions: (name, input shape, out ch, kernel, stride, pad (l, r, t, b), groups, bias)
    convs = [("c3", (2, 6, 9, 11), 5, 3, 1, (1, 1, 1, 1), 1, True),
             ("c3big", (1, 3, 40, 37), 4, 3, 1, (1, 1, 1, 1), 1, True),
             ("down", (1, 4, 10, 12), 4, 3, 2, (0, 1, 0, 1), 1, True),      # VAE downsample: pad r/b
             ("down_sym", (2, 4, 9, 9), 6, 3, 2, (1, 1, 1, 1), 1, True),    # UNet downsample
             ("pw", (2, 8, 5, 6), 3, 1, 1, (0, 0, 0, 0), 1, True),
             ("pw_nobias", (1, 8, 5, 6), 3, 1, 1, (0, 0, 0, 0), 1, False),
             ("groups", (2, 6, 7, 7), 4, 3, 1, (1, 1, 1, 1), 2, True),
             ("stem", (1, 3, 23, 19), 8, 7, 2, (3, 3, 3, 3), 1, False),     # BiT stem
             ("k4s4", (1, 3, 16, 16), 5, 4, 4, (0, 0, 0, 0), 1, True)]
    for name, ish, oc, k, st, pad, groups, bias in convs:
        xi = r(*ish)
        wi = r(oc, ish[1] // groups, k, k) * 0.3
        bi = r(oc) if bias else None
        y = F.conv2d(F.pad(xi, pad), wi, bi, stride=st, groups=groups)
        t[f"conv.{name}.x"] = xi
        t[f"conv.{name}.w"] = wi
        if bias:
            t[f"conv.{name}.b"] = bi
        t[f"conv.{name}.y"] = y
    # Norms.
    gx = r(2, 8, 5, 7) * 2 + 0.5
    gw, gb = r(8), r(8)
    t.update({"gn.x": gx, "gn.w": gw, "gn.b": gb,
              "gn.y_eps6": F.group_norm(gx, 4, gw, gb, eps=1e-6),
              "gn.y_eps5_silu": F.silu(F.group_norm(gx, 2, gw, gb, eps=1e-5)),
              "gn.y_noaffine": F.group_norm(gx, 8, eps=1e-5)})
    lnx, lnw, lnb = r(2, 5, 24) * 3 + 1, r(24), r(24)
    t.update({"ln.x": lnx, "ln.w": lnw, "ln.b": lnb, "ln.y": F.layer_norm(lnx, (24,), lnw, lnb, eps=1e-5),
              "ln.y12": F.layer_norm(lnx, (24,), lnw, lnb, eps=1e-12)})
    # Attention on [B, T, H*D]: reference is F.scaled_dot_product_attention on [B, H, T, D].
    B, H, Tq, Tk, D, Dv = 2, 4, 50, 77, 8, 6
    q, k, v = r(B, Tq, H * D), r(B, Tk, H * D), r(B, Tk, H * Dv)
    split = lambda z, d: z.view(B, -1, H, d).transpose(1, 2)
    merge = lambda z: z.transpose(1, 2).reshape(B, -1, z.shape[1] * z.shape[-1])
    t.update({"attn.q": q, "attn.k": k, "attn.v": v,
              "attn.y": merge(F.scaled_dot_product_attention(split(q, D), split(k, D), split(v, Dv))),
              "attn.y_scale": merge(F.scaled_dot_product_attention(split(q, D), split(k, D), split(v, Dv), scale=0.3))})
    qs = r(B, Tk, H * D)
    t.update({"attn.qs": qs, "attn.y_causal": merge(F.scaled_dot_product_attention(
        split(qs, D), split(k, D), split(v, Dv), is_causal=True))})
    # Interpolation (explicit sizes, as the pipelines call it).
    ix = r(1, 2, 13, 17)
    big = r(1, 1, 64, 48)
    t.update({"interp.x": ix, "interp.big": big,
              "interp.nearest_down": F.interpolate(big, size=(8, 6)),
              "interp.nearest_odd": F.interpolate(ix, size=(5, 7)),
              "interp.nearest_up2": F.interpolate(ix, size=(26, 34)),
              "interp.nearest_up": F.interpolate(ix, size=(30, 23)),
              "interp.bilinear": F.interpolate(ix, size=(24, 30), mode="bilinear", align_corners=False),
              "interp.bilinear_ac": F.interpolate(ix, size=(24, 30), mode="bilinear", align_corners=True),
              "interp.bilinear_down": F.interpolate(ix, size=(5, 7), mode="bilinear", align_corners=False),
              "interp.bicubic": F.interpolate(ix, size=(24, 30), mode="bicubic", align_corners=False),
              "interp.bicubic_down": F.interpolate(ix, size=(6, 8), mode="bicubic", align_corners=False),
              "interp.bicubic_ac": F.interpolate(ix, size=(24, 30), mode="bicubic", align_corners=True)})
    px = r(1, 3, 9, 10)
    t.update({"pool.x": px, "pool.avg": F.avg_pool2d(px, 2, 2), "pool.avg3": F.avg_pool2d(px, 3, 2, 1),
              "pool.max": F.max_pool2d(px, 3, 2, 1)})
    save(t, os.path.join(ROOT, "core", "ops.safetensors"))


def rng_fixtures():
    """torch.Generator("cpu").manual_seed(s) draws (fixtures/core/rng.safetensors)."""
    t = {}
    for s in [0, 42, 1234, 2**40 + 5]:
        g = torch.Generator().manual_seed(s)
        t[f"s{s}.randn_latent"] = torch.randn((1, 4, 64, 64), generator=g)   # 16 384: block path
        t[f"s{s}.randn_tail"] = torch.randn((1, 3, 25, 19), generator=g)     # 1 425: tail path
        t[f"s{s}.randn_small"] = torch.randn((7,), generator=g)              # < 16: double path
        t[f"s{s}.rand"] = torch.rand((100,), generator=g)
        t[f"s{s}.randn_after"] = torch.randn((2, 4, 4), generator=g)         # state after all above
    # Raw MT19937 outputs through torch.randint's full 32-bit path are not exposed; the uniform stream
    # is: rand = (u32 & 0xFFFFFF) * 2^-24, so its 24 low bits are checked via `rand`.
    save(t, os.path.join(ROOT, "core", "rng.safetensors"))


def png_with_bad_ihdr(width, height):
    """A PNG whose IHDR claims an absurd size (valid CRC), followed by nothing useful."""
    sig = b"\x89PNG\r\n\x1a\n"
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    idat = zlib.compress(b"\x00" * 16)
    chunk2 = struct.pack(">I", len(idat)) + b"IDAT" + idat + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
    end = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    return sig + chunk + chunk2 + end


def image_fixtures():
    """Image files of every supported kind, the pixels Pillow decodes from them, and Pillow resizes."""
    d = os.path.join(ROOT, "images")
    os.makedirs(d, exist_ok=True)
    rs = np.random.RandomState(7)
    w, h = 23, 17
    rgb = rs.randint(0, 256, (h, w, 3), dtype=np.uint8)
    # Smooth content too, so JPEG decoding is compared on realistic data.
    yy, xx = np.mgrid[0:h, 0:w]
    smooth = np.stack([(xx * 11) % 256, (yy * 15) % 256, ((xx + yy) * 6) % 256], -1).astype(np.uint8)
    t = {}
    files = {
        "rgb8.png": Image.fromarray(rgb, "RGB"),
        "rgba8.png": Image.fromarray(np.concatenate([rgb, rs.randint(0, 256, (h, w, 1), dtype=np.uint8)], -1), "RGBA"),
        "gray8.png": Image.fromarray(rgb[..., 0], "L"),
        "graya8.png": Image.fromarray(np.stack([rgb[..., 0], rgb[..., 1]], -1), "LA"),
        "palette.png": Image.fromarray(smooth, "RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=16),
    }
    for name, im in files.items():
        im.save(os.path.join(d, name))
    # 16-bit files: Pillow cannot write 16-bit RGB, so write the PNG bytes directly.
    g16 = (rs.randint(0, 65536, (h, w))).astype(np.uint16)
    rgb16 = (rs.randint(0, 65536, (h, w, 3))).astype(np.uint16)
    write_png16(os.path.join(d, "gray16.png"), g16, 0)
    write_png16(os.path.join(d, "rgb16.png"), rgb16, 2)
    t["gray16"] = torch.from_numpy(g16.astype(np.float32))
    t["rgb16"] = torch.from_numpy(rgb16.astype(np.float32))
    for name in files:
        arr = np.asarray(Image.open(os.path.join(d, name)).convert(
            {"P": "RGB"}.get(Image.open(os.path.join(d, name)).mode, Image.open(os.path.join(d, name)).mode)))
        t[name.replace(".png", "")] = torch.from_numpy(arr.astype(np.float32))
    # JPEG: baseline, progressive, grayscale.
    sm = Image.fromarray(smooth, "RGB")
    sm.save(os.path.join(d, "baseline.jpg"), quality=90)
    sm.save(os.path.join(d, "progressive.jpg"), quality=90, progressive=True)
    sm.convert("L").save(os.path.join(d, "gray.jpg"), quality=90)
    for name in ["baseline.jpg", "progressive.jpg", "gray.jpg"]:
        t[name.replace(".jpg", "_jpg")] = torch.from_numpy(np.asarray(Image.open(os.path.join(d, name))).astype(np.float32))
    # Bad files.
    good_png = open(os.path.join(d, "rgb8.png"), "rb").read()
    good_jpg = open(os.path.join(d, "baseline.jpg"), "rb").read()
    open(os.path.join(d, "truncated.png"), "wb").write(good_png[: len(good_png) // 2])
    # A JPEG cut inside its entropy-coded scan (a tiny JPEG is mostly header, so use a larger one).
    big = io.BytesIO()
    Image.fromarray(rs.randint(0, 256, (120, 160, 3), dtype=np.uint8), "RGB").save(big, "JPEG", quality=90)
    open(os.path.join(d, "truncated.jpg"), "wb").write(big.getvalue()[: int(len(big.getvalue()) * 0.6)])
    open(os.path.join(d, "header_only.jpg"), "wb").write(good_jpg[:40])
    open(os.path.join(d, "huge.png"), "wb").write(png_with_bad_ihdr(1_000_000, 1_000_000))
    open(os.path.join(d, "not_an_image.png"), "wb").write(b"GIF89a this is not a png or a jpeg")
    open(os.path.join(d, "empty.png"), "wb").write(b"")
    # Pillow resizes (LANCZOS, BICUBIC, BILINEAR; down, up, one axis) and RGB -> L.
    src = Image.fromarray(rgb, "RGB")
    for filt, fname in [(Image.Resampling.LANCZOS, "lanczos"), (Image.Resampling.BICUBIC, "bicubic"),
                        (Image.Resampling.BILINEAR, "bilinear")]:
        for size in [(11, 8), (40, 31), (23, 9), (64, 48)]:
            t[f"resize.{fname}.{size[0]}x{size[1]}"] = torch.from_numpy(
                np.asarray(src.resize(size, filt)).astype(np.float32))
    t["resize.lanczos_gray.13x30"] = torch.from_numpy(
        np.asarray(src.convert("L").resize((13, 30), Image.Resampling.LANCZOS)).astype(np.float32))
    t["luma"] = torch.from_numpy(np.asarray(src.convert("L")).astype(np.float32))
    t["source_rgb"] = torch.from_numpy(rgb.astype(np.float32))
    # VaeImageProcessor-style conversions in float32.
    arr = torch.from_numpy(rgb.astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    t["to_tensor"] = 2.0 * arr - 1.0
    ramp = torch.linspace(-1.2, 1.2, 3 * 5 * 7).reshape(1, 3, 5, 7)
    t["post.x"] = ramp
    post = (ramp / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).numpy()
    t["post.y"] = torch.from_numpy((post * 255).round().astype(np.uint8).astype(np.float32))
    save(t, os.path.join(ROOT, "images", "expected.safetensors"))


def hostile_image_fixtures():
    """Decompression bombs and lying headers (fixtures/hostile/): each must be refused from its
    header, before any pixel buffer is allocated."""
    d = os.path.join(ROOT, "hostile")
    os.makedirs(d, exist_ok=True)

    def png(width, height, depth, color, raw):
        sig = b"\x89PNG\r\n\x1a\n"
        chunk = lambda tag, data: (struct.pack(">I", len(data)) + tag + data
                                   + struct.pack(">I", zlib.crc32(tag + data)))
        ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
        return sig + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")

    # A valid 1-bit 16384² PNG (~32 KB): 268 M pixels once decoded, far above the pixel limit.
    open(os.path.join(d, "bomb.png"), "wb").write(png(16384, 16384, 1, 0, b"\x00" * (16384 * 2049)))
    # 9000² (under the limit) claimed by a file whose 16 bytes of deflate data cannot hold it.
    open(os.path.join(d, "lying.png"), "wb").write(png(9000, 9000, 8, 0, b"\x00" * 16))
    # A small baseline JPEG whose SOF0 header is patched to claim 8000² (under the limit, far more
    # than 800 bytes can encode) and 32768×8192 (above it).
    buf = io.BytesIO()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8), "RGB").save(buf, "JPEG", quality=90)
    jpg = bytearray(buf.getvalue())
    sof = jpg.index(b"\xff\xc0")
    for name, (w, h) in {"lying.jpg": (8000, 8000), "lying_huge.jpg": (32768, 8192)}.items():
        patched = bytearray(jpg)
        patched[sof + 5:sof + 9] = struct.pack(">HH", h, w)
        open(os.path.join(d, name), "wb").write(bytes(patched))
    for f in sorted(os.listdir(d)):
        print(f"wrote hostile/{f} ({os.path.getsize(os.path.join(d, f))} bytes)")


def crop_region_fixtures():
    """diffusers' VaeImageProcessor.get_crop_region (the padding_mask_crop box) on masks that touch
    the edges, are tiny, cover everything, come in several pieces, at several working aspects and
    paddings: fixtures/inpaint/crop_regions.json, one case per line of the test."""
    import json
    import random
    from diffusers.image_processor import VaeImageProcessor
    rng = random.Random(97)
    cases = []
    def add(w, h, rects, work_w, work_h, pad):
        m = np.zeros((h, w), np.uint8)
        for (x0, y0, x1, y1) in rects:
            m[y0:y1, x0:x1] = 255
        box = VaeImageProcessor.get_crop_region(Image.fromarray(m, "L"), work_w, work_h, pad=pad)
        cases.append({"width": w, "height": h, "rects": rects, "work": [work_w, work_h], "pad": pad,
                      "box": [int(v) for v in box]})
    for (w, h) in [(1600, 1200), (640, 480), (300, 900), (1024, 1024)]:
        for (ww, wh) in [(512, 512), (768, 512), (512, 768)]:
            for pad in [0, 32, 200]:
                x0, y0 = rng.randrange(w - 20), rng.randrange(h - 20)
                add(w, h, [(x0, y0, x0 + rng.randrange(1, 20), y0 + rng.randrange(1, 20))], ww, wh, pad)   # small
                add(w, h, [(0, 0, 5, 5)], ww, wh, pad)                                                   # top-left corner
                add(w, h, [(w - 7, h - 3, w, h)], ww, wh, pad)                                           # bottom-right corner
                add(w, h, [(0, h // 3, w, h // 3 + 10)], ww, wh, pad)                                    # full-width band
                add(w, h, [(w // 2, 0, w // 2 + 3, h)], ww, wh, pad)                                     # full-height band
                add(w, h, [(0, 0, w, h)], ww, wh, pad)                                                   # everything
                add(w, h, [(3, 3, 4, 4)], ww, wh, pad)                                                   # one pixel
                add(w, h, [(10, 10, 30, 30), (w - 40, h - 60, w - 20, h - 30)], ww, wh, pad)            # two regions
    path = os.path.join(ROOT, "inpaint", "crop_regions.json")
    with open(path, "w") as fh:
        json.dump(cases, fh, separators=(",", ":"))
    print(f"wrote inpaint/crop_regions.json ({len(cases)} cases)")


def mask_resize_fixtures():
    """Masks resized as diffusers' mask processor resizes them (VaeImageProcessor with do_binarize and
    do_convert_grayscale: Pillow LANCZOS on the L image, / 255, ≥ 0.5 → 1), up and down, with
    several regions: fixtures/inpaint/mask_resize.json (0/255 input planes and 0/1 outputs)."""
    import json
    from diffusers.image_processor import VaeImageProcessor
    proc = VaeImageProcessor(vae_scale_factor=1, do_normalize=False, do_binarize=True, do_convert_grayscale=True)
    cases = []
    for (w, h, rects, ow, oh) in [(6, 4, [(3, 0, 6, 4)], 9, 5), (7, 7, [(2, 2, 5, 5)], 3, 3),
                                  (10, 8, [(1, 1, 4, 3), (7, 5, 9, 8)], 4, 3), (5, 5, [(2, 2, 3, 3)], 13, 11),
                                  (31, 17, [(0, 0, 9, 17), (20, 4, 31, 12)], 64, 40), (40, 30, [(5, 7, 33, 21)], 16, 12)]:
        m = np.zeros((h, w), np.uint8)
        for (x0, y0, x1, y1) in rects:
            m[y0:y1, x0:x1] = 255
        out = proc.preprocess(Image.fromarray(m, "L"), height=oh, width=ow)
        cases.append({"width": w, "height": h, "mask": (m // 255).flatten().tolist(), "out_width": ow, "out_height": oh,
                      "out": [int(v) for v in out.flatten().tolist()]})
    path = os.path.join(ROOT, "inpaint", "mask_resize.json")
    with open(path, "w") as fh:
        json.dump(cases, fh, separators=(",", ":"))
    print(f"wrote inpaint/mask_resize.json ({len(cases)} cases)")


def bpe_fixtures():
    """Byte-level BPE edge cases (fixtures/inpaint/bpe_cases.json): random words over small alphabets,
    where merges compete and overlap, and long repetitive words, tokenised by transformers'
    CLIPTokenizer from the demo model's tokenizer files (the real CLIP vocabulary and merges)."""
    import json
    import random
    from transformers import CLIPTokenizer
    tok = CLIPTokenizer.from_pretrained(os.path.join(ROOT, "models", "tiny-sd2-inpainting", "tokenizer"))
    rnd = random.Random(5)
    alpha = "abcdefghijklmnopqrstuvwxyz"
    prompts = ["".join(rnd.choice(alpha[:rnd.randint(2, 26)]) for _ in range(rnd.randint(1, 40))) for _ in range(300)]
    prompts += ["a" * 44, "ab" * 10, "mississippi" * 7, "lollollollol", "x" * 3000]
    cases = [{"prompt": p, "ids": tok(p, padding="max_length", max_length=77, truncation=True)["input_ids"]} for p in prompts]
    path = os.path.join(ROOT, "inpaint", "bpe_cases.json")
    json.dump(cases, open(path, "w"))
    print(f"wrote inpaint/bpe_cases.json ({len(cases)} prompts)")


def write_png16(path, arr, color_type):
    h, w = arr.shape[:2]
    raw = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(h))
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    open(path, "wb").write(png)


def dtype_fixtures():
    """F16 / BF16 / I64 safetensors and their float32 values, written by safetensors itself."""
    g = torch.Generator().manual_seed(5)
    x = torch.randn(4, 33, generator=g) * 100
    x[0, :4] = torch.tensor([6.0e-8, -0.0, 65504.0, 1e-5])  # half subnormal, signed zero, max, small
    d = os.path.join(ROOT, "core")
    save_file({"h": x.half(), "b": x.bfloat16(), "i": torch.arange(-5, 72, dtype=torch.int64).reshape(7, 11),
               "f": x}, os.path.join(d, "dtypes.safetensors"), metadata={"format": "pt"})
    save({"h": x.half().float(), "b": x.bfloat16().float(), "i": torch.arange(-5, 72).reshape(7, 11).float(),
          "f": x}, os.path.join(d, "dtypes_expected.safetensors"))


def inpaint_fixtures():
    """Tiny SD2-inpainting model (also the demo model), component, scheduler and pipeline goldens."""
    import json as _json
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fixtures_inpaint as fi
    folder = os.path.join(ROOT, "models", "tiny-sd2-inpainting")
    out = os.path.join(ROOT, "inpaint")
    os.makedirs(out, exist_ok=True)
    fi.build_model(folder)
    fi.component_goldens(folder, os.path.join(out, "components.safetensors"))
    fi.scheduler_goldens(os.path.join(out, "schedulers.safetensors"))
    one = fi.pipeline_goldens(folder, out, threads=1)
    two = fi.pipeline_goldens(folder, out, threads=2)
    # The reference's own run-to-run noise (1 vs 2 torch threads): the floor for pipeline tolerances.
    noise = {}
    for k in one:
        d = (one[k] - two[k]).abs()
        noise[k] = {"max": float(d.max()), "mean": float(d.mean())}
    _json.dump(noise, open(os.path.join(out, "reference_noise.json"), "w"), indent=1, sort_keys=True)
    save(one, os.path.join(out, "pipeline.safetensors"))


def pipeline_fixture_set(module_name, model, out_name):
    """The case runner of every pipeline fixture module (fixtures_<job>.py: build_model, goldens):
    build the tiny model beside the inpainting one (whose text parts it links), write the goldens at 1
    torch thread, and their difference from a 2-thread run as the reference's own noise."""
    import importlib
    import json as _json
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    module = importlib.import_module(module_name)
    folder = os.path.join(ROOT, "models", model)
    out = os.path.join(ROOT, out_name)
    os.makedirs(out, exist_ok=True)
    module.build_model(folder, os.path.join(ROOT, "models", "tiny-sd2-inpainting"))
    one = module.goldens(folder, out, threads=1)
    two = module.goldens(folder, out, threads=2)
    noise = {k: {"max": float((one[k] - two[k]).abs().max()), "mean": float((one[k] - two[k]).abs().mean())} for k in one}
    _json.dump(noise, open(os.path.join(out, "reference_noise.json"), "w"), indent=1, sort_keys=True)
    save(one, os.path.join(out, "goldens.safetensors"))


def upscale_fixtures():
    """Tiny x4-upscaler model and StableDiffusionUpscalePipeline goldens (needs the inpaint model's text parts)."""
    pipeline_fixture_set("fixtures_upscale", "tiny-sd2-x4-upscaler", "upscale")


def crop_pipeline_fixtures():
    """diffusers' inpaint with padding_mask_crop on images larger than the working size (the parity of
    sdedit inpaint --area masked): fixtures/inpaint/crop_pipeline.safetensors."""
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fixtures_inpaint as fi
    out = os.path.join(ROOT, "inpaint")
    save(fi.crop_pipeline_goldens(os.path.join(ROOT, "models", "tiny-sd2-inpainting"), out),
         os.path.join(out, "crop_pipeline.safetensors"))


def img2img_fixtures():
    """Tiny SD 2.1-style base model and StableDiffusionImg2ImgPipeline goldens."""
    pipeline_fixture_set("fixtures_img2img", "tiny-sd21-base", "img2img")


def single_fixtures():
    """Tiny SD 1.x model with StableDiffusionImg2ImgPipeline goldens, and every tiny model as an LDM
    single file (fixtures/models/single/), checked through diffusers' own converters."""
    pipeline_fixture_set("fixtures_singlefile", "tiny-sd1", "sd1")


def depth_fixtures():
    """Tiny stable-diffusion-2-depth (DPT-hybrid + 5-channel UNet) and StableDiffusionDepth2ImgPipeline
    goldens (needs the inpaint model's text parts and VAE)."""
    pipeline_fixture_set("fixtures_depth", "tiny-sd2-depth", "depth")


def midas_fixtures():
    """The depth single file's MiDaS (depth_model.model.*, checked through transformers' and timm's
    names) and the real-size key table (fixtures/depth/midas_keys.json); needs the depth model."""
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fixtures_midas
    fixtures_midas.make(os.path.join(ROOT, "models"), ROOT)


def deepcache_fixtures():
    """The pipelines with the DeepCache package's helper enabled, on the other sets' tiny models
    (fixtures/deepcache/; run after inpaint, img2img, upscale and depth)."""
    import json as _json
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fixtures_deepcache as fdc
    out = os.path.join(ROOT, "deepcache")
    os.makedirs(out, exist_ok=True)
    one = fdc.goldens(ROOT, out, threads=1)
    two = fdc.goldens(ROOT, out, threads=2)
    noise = {k: {"max": float((one[k] - two[k]).abs().max()), "mean": float((one[k] - two[k]).abs().mean())} for k in one}
    _json.dump(noise, open(os.path.join(out, "reference_noise.json"), "w"), indent=1, sort_keys=True)
    save(one, os.path.join(out, "goldens.safetensors"))


def fewstep_fixtures():
    """Tiny TAESD (AutoencoderTiny), tiny SD-Turbo-like model, LCMScheduler sequences, and img2img /
    4-channel inpaint goldens with them (needs the img2img and inpaint models)."""
    pipeline_fixture_set("fixtures_fewstep", "tiny-sd-turbo", "fewstep")


def txt2img_fixtures():
    """StableDiffusionPipeline goldens on tiny SD 1.x / SD 2.1-style / SD-Turbo-style models and the
    inpainting model run as A1111's txt2img (builds fixtures/models/tiny-sd-turbo-v from tiny-sd21-base)."""
    pipeline_fixture_set("fixtures_txt2img", "tiny-sd-turbo-v", "txt2img")


def fill_fixtures():
    """Masked content (inpaint --fill): A1111's fill() images and its latent edits around diffusers'
    inpaint pipeline on the inpainting and SD 2.1-style models (fixtures/fill/)."""
    pipeline_fixture_set("fixtures_fill", "tiny-sd2-inpainting", "fill")


def attention_size_fixtures():
    """Attention at the head sizes the real models use (fixtures/core/attention_sizes.safetensors):
    d 64 with more keys than one 128-key block and a ragged last block, cross-attention (77 text
    tokens, 2 heads), SD 1.x's d 40 causal (CLIP), and the VAE's single 512-wide head."""
    g = torch.Generator().manual_seed(4321)
    r = lambda *s: torch.randn(*s, generator=g)
    t = {}
    cases = {"self64": (1, 1, 150, 150, 64, False), "cross64": (1, 2, 70, 77, 64, False),
             "causal40": (1, 1, 70, 70, 40, True), "vae512": (1, 1, 16, 16, 512, False)}
    for name, (B, H, Tq, Tk, D, causal) in cases.items():
        q, k, v = r(B, Tq, H * D), r(B, Tk, H * D), r(B, Tk, H * D)
        split = lambda z: z.view(B, -1, H, D).transpose(1, 2)
        y = F.scaled_dot_product_attention(split(q), split(k), split(v), is_causal=causal)
        t.update({f"{name}.q": q, f"{name}.k": k, f"{name}.v": v,
                  f"{name}.y": y.transpose(1, 2).reshape(B, Tq, H * D)})
    save(t, os.path.join(ROOT, "core", "attention_sizes.safetensors"))


def bf16_fixtures():
    """bf16 rounding and the bf16 GEMM contract (fixtures/core/bf16.safetensors): torch's
    .to(torch.bfloat16) on values across the float range, and linear/conv2d on bf16-rounded inputs and
    weights with fp32 accumulation and output (what sdedit's --precision bf16 computes)."""
    g = torch.Generator().manual_seed(2468)
    r = lambda *s: torch.randn(*s, generator=g)
    bf = lambda z: z.to(torch.bfloat16).float()
    t = {}
    x = torch.cat([r(4096) * torch.logspace(-30, 30, 4096), torch.tensor([1 + 2**-8, 1 + 3 * 2**-8, -(1 + 2**-8),
                   3.4e38, -3.4e38, 1e-40, -1e-40, 0.0, -0.0])])
    t.update({"round.x": x, "round.y": bf(x)})
    lx, lw, lb = r(3, 9, 70), r(40, 70), r(40)
    t.update({"linear.x": lx, "linear.w": lw, "linear.b": lb, "linear.y": F.linear(bf(lx), bf(lw), lb)})
    convs = {"c3": ((2, 8, 9, 9), (16, 8, 3, 3), 1, 1), "pw": ((1, 16, 6, 6), (8, 16, 1, 1), 1, 0),
             "big": ((1, 4, 40, 40), (6, 4, 3, 3), 1, 1), "down": ((1, 6, 10, 10), (6, 6, 3, 3), 2, 1)}
    for name, (xs, ws, stride, pad) in convs.items():
        cx, cw, cb = r(*xs), r(*ws), r(ws[0])
        t.update({f"conv.{name}.x": cx, f"conv.{name}.w": cw, f"conv.{name}.b": cb,
                  f"conv.{name}.y": F.conv2d(bf(cx), bf(cw), cb, stride=stride, padding=pad)})
    # Attention in bf16: y is fp32 SDPA on bf16-rounded q, k, v (sdedit also rounds the softmax
    # numerators, which no torch op isolates, hence a tolerance); torch_bf16 is torch's own bf16 SDPA,
    # whose distance from y the test prints beside sdedit's. Shapes hit the kernels' padding: head
    # sizes 40 and 72 (not multiples of 32), key counts 77, 140 and 160 (not multiples of 128), causal.
    attn = {"self": (1, 160, 160, 2, 40, False), "vae": (1, 140, 140, 1, 72, False),
            "causal": (2, 77, 77, 4, 16, True), "cross": (1, 70, 77, 2, 64, False)}
    for name, (b, tq, tk, h, d, causal) in attn.items():
        q, k, v = r(b, tq, h * d), r(b, tk, h * d), r(b, tk, h * d) * 2
        split = lambda z, tt: z.view(b, tt, h, d).transpose(1, 2)
        join = lambda z: z.transpose(1, 2).reshape(b, tq, h * d)
        y = F.scaled_dot_product_attention(split(bf(q), tq), split(bf(k), tk), split(bf(v), tk), is_causal=causal)
        yb = F.scaled_dot_product_attention(split(q.bfloat16(), tq), split(k.bfloat16(), tk), split(v.bfloat16(), tk),
                                            is_causal=causal)
        t.update({f"attn.{name}.q": q, f"attn.{name}.k": k, f"attn.{name}.v": v, f"attn.{name}.y": join(y),
                  f"attn.{name}.torch_bf16": join(yb.float()),
                  f"attn.{name}.meta": torch.tensor([h, int(causal)], dtype=torch.float32)})
    save(t, os.path.join(ROOT, "core", "bf16.safetensors"))


def prompt_fixtures():
    """A1111 prompt syntax (fixtures/prompt/): parser, <lora:…> tag, open_clip tokenizer and embedding
    cases from scripts/fixtures_prompt.py, on the tiny SD 1.x and SD 2.1-base text encoders."""
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fixtures_prompt
    out = os.path.join(ROOT, "prompt")
    os.makedirs(out, exist_ok=True)
    save(fixtures_prompt.goldens(out), os.path.join(out, "goldens.safetensors"))




def lora_fixtures():
    """LoRA/LoCon/PEFT/LoHa/LoKr files for the tiny models, A1111-merged weights and diffusers goldens
    (scripts/fixtures_lora.py; needs the img2img and inpaint models)."""
    import json as _json
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import fixtures_lora as fl
    cases, merged = fl.build(ROOT)
    one = fl.goldens(ROOT, cases, merged, threads=1)
    two = fl.goldens(ROOT, cases, merged, threads=2)
    one.update(fl.embedding_fixtures(ROOT, threads=1))
    two.update(fl.embedding_fixtures(ROOT, threads=2))
    noise = {k: {"max": float((one[k] - two[k]).abs().max()), "mean": float((one[k] - two[k]).abs().mean())} for k in one}
    _json.dump(noise, open(os.path.join(ROOT, "lora", "reference_noise.json"), "w"), indent=1, sort_keys=True)
    save(one, os.path.join(ROOT, "lora", "goldens.safetensors"))
    fl.ldm_named_file(ROOT)
    fl.embedding_hashes(ROOT)
    fl.ldm_fuzz_seed(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz", "corpus", "lora", "ldm.safetensors"))


# Written by default (the others are subsets or extras of these).
DEFAULT_PARTS = ["core", "inpaint", "upscale", "depth", "img2img", "single", "exif", "deepcache", "fewstep", "prompt", "txt2img", "fill", "lora",
                 "lorasd1", "lorabundle"]
ALL_PARTS = ["core", "attention", "bf16", "hostile", "bpe", "crop", "cropcase", "inpaint", "upscale", "depth", "img2img",
             "single", "midas", "exif", "deepcache", "fewstep", "prompt", "txt2img", "fill", "lora", "maskresize",
             "lorasd1", "lorabundle"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("parts", nargs="*", default=DEFAULT_PARTS,
                   help="which fixture sets to write: " + ", ".join(ALL_PARTS))
    a = p.parse_args()
    torch.set_num_threads(1)
    if "core" in a.parts or "attention" in a.parts:
        attention_size_fixtures()
    if "core" in a.parts or "bf16" in a.parts:
        bf16_fixtures()
    if "core" in a.parts or "hostile" in a.parts:
        hostile_image_fixtures()
    if "core" in a.parts:
        ops_fixtures()
        rng_fixtures()
        image_fixtures()
        dtype_fixtures()
    if "inpaint" in a.parts:
        inpaint_fixtures()
    if "inpaint" in a.parts or "bpe" in a.parts:
        bpe_fixtures()
    if "inpaint" in a.parts or "crop" in a.parts:
        crop_region_fixtures()
    if "inpaint" in a.parts or "cropcase" in a.parts:
        crop_pipeline_fixtures()
    if "inpaint" in a.parts or "maskresize" in a.parts:
        mask_resize_fixtures()
    if "upscale" in a.parts:
        upscale_fixtures()
    if "depth" in a.parts:
        depth_fixtures()
    if "img2img" in a.parts:
        img2img_fixtures()
    if "single" in a.parts:
        single_fixtures()
    if "single" in a.parts or "midas" in a.parts:
        midas_fixtures()
    if "exif" in a.parts:
        import fixtures_exif
        fixtures_exif.exif_fixtures()
    if "deepcache" in a.parts:
        deepcache_fixtures()
    if "fewstep" in a.parts:
        fewstep_fixtures()
    if "prompt" in a.parts:
        prompt_fixtures()
    if "txt2img" in a.parts:
        txt2img_fixtures()
    if "fill" in a.parts:
        fill_fixtures()
    if "lora" in a.parts:
        lora_fixtures()
    if "lorasd1" in a.parts:
        # tiny-sd1-inpainting and an SD 1.x LoRA's inpaint golden (scripts/fixtures_lora_sd1.py).
        import fixtures_lora_sd1
        fixtures_lora_sd1.fixtures(ROOT)
    if "lorabundle" in a.parts:
        # Embeddings bundled in a LoRA (bundle_emb.*) and their golden (scripts/fixtures_lora_bundle.py).
        import fixtures_lora_bundle
        fixtures_lora_bundle.fixtures(ROOT)
        fixtures_lora_bundle.fuzz_seed(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz", "corpus", "lora", "bundle.safetensors"))


if __name__ == "__main__":
    main()
