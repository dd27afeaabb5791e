"""A1111 infotext fixtures (fixtures/infotext/): a Python twin of AUTOMATIC1111's
parse_generation_parameters, quote/unquote (modules/infotext_utils.py, v1.10) and the infotext line of
create_infotext (modules/processing.py), run over A1111-produced and hostile texts; and image files
carrying a "parameters" text the way A1111 reads them back (modules/images.py read_info_from_image:
Pillow's image.info["parameters"], overridden by a non-empty EXIF UserComment decoded as
piexif.helper.UserComment.load does).

    /work/venv/bin/python scripts/fixtures_infotext.py        # writes fixtures/infotext/

Only the parts that do not depend on A1111's settings are twinned: styles extraction, the defaults
A1111 adds for absent keys (Clip skip, Hires …, Schedule type …) and Version back-compat are consumer
details of the web UI.
"""
import json
import os
import random
import re
import unicodedata

from PIL import Image, PngImagePlugin

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "infotext")

# modules/infotext_utils.py (v1.10.1)
RE_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
RE_IMAGESIZE = re.compile(r"^(\d+)x(\d+)$")


def quote(text):
    if ',' not in str(text) and '\n' not in str(text) and ':' not in str(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def unquote(text):
    if len(text) == 0 or text[0] != '"' or text[-1] != '"':
        return text
    try:
        return json.loads(text)
    except Exception:
        return text


def parse(x):
    """parse_generation_parameters without the settings-dependent parts. Returns the prompt, the
    negative prompt, the key/value pairs of the last line in order (values unquoted; a pair A1111's
    loop drops on an exception, an empty value, is left out) and A1111's result dict as pairs."""
    prompt, negative_prompt, done_with_prompt = "", "", False
    *lines, lastline = x.strip().split("\n")
    if len(RE_PARAM.findall(lastline)) < 3:
        lines.append(lastline)
        lastline = ''
    for line in lines:
        line = line.strip()
        if line.startswith("Negative prompt:"):
            done_with_prompt = True
            line = line[16:].strip()
        if done_with_prompt:
            negative_prompt += ("" if negative_prompt == "" else "\n") + line
        else:
            prompt += ("" if prompt == "" else "\n") + line
    fields, res = [], {}
    for k, v in RE_PARAM.findall(lastline):
        try:
            if v[0] == '"' and v[-1] == '"':
                v = unquote(v)
            fields.append([k, v])
            m = RE_IMAGESIZE.match(v)
            if m is not None:
                res[f"{k}-1"] = m.group(1)
                res[f"{k}-2"] = m.group(2)
            else:
                res[k] = v
        except Exception:
            pass
    return prompt, negative_prompt, fields, [[k, v] for k, v in res.items()]


def formatted(prompt, negative, fields):
    """create_infotext's text from its parts: the prompt, "Negative prompt: …" when there is one, then
    the fields joined by ", ", a value quoted by quote(), a field whose value is its key written bare."""
    neg = f"\nNegative prompt: {negative}" if negative else ""
    params = ", ".join([k if k == v else f'{k}: {quote(v)}' for k, v in fields if v is not None])
    return f"{prompt}{neg}\n{params}".strip()


TEXTS = [
    # The docstring example of parse_generation_parameters.
    "girl with an artist's beret, determined, blue eyes, desert scene, computer monitors, heavy makeup, by Alphonse Mucha and Charlie Bowater, ((eyeshadow)), (coquettish), detailed, intricate\n"
    "Negative prompt: ugly, fat, obese, chubby, (((deformed))), [blurry], bad anatomy, disfigured, poorly drawn face, mutation, mutated, (extra_limb), (ugly), (poorly drawn hands), messy drawing\n"
    "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 965400086, Size: 512x512, Model hash: 45dee52b",
    # A1111 1.9+ txt2img with the split scheduler, LoRA and TI hashes (quoted values with ", " and ": ").
    "masterpiece, best quality, (red brick:1.3) wall, <lora:add_detail:0.8>\n"
    "Negative prompt: easynegative, lowres, (worst quality:1.4)\n"
    "Steps: 30, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234567890, Size: 512x768, "
    "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, "
    "Lora hashes: \"add_detail: 7c6bad76eb54\", TI hashes: \"easynegative: c74b4e810b03, badhand: 1e9d6b6e3c10\", "
    "Version: v1.10.1",
    # Pre-1.9 combined sampler name, hires fix, clip skip, ENSD.
    "a castle on a hill, sunset\nNegative prompt: blurry\n"
    "Steps: 25, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 42, Size: 768x512, Model hash: 9aba26abdf, "
    "Model: deliberate_v2, Denoising strength: 0.55, Clip skip: 2, ENSD: 31337, Hires upscale: 2, "
    "Hires steps: 10, Hires upscaler: R-ESRGAN 4x+, Version: v1.6.0",
    # SD-Turbo-style: one step, no CFG, no negative prompt.
    "a photo of a cat wearing a tiny hat\n"
    "Steps: 1, Sampler: Euler a, CFG scale: 1, Seed: 7, Size: 512x512, Model hash: 9d6d3ffc7d, Model: sd_turbo, Version: v1.10.1",
    # img2img inpainting.
    "a red brick wall\nNegative prompt: text, watermark\n"
    "Steps: 20, Sampler: Euler, Schedule type: Automatic, CFG scale: 7.5, Seed: 3, Size: 512x512, "
    "Model hash: 3e16efc8, Model: sd-v1-5-inpainting, Denoising strength: 0.75, Mask blur: 4, "
    "Masked content: latent noise, Inpaint area: Only masked, Masked area padding: 32, Version: v1.10.1",
    # Multi-line prompt with BREAK and a multi-line negative prompt.
    "first line of the prompt,\nsecond line BREAK third line\n"
    "Negative prompt: bad hands,\n  worse hands  \n"
    "Steps: 20, Sampler: DDIM, CFG scale: 7, Seed: 5, Size: 640x640",
    # ADetailer / ControlNet extension fields: keys with digits, slashes and dashes; nested quoted values.
    "portrait of a woman\nNegative prompt: lowres\n"
    "Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 5, Seed: 99, Size: 512x512, "
    "ADetailer model: face_yolov8n.pt, ADetailer prompt: \"a face, smiling\", ADetailer confidence: 0.3, "
    "ADetailer dilate/erode: 4, ADetailer mask blur: 4, ADetailer version: 23.11.1, "
    "ControlNet 0: \"Module: canny, Model: control_v11p_sd15_canny [d14c016b], Weight: 1, Resize Mode: Crop and Resize\", "
    "Hires-fix 2nd pass: off, Version: v1.7.0",
    # sdedit's own output.
    "a red brick wall\nNegative prompt: blurry\n"
    "Steps: 2, Sampler: PLMS, CFG scale: 7.5, Seed: 3, Size: 64x64, Model: tiny-sd2-inpainting, Mask blur: 4, "
    "Masked content: original, Deep cache: 2",
    # Prompt only.
    "just a prompt, nothing else",
    # A last line with two pairs stays in the prompt.
    "a cat\nSteps: 20, Seed: 3",
    # A prompt whose only line has three pairs is read as parameters (A1111's rule).
    "style: anime, mood: calm, light: soft",
    # Emphasis colons in the prompt line, parameters below.
    "(masterpiece:1.2), (best quality:1.1), 1girl\nSteps: 12, CFG scale: 4, Seed: 11",
    # Quoted value with escapes, \u escapes, a quote not followed by a comma, an empty value, a duplicate key.
    "escapes\nSteps: 3, Note: \"say \\\"hi\\\", then \\u00e9\\n\", Odd: \"a\"b, Empty: , Seed: 1, Seed: 2, Size: 64x64",
    # CRLF line endings and surrounding whitespace.
    "  a prompt with CRLF\r\nNegative prompt: neg\r\nSteps: 4, Sampler: Euler a, CFG scale: 3, Seed: 8\r\n  ",
    # Negative prompt only, no prompt; "Negative prompt:" with nothing after it.
    "Negative prompt: only negative\nSteps: 5, Seed: 6, CFG scale: 2",
    "prompt\nNegative prompt:\nSteps: 5, Seed: 6, CFG scale: 2",
    # Non-ASCII keys and values, Unicode digits in a size, tabs.
    "кот в шляпе\nNegative prompt: размыто\nШаги: 20, Сэмплер: Euler a, Size: \u0665\u0661\u0662x512, Seed:\t77",
    # Hostile: unterminated quote, a lone backslash at the end, only quotes, control characters, NUL.
    "x\nSteps: 1, Bad: \"unterminated, Seed: 2, CFG scale: 3, Tail: \\",
    "\"\"\nA: \"\", B: \"\\\", C: \"\\x\", D: \"ok\"",
    "nul\u0000inside\nSteps: 1, Seed: 2, Ctl: \"a\u0001b\", CFG scale: 1",
    # Empty and whitespace-only text.
    "",
    " \n \n ",
    # Many lines, the last of them parameters after a blank line.
    "line one\n\nline three\nNegative prompt: n1\nn2\n\nSteps: 9, Sampler: LCM, CFG scale: 1.5, Seed: 123, Size: 512x512",
    # Keys that need the full class (digits first is not a key start? \w includes digits) and a key of one character.
    "p\n1st pass: 3, x: 4, ab: 5, 2nd-pass/size: 6x7, Seed: 8",
]

# Parsed values that formatted() writes back: field values needing quotes and a bare key.
FORMAT_CASES = [
    ("a cat", "blurry", [["Steps", "20"], ["Sampler", "Euler a"], ["Lora hashes", "add_detail: 7c6bad76eb54, x: 1"],
                          ["Note", "say \"hi\"\nthen"], ["Bare", "Bare"], ["Size", "512x768"]]),
    ("multi\nline prompt", "", [["Steps", "1"], ["Seed", "2"], ["Path", "C:\\models\\x"], ["Emoji", "😀, ok"]]),
]


# Fragments for seeded random texts: every character the parser's rules turn on.
FRAGMENTS = ["a", "b", "Steps", "Seed", " ", ":", ": ", ",", ", ", "\"", "\\", "\\\"", "\n", "\r\n", "-", "/", "\\u00e9",
             "\\n", "1", "512x512", "\u0665x2", "é", "\t", "Negative prompt:", "_", "\u00a0", "x", "ü", "\u3000", "\u0001"]


KEYS = ["Steps", "Seed", "CFG scale", "Size", "a b", "x-y/z", "_1", "é", "1st", "k", " Sampler", "Lora hashes"]


def random_texts(n=400, seed=19):
    """Half free text from FRAGMENTS, half prompt / negative / parameter lines whose keys and
    values are drawn from KEYS and FRAGMENTS (quoted or not)."""
    rng = random.Random(seed)

    def frag(k):
        return "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, k)))

    out = []
    for i in range(n):
        if i % 2 == 0:
            out.append(frag(40))
            continue
        pairs = []
        for _ in range(rng.randint(1, 6)):
            v = frag(4)
            if rng.random() < 0.4:
                v = '"' + v + '"'
            pairs.append(rng.choice(KEYS) + rng.choice([":", ": ", ":\t"]) + v)
        lines = [frag(8)] + (["Negative prompt:" + frag(8)] if rng.random() < 0.5 else []) + [rng.choice([", ", ","]).join(pairs)]
        out.append("\n".join(lines))
    return out


def case(text):
    prompt, negative, fields, res = parse(text)
    text2 = formatted(prompt, negative, fields)
    p2, n2, f2, _ = parse(text2)
    return {"text": text, "prompt": prompt, "negative": negative, "fields": fields, "res": res,
            "formatted": text2, "reparsed": {"prompt": p2, "negative": n2, "fields": f2}}


def cases():
    out = []
    for text in TEXTS:
        prompt, negative, fields, res = parse(text)
        text2 = formatted(prompt, negative, fields)
        p2, n2, f2, _ = parse(text2)
        out.append({"text": text, "prompt": prompt, "negative": negative, "fields": fields, "res": res,
                    "formatted": text2, "reparsed": {"prompt": p2, "negative": n2, "fields": f2}})
    fmt = []
    for prompt, negative, fields in FORMAT_CASES:
        text = formatted(prompt, negative, fields)
        p2, n2, f2, _ = parse(text)
        fmt.append({"prompt": prompt, "negative": negative, "fields": fields, "formatted": text,
                    "reparsed": {"prompt": p2, "negative": n2, "fields": f2}})
    return {"parse": out, "format": fmt, "random": [case(t) for t in random_texts()]}


def char_classes():
    """Python's \\w and \\s for str patterns as code-point ranges (the regex above depends on them)."""
    def ranges(pred):
        rs, start = [], None
        for c in range(0x110000):
            if pred(c):
                if start is None:
                    start = c
            elif start is not None:
                rs.append([start, c - 1])
                start = None
        if start is not None:
            rs.append([start, 0x10FFFF])
        return rs
    word = re.compile(r"\w")
    # Characters this Python's Unicode tables leave unassigned: a newer table elsewhere may class them.
    return {"unicode": unicodedata.unidata_version,
            "word": ranges(lambda c: word.match(chr(c)) is not None),
            "space": ranges(lambda c: chr(c).isspace()),
            "unassigned": ranges(lambda c: unicodedata.category(chr(c)) == "Cn")}


# --- image files -------------------------------------------------------------------------------

def user_comment_load(data):
    """piexif.helper.UserComment.load and A1111's fallback (modules/images.py read_info_from_image)."""
    prefixes = {b"ASCII\0\0\0": "ascii", b"UNICODE\0": "utf_16_be"}
    if len(data) < 8 or data[:8] == b"\0" * 8 or data[:8] not in prefixes:
        return data.decode("utf8", errors="ignore")
    return data[8:].decode(prefixes[data[:8]], errors="replace")


def read_info(path):
    """A1111's read_info_from_image on Pillow's parse of the file."""
    im = Image.open(path)
    im.load()
    geninfo = im.info.get("parameters")
    if geninfo is not None:
        geninfo = str(geninfo)
    exif = im.getexif().get_ifd(0x8769)
    comment = exif.get(0x9286)
    if comment is not None:
        text = user_comment_load(comment if isinstance(comment, bytes) else str(comment).encode())
        if text:
            geninfo = text
    return geninfo


def image_files():
    base = Image.new("RGB", (4, 3), (200, 30, 30))
    text = ("a red brick wall, (ivy:1.2)\nNegative prompt: blurry\n"
            "Steps: 2, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7.5, Seed: 3, Size: 4x3")
    latin = text.replace("wall", "wall café")
    wide = text.replace("wall", "стена 壁 😀")
    files = {}

    def png(name, add):
        info = PngImagePlugin.PngInfo()
        add(info)
        base.save(os.path.join(ROOT, name), pnginfo=info)
        try:
            files[name] = read_info(os.path.join(ROOT, name))
        except ValueError:
            files[name] = {"refused": True}

    png("text.png", lambda i: (i.add_text("Software", "sdedit"), i.add_text("parameters", latin)))
    png("ztxt.png", lambda i: i.add_text("parameters", latin, zip=True))
    png("itxt.png", lambda i: i.add_itxt("parameters", wide, lang="en", tkey="parameters"))
    png("itxt-zip.png", lambda i: i.add_itxt("parameters", wide, zip=True))
    png("two.png", lambda i: (i.add_text("parameters", "first\nSteps: 1, Seed: 1, CFG scale: 1"), i.add_text("parameters", latin)))
    png("none.png", lambda i: i.add_text("Comment", "not parameters"))
    # A JPEG as A1111 saves one: UserComment "UNICODE\0" + UTF-16BE.
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + wide.encode("utf-16-be")
    base.save(os.path.join(ROOT, "comment.jpg"), exif=exif, quality=90)
    files["comment.jpg"] = read_info(os.path.join(ROOT, "comment.jpg"))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = b"ASCII\0\0\0" + text.encode("ascii")
    base.save(os.path.join(ROOT, "ascii.jpg"), exif=exif, quality=90)
    files["ascii.jpg"] = read_info(os.path.join(ROOT, "ascii.jpg"))
    base.save(os.path.join(ROOT, "none.jpg"), quality=90)
    files["none.jpg"] = read_info(os.path.join(ROOT, "none.jpg"))
    # A PNG with both a parameters chunk and an eXIf UserComment: the comment wins. (Pillow writes
    # no eXIf for an Exif whose IFD0 is empty, hence the Orientation tag.)
    exif = Image.Exif()
    exif[0x0112] = 1
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + text.encode("utf-16-be")
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "from the text chunk\nSteps: 1, Seed: 1, CFG scale: 1")
    base.save(os.path.join(ROOT, "exif-wins.png"), pnginfo=info, exif=exif)
    files["exif-wins.png"] = read_info(os.path.join(ROOT, "exif-wins.png"))
    # Texts that inflate past Pillow's MAX_TEXT_CHUNK: Pillow refuses the file, sdedit the text.
    bomb = "a" * (2 << 20)
    png("bomb-ztxt.png", lambda i: i.add_text("parameters", bomb, zip=True))
    png("bomb-itxt.png", lambda i: i.add_itxt("parameters", bomb, zip=True))
    return files


def main():
    os.makedirs(ROOT, exist_ok=True)
    with open(os.path.join(ROOT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases(), f, ensure_ascii=True, indent=1)
    with open(os.path.join(ROOT, "charclasses.json"), "w", encoding="utf-8") as f:
        json.dump(char_classes(), f)
    with open(os.path.join(ROOT, "files.json"), "w", encoding="utf-8") as f:
        json.dump(image_files(), f, ensure_ascii=True, indent=1)
    print(f"wrote {ROOT}/cases.json ({len(TEXTS)} texts), charclasses.json, files.json and images")


if __name__ == "__main__":
    main()
