"""A1111 prompt-syntax fixtures (fixtures/prompt/): a Python twin of AUTOMATIC1111's prompt handling,
written from its sources (stable-diffusion-webui modules/prompt_parser.py parse_prompt_attention,
modules/extra_networks.py parse_prompt, modules/sd_hijack_clip.py tokenize_line / process_tokens,
modules/sd_emphasis.py EmphasisOriginal, modules/sd_hijack_open_clip.py, and the pad_cond_uncond option
of modules/sd_samplers_cfg_denoiser.py), run on the tiny fixture text encoders with transformers:

    python scripts/fixtures_prompt.py          # or: python scripts/make_fixtures.py prompt

SD 1.x (tiny-sd1) tokenizes with transformers' CLIPTokenizer and encodes with the last layer; SD 2.x
(tiny-sd21-base) tokenizes with open_clip's SimpleTokenizer (as A1111 does) and pads with id 0 after the
first end token. The SD 2 text_encoder/ of a diffusers folder already stops at OpenCLIP's penultimate
block and ends with ln_final, which is A1111's FrozenOpenCLIPEmbedder(layer="penultimate") output.
One deliberate difference from A1111: a chunk whose multipliers are all 1 skips the mean restore (it
is the identity, or 0/0 when the output's mean is 0).
Writes cases.json (parser, tokenizer, LoRA-tag and embedding cases) and goldens.safetensors.
"""
import json
import os
import re

import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
CHUNK = 75
COMMA_BACKTRACK = 20

# --- parse_prompt_attention ---------------------------------------------------------------------
# One alternative per token kind; the order is A1111's (escapes, then openers, `:w)`, closers, text, `:`).
TOKEN = re.compile(r"""(?P<escape>\\[()\[\]\\]|\\)|(?P<open>[(\[])|:(?P<weight>[+-]?[.\d]+)\)|(?P<close>[)\]])
                       |(?P<text>[^\\()\[\]:]+)|(?P<colon>:)""", re.X)
BREAK = re.compile(r"\s*\bBREAK\b\s*", re.S)


def parse_attention(prompt):
    out, opens = [], {"(": [], "[": []}

    def scale(start, factor):
        for piece in out[start:]:
            piece[1] *= factor

    def literal(s):
        for n, part in enumerate(BREAK.split(s)):
            if n:
                out.append(["BREAK", -1])
            out.append([part, 1.0])

    for m in TOKEN.finditer(prompt):
        kind, s = m.lastgroup, m.group(0)
        if kind == "escape":
            out.append([s[1:], 1.0])
        elif kind == "open":
            opens[s].append(len(out))
        elif m.group("weight") is not None and opens["("]:
            scale(opens["("].pop(), float(m.group("weight")))
        elif kind == "close" and opens["(" if s == ")" else "["]:
            scale(opens["(" if s == ")" else "["].pop(), 1.1 if s == ")" else 1 / 1.1)
        else:
            literal(s)
    for start in opens["("]:
        scale(start, 1.1)
    for start in opens["["]:
        scale(start, 1 / 1.1)
    out = out or [["", 1.0]]
    merged = [out[0]]
    for piece in out[1:]:
        if piece[1] == merged[-1][1]:
            merged[-1][0] += piece[0]
        else:
            merged.append(piece)
    return merged


# A1111's own docstring examples (modules/prompt_parser.py), checked before anything is written.
DOCSTRING = {
    "normal text": [["normal text", 1.0]],
    "an (important) word": [["an ", 1.0], ["important", 1.1], [" word", 1.0]],
    "(unbalanced": [["unbalanced", 1.1]],
    "\\(literal\\]": [["(literal]", 1.0]],
    "(unnecessary)(parens)": [["unnecessaryparens", 1.1]],
    "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).": [
        ["a ", 1.0], ["house", 1.5730000000000004], [" ", 1.1], ["on", 1.0], [" a ", 1.1], ["hill", 0.55],
        [", sun, ", 1.1], ["sky", 1.4641000000000006], [".", 1.1]],
}


