"""EXIF fixtures (fixtures/exif/): inputs carrying an Orientation tag and what diffusers' load_image
makes of them (PIL.ImageOps.exif_transpose), and a JPEG whose EXIF UserComment Pillow wrote, for the
reader the tests use on sdedit's own JPEG outputs. Called from make_fixtures.py ("exif").
"""
import os

import numpy as np
from PIL import Image, ImageOps

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "exif")


def exif_fixtures():
    os.makedirs(ROOT, exist_ok=True)
    rng = np.random.default_rng(22)
    # Non-square, so every orientation gives a different array; PNG so decoding is exact.
    base = Image.fromarray(rng.integers(0, 256, (3, 5, 3), dtype=np.uint8), "RGB")
    for o in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = o
        path = os.path.join(ROOT, f"orient{o}.png")
        base.save(path, exif=exif)
        upright = ImageOps.exif_transpose(Image.open(path))
        upright.save(os.path.join(ROOT, f"orient{o}-upright.png"))
        print(f"wrote exif/orient{o}.png ({upright.size[0]}x{upright.size[1]} upright)")
    # A phone-style JPEG: Orientation 6 in an APP1 segment after JFIF's APP0, little-endian TIFF.
    photo = Image.fromarray(rng.integers(0, 256, (8, 16, 3), dtype=np.uint8), "RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    path = os.path.join(ROOT, "orient6.jpg")
    photo.save(path, exif=exif, quality=95)
    ImageOps.exif_transpose(Image.open(path)).save(os.path.join(ROOT, "orient6-jpg-upright.png"))
    # A UserComment as A1111 writes it (piexif's "unicode" encoding: UNICODE\0 + UTF-16BE).
    exif = Image.Exif()
    text = "a red brick wall\nSteps: 2, Sampler: PLMS, Seed: 3 — ünïcode"
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\0" + text.encode("utf-16-be")
    photo.save(os.path.join(ROOT, "usercomment.jpg"), exif=exif, quality=95)
    with open(os.path.join(ROOT, "usercomment.txt"), "w", encoding="utf-8") as f:
        f.write(text)
    print("wrote exif/orient6.jpg, exif/usercomment.jpg")


if __name__ == "__main__":
    exif_fixtures()