# --- extra networks (<lora:NAME:WEIGHT>) --------------------------------------------------------
EXTRA = re.compile(r"<(\w+):([^>]+)>")


def parse_extra_networks(prompt):
    loras, others = [], []

    def take(m):
        items = m.group(2).split(":")
        named = dict(i.split("=", 2) for i in items if len(i.split("=", 2)) == 2)
        positional = [i for i in items if len(i.split("=", 2)) != 2]
        if m.group(1) in ("lora", "lyco"):
            te = float(positional[1]) if len(positional) > 1 else 1.0
            te = float(named.get("te", te))
            unet = float(positional[2]) if len(positional) > 2 else te
            unet = float(named.get("unet", unet))
            loras.append([positional[0], te, unet])
        else:
            others.append(m.group(1))
        return ""

    return EXTRA.sub(take, prompt), loras, others


# --- tokenize_line ------------------------------------------------------------------------------
class Embedder:
    def __init__(self, model):
        from transformers import CLIPTextModel, CLIPTokenizer
        folder = os.path.join(ROOT, "models", model)
        self.hf = CLIPTokenizer.from_pretrained(os.path.join(folder, "tokenizer"))
        self.encoder = CLIPTextModel.from_pretrained(os.path.join(folder, "text_encoder"), variant="fp16",
                                                     torch_dtype=torch.float32).eval()
        self.open_clip = self.hf.pad_token_id != self.hf.eos_token_id
        if self.open_clip:
            import open_clip.tokenizer
            self.oc = open_clip.tokenizer.SimpleTokenizer()
            self.start, self.end, self.pad = self.oc.encoder["<start_of_text>"], self.oc.encoder["<end_of_text>"], 0
            self.comma = self.oc.encoder[",</w>"]
        else:
            self.start, self.end = self.hf.bos_token_id, self.hf.eos_token_id
            self.pad = self.end
            self.comma = self.hf.get_vocab()[",</w>"]

    def tokenize(self, text):
        if self.open_clip:
            return self.oc.encode(text)
        return self.hf(text, truncation=False, add_special_tokens=False)["input_ids"]

    def chunks(self, parsed):
        done, tokens, mults, last_comma = [], [], [], -1

        def close():
            nonlocal tokens, mults, last_comma
            fill = CHUNK - len(tokens)
            ids = [self.start] + tokens + [self.end] * fill + [self.end]
            if self.pad != self.end:
                first_end = ids.index(self.end)
                ids = ids[:first_end + 1] + [self.pad] * (len(ids) - first_end - 1)
            done.append({"tokens": ids, "multipliers": [1.0] + mults + [1.0] * fill + [1.0]})
            tokens, mults, last_comma = [], [], -1

        for text, weight in parsed:
            if text == "BREAK" and weight == -1:
                close()
                continue
            for token in self.tokenize(text):
                if token == self.comma:
                    last_comma = len(tokens)
                elif len(tokens) == CHUNK and last_comma != -1 and len(tokens) - last_comma <= COMMA_BACKTRACK:
                    moved_t, moved_m = tokens[last_comma + 1:], mults[last_comma + 1:]
                    tokens, mults = tokens[:last_comma + 1], mults[:last_comma + 1]
                    close()
                    tokens, mults = moved_t, moved_m
                if len(tokens) == CHUNK:
                    close()
                tokens.append(token)
                mults.append(weight)
        if tokens or not done:
            close()
        return done

    @torch.no_grad()
    def encode(self, chunks):
        zs = []
        for c in chunks:
            z = self.encoder(torch.tensor([c["tokens"]])).last_hidden_state
            w = torch.tensor([c["multipliers"]])   # float32, as torch.asarray makes it
            if (w != 1).any():
                before = z.mean()
                z = z * w.unsqueeze(-1).expand(z.shape)
                z = z * (before / z.mean())
            zs.append(z)
        return torch.cat(zs, dim=1)

    def conditioning(self, prompt, negative, guidance):
        """[uncond, cond] (or [cond]) as one UNet batch: positive <lora:…> tags removed, the shorter
        side padded with the empty prompt's chunk (pad_cond_uncond)."""
        prompt, _, _ = parse_extra_networks(prompt)
        cond_chunks = self.chunks(parse_attention(prompt))
        cond = self.encode(cond_chunks)
        if not guidance:
            return cond, cond_chunks, None
        uncond_chunks = self.chunks(parse_attention(negative or ""))
        uncond = self.encode(uncond_chunks)
        empty = self.encode(self.chunks(parse_attention("")))
        n = (cond.shape[1] - uncond.shape[1]) // empty.shape[1]
        if n > 0:
            uncond = torch.cat([uncond] + [empty] * n, dim=1)
        elif n < 0:
            cond = torch.cat([cond] + [empty] * -n, dim=1)
        return torch.cat([uncond, cond]), cond_chunks, uncond_chunks


LONG = ("a breathtaking fantasy landscape, towering crystal mountains, glowing rivers of light, ancient ruins "
        "covered in moss, a lone traveler in a red cloak, dramatic clouds, golden hour sunlight, volumetric fog, "
        "highly detailed and refined, intricate details, sharp focus, concept art, matte painting, trending on artstation, "
        "8k resolution, cinematic composition, vivid colors, soft shadows, epic scale, ornate golden armor, "
        "reflective water, distant castle on the horizon, flocks of birds, wildflowers in the foreground, a winding "
        "stone path, mystical atmosphere, lens flare")
EMBED_CASES = [
    # name, prompt, negative, guidance
    ("plain", "a red brick wall", None, True),
    ("emphasis", "a (red brick:1.3) wall, [blurry], ((sharp focus)), \\(literal\\)", "ugly, (lowres:1.2)", True),
    ("long", LONG, None, True),
    ("long_emphasis", "(" + LONG + ":0.9), [[[muted]]]", "watermark, (signature:1.4)", True),
    ("break", "a castle on a hill BREAK (a dragon:1.2) in the sky", "", True),
    ("long_negative", "a cat", LONG, True),
    ("nocfg", "a (watercolor:1.5) painting! & \u201cquotes\u201d &amp; more", None, False),
    ("lora", "a photo <lora:styleA:0.7> of a (cat:1.1) <lora:b>", "<lora:neg:1> blurry", True),
    ("break_inside_brackets", "(one BREAK two) BREAK BREAK three", "x", True),
]

PARSER_CASES = list(DOCSTRING) + [
    "", "BREAK", "a BREAK b", "aBREAK b", "(a BREAK b)", "a\tBREAK\nb", "[a:1.5)", "(a:1.5", "a:1.5)", "(a:+.5) (b:-1.)",
    "((a)[b]):c", "\\\\ back\\slash \\x", "(a [b (c:2)])", "((a)", "a]b)c", "(a:1.5:2)", "(:1.2)", "(a:1.2.)",
    "x(a:\u0661.\u0665)", "((masterpiece)), best quality, (red:1.3) BREAK [[[low]]]",
]

# Random prompts over the syntax's atoms (the twin agrees with A1111's own function on 200,000 such).
_rnd = __import__("random").Random(19)
_ATOMS = ["a", "b c", " ", "(", ")", "[", "]", ":", "1", ".", "5", "\\", "BREAK", " BREAK ", "-", "+", "x_", "\t", "\u00e9",
          "\u0661"]
PARSER_CASES += ["".join(_rnd.choice(_ATOMS) for _ in range(_rnd.randint(1, 16))) for _ in range(400)]

LORA_CASES = ["a <lora:x:0.5> b", "<lora:name>", "<lora:n:0.5:0.25>", "<lora:n:te=0.3:unet=2>", "<lyco:l:1.5> <hypernet:h:1>",
              "<lora:a:1><lora:b:2>", "a <lora> b <lora:> c < lora:x:1> <lora:x:1", "<lora:a<b:1>"]

TOKENIZER_CASES = ["a watercolor painting!", "Hello,   World!! &amp;amp; &lt;tag&gt; &#65;&#x42;",
                   "\u201ccurly\u201d \u2018single\u2019 \uff21\uff22\uff23 \ufb01ne", "tab\there\u3000wide",
                   "<start_of_text> <|endoftext|> it's ok", "caf\u00e9 e\u0301 na\u00efve \u00c5ngstr\u00f6m",
                   "\x1b[31mred\x1b[0m ctrl\x07char \x96dash"]


def goldens(out_dir):
    torch.set_num_threads(1)
    for text, expected in DOCSTRING.items():
        assert parse_attention(text) == expected, (text, parse_attention(text))
    def parsed(p):   # A1111 fails where float() does: such prompts are errors in sdedit too
        try:
            return parse_attention(p)
        except ValueError:
            return None

    cases = {"parser": [{"prompt": p, "parsed": parsed(p)} for p in PARSER_CASES],
             "lora": [dict(zip(["prompt", "stripped", "loras", "others"], (p,) + parse_extra_networks(p)))
                      for p in LORA_CASES],
             "embeddings": []}
    t = {}
    for model, key in [("tiny-sd1", "sd1"), ("tiny-sd21-base", "sd2")]:
        e = Embedder(model)
        if e.open_clip:
            cases["open_clip_tokens"] = [{"prompt": p, "ids": e.oc.encode(p)} for p in TOKENIZER_CASES]
        for name, prompt, negative, guidance in EMBED_CASES:
            embeds, cond, uncond = e.conditioning(prompt, negative, guidance)
            cases["embeddings"].append({"name": f"{key}.{name}", "model": model, "prompt": prompt, "negative": negative,
                                        "guidance": guidance, "cond": cond, "uncond": uncond})
            t[f"{key}.{name}"] = embeds
        # The comma wrap must have fired in the long prompt: its first chunk ends early, on a comma.
        first = e.chunks(parse_attention(LONG))[0]["tokens"]
        assert first[-2] in (e.end, e.pad) and first[first.index(e.end) - 1] == e.comma, "no comma wrap in LONG"
    # Floats as repr() text: the readers parse that correctly rounded (JSON number parsing may not be).
    exact = lambda x: repr(x) if isinstance(x, float) else [exact(v) for v in x] if isinstance(x, list) else \
        {k: exact(v) for k, v in x.items()} if isinstance(x, dict) else x
    json.dump(exact(cases), open(os.path.join(out_dir, "cases.json"), "w"), indent=0)
    t.update(pipeline_goldens())
    return t


PIPELINE_CASES = ["long_emphasis", "break", "long_negative"]


def pipeline_goldens():
    """StableDiffusionImg2ImgPipeline fed the twin's embeddings (prompt_embeds / negative_prompt_embeds,
    several 77-token chunks): the UNet's cross-attention over the longer context, end to end.
    fixtures/img2img/ddim_v.png, the checkpoint's scheduler, 6 steps, strength 0.8, guidance 7.5, seed 31."""
    from diffusers import StableDiffusionImg2ImgPipeline
    from PIL import Image
    image = Image.open(os.path.join(ROOT, "img2img", "ddim_v.png")).convert("RGB")
    t = {}
    for model, key in [("tiny-sd1", "sd1"), ("tiny-sd21-base", "sd2")]:
        e = Embedder(model)
        pipe = StableDiffusionImg2ImgPipeline.from_pretrained(os.path.join(ROOT, "models", model), variant="fp16",
                                                              torch_dtype=torch.float32, safety_checker=None,
                                                              requires_safety_checker=False)
        for name in PIPELINE_CASES:
            _, prompt, negative, _ = next(c for c in EMBED_CASES if c[0] == name)
            embeds, _, _ = e.conditioning(prompt, negative, True)
            t[f"{key}.{name}.latents"] = pipe(prompt_embeds=embeds[1:], negative_prompt_embeds=embeds[:1], image=image,
                                              num_inference_steps=6, strength=0.8, guidance_scale=7.5, output_type="latent",
                                              generator=torch.Generator().manual_seed(31)).images
    return t


if __name__ == "__main__":
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from make_fixtures import save
    out = os.path.join(ROOT, "prompt")
    os.makedirs(out, exist_ok=True)
    save(goldens(out), os.path.join(out, "goldens.safetensors"))
