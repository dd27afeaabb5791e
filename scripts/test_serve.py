#!/usr/bin/env python3
"""`sdedit serve` driven by a real A1111 client (webuiapi, pinned in scripts/requirements.txt).

    python scripts/test_serve.py path/to/sdedit [--load N] [--schemathesis]

Starts the server on 127.0.0.1 with a free port on the tiny fixture models (fixtures/models/
tiny-sd-turbo-v and tiny-sd2-inpainting through --models-dir), then: txt2img and img2img with a mask
through webuiapi, each compared byte for byte with the PNG the CLI writes for the same job; options
(checkpoint switch); interrupt during a long job; 4xx answers for bad input; optionally a load of N
requests from threads (all answered, server RSS reported) and a schemathesis run over /openapi.json
(no 5xx). SIGTERM at the end must exit 0. The server is always stopped. Exit 0 = all passed.
"""
import argparse
import base64
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

import requests
import webuiapi
from PIL import Image, ImageDraw

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "fixtures", "models")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def start_server(binary, models_dir, extra=(), max_pixels=1048576):
    cmd = [binary, "serve", "--models-dir", models_dir, "--port", "0", "--precision", "fp32", "--threads", "1",
           "--max-pixels", str(max_pixels), *extra]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    port = None
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if m:
            port = int(m.group(1))
            break
    if port is None:
        proc.kill()
        raise SystemExit("sdedit serve did not start: " + (proc.stderr.read() or "no output"))
    # Keep draining stderr so the server never blocks on a full pipe.
    threading.Thread(target=lambda: proc.stderr.read(), daemon=True).start()
    return proc, port


def cli_png(binary, args, out):
    subprocess.run([binary, *args, "--precision", "fp32", "--threads", "1", "-q", "-o", out], check=True)
    with open(out, "rb") as f:
        return f.read()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sdedit")
    ap.add_argument("--load", type=int, default=0, help="requests in the load test (0: skip)")
    ap.add_argument("--schemathesis", action="store_true", help="fuzz /openapi.json with schemathesis")
    a = ap.parse_args()
    binary = os.path.abspath(a.sdedit)
    tmp = tempfile.mkdtemp(prefix="sdedit-serve-")
    models = os.path.join(tmp, "models")
    os.mkdir(models)
    for name in ["tiny-sd-turbo-v", "tiny-sd2-inpainting", "tiny-sd2-x4-upscaler", "tiny-sd21-base", "tiny-sd2-depth"]:
        os.symlink(os.path.join(FIXTURES, name), os.path.join(models, name))
    loras = os.path.join(ROOT, "fixtures", "lora")

    proc, port = start_server(binary, models, ["--lora-dir", loras])
    servers = [proc]
    base = f"http://127.0.0.1:{port}"
    try:
        api = webuiapi.WebUIApi(host="127.0.0.1", port=port, sampler="Euler a", steps=2)
        check(api.util_get_current_model() == "tiny-sd-turbo-v", "options: the first checkpoint is current")

        # 1. txt2img through webuiapi == `sdedit txt2img` with the same numbers.
        t0 = time.time()
        r = api.txt2img(prompt="a red cube", seed=11, cfg_scale=7.5, width=64, height=64)
        latency = time.time() - t0
        api_png = base64.b64decode(r.json["images"][0])
        cli = cli_png(binary, ["txt2img", "a red cube", "--model", os.path.join(models, "tiny-sd-turbo-v"), "--steps", "2",
                               "--seed", "11", "--guidance", "7.5", "--width", "64", "--height", "64",
                               "--scheduler", "euler-a"], os.path.join(tmp, "cli-txt2img.png"))
        check(api_png == cli, "txt2img: request PNG bytes == CLI PNG bytes")
        check(r.info.get("all_seeds") == [11] and len(r.info.get("infotexts", [])) == 1, "txt2img: info has all_seeds and infotexts")
        # Request overhead: latency minus the job's own time (info.sdedit_job_seconds), model loaded.
        overheads = []
        for i in range(10):
            t0 = time.time()
            q = api.txt2img(prompt="a red cube", seed=i, cfg_scale=7.5, width=64, height=64)
            overheads.append(time.time() - t0 - q.info["sdedit_job_seconds"])
        overheads.sort()
        print(f"     txt2img first request {latency * 1000:.0f} ms (model load included); request overhead over the job, "
              f"median of 10: {overheads[5] * 1000:.1f} ms (tiny model, 2 steps, 64x64)")

        # 2. img2img with a mask (inpainting checkpoint through override_settings) == `sdedit inpaint`.
        image = Image.new("RGB", (64, 64), (200, 100, 50))
        ImageDraw.Draw(image).ellipse((10, 10, 40, 50), fill=(20, 200, 90))
        mask = Image.new("L", (64, 64), 0)
        ImageDraw.Draw(mask).rectangle((20, 20, 44, 44), fill=255)
        image.save(os.path.join(tmp, "in.png"))
        mask.save(os.path.join(tmp, "mask.png"))
        r = api.img2img(images=[image], mask_image=mask, prompt="a dog", seed=3, cfg_scale=7, steps=2, sampler_name="DDIM",
                        denoising_strength=0.75, mask_blur=4, inpainting_fill=1, inpaint_full_res=True,
                        inpaint_full_res_padding=32, width=64, height=64,
                        override_settings={"sd_model_checkpoint": "tiny-sd2-inpainting"})
        api_png = base64.b64decode(r.json["images"][0])
        cli = cli_png(binary, ["inpaint", os.path.join(tmp, "in.png"), os.path.join(tmp, "mask.png"), "a dog", "--model",
                               os.path.join(models, "tiny-sd2-inpainting"), "--steps", "2", "--seed", "3", "--guidance", "7",
                               "--strength", "0.75", "--mask-blur", "4", "--area", "masked", "--padding", "32",
                               "--scheduler", "ddim"], os.path.join(tmp, "cli-inpaint.png"))
        check(api_png == cli, "img2img with mask: request PNG bytes == CLI inpaint PNG bytes")
        check(api.util_get_current_model() == "tiny-sd-turbo-v", "override_settings does not change the current checkpoint")

        # 2b. extra-single-image with the x4 upscaler folder == `sdedit upscale IMAGE --seed 0`.
        small = image.resize((16, 16))
        small.save(os.path.join(tmp, "small.png"))
        names = [m["title"] for m in api.get_sd_models()]
        check("tiny-sd2-x4-upscaler" not in names, "sd-models: the upscaler folder is not a checkpoint")
        check("tiny-sd2-x4-upscaler" in [u["name"] for u in api.get_upscalers()], "upscalers: the upscaler folder is listed")
        r = api.extra_single_image(image=small, upscaler_1="tiny-sd2-x4-upscaler", upscaling_resize=4)
        api_png = base64.b64decode(r.json["image"])
        cli = cli_png(binary, ["upscale", os.path.join(tmp, "small.png"), "--model", os.path.join(models, "tiny-sd2-x4-upscaler"),
                               "--seed", "0"], os.path.join(tmp, "cli-x4.png"))
        check(api_png == cli, "extra-single-image: request PNG bytes == CLI upscale PNG bytes")

        # 2a. img2img without a mask == `sdedit img2img`.
        r = api.img2img(images=[image], prompt="a dog", seed=6, cfg_scale=7.5, steps=3, sampler_name="Euler",
                        denoising_strength=0.75, override_settings={"sd_model_checkpoint": "tiny-sd21-base"})
        api_png = base64.b64decode(r.json["images"][0])
        cli = cli_png(binary, ["img2img", os.path.join(tmp, "in.png"), "a dog", "--model", os.path.join(models, "tiny-sd21-base"),
                               "--steps", "3", "--seed", "6", "--guidance", "7.5", "--strength", "0.75", "--scheduler", "euler"],
                      os.path.join(tmp, "cli-img2img.png"))
        check(api_png == cli, "img2img: request PNG bytes == CLI img2img PNG bytes")

        # 2b'. sdedit's depth2img route (img2img's fields) == `sdedit depth2img`.
        r = requests.post(base + "/sdedit/v1/depth2img", timeout=300, json={
            "init_images": [webuiapi.b64_img(image)], "prompt": "a house", "seed": 4, "steps": 2, "cfg_scale": 7.5,
            "denoising_strength": 0.8, "sampler_name": "DDIM", "override_settings": {"sd_model_checkpoint": "tiny-sd2-depth"}})
        api_png = base64.b64decode(r.json()["images"][0]) if r.status_code == 200 else b""
        cli = cli_png(binary, ["depth2img", os.path.join(tmp, "in.png"), "a house", "--model", os.path.join(models, "tiny-sd2-depth"),
                               "--steps", "2", "--seed", "4", "--guidance", "7.5", "--strength", "0.8", "--scheduler", "ddim"],
                      os.path.join(tmp, "cli-depth.png"))
        check(api_png == cli, f"depth2img: request PNG bytes == CLI PNG bytes ({r.status_code})")

        # 2c. a <lora:NAME:W> tag (a file of --lora-dir) == the command with --lora-dir.
        r = api.txt2img(prompt="a cat <lora:kohya_locon:0.7>", seed=5, steps=2, cfg_scale=7.5, width=64, height=64,
                        override_settings={"sd_model_checkpoint": "tiny-sd21-base"})
        api_png = base64.b64decode(r.json["images"][0])
        cli = cli_png(binary, ["txt2img", "a cat <lora:kohya_locon:0.7>", "--model", os.path.join(models, "tiny-sd21-base"),
                               "--lora-dir", loras, "--steps", "2", "--seed", "5", "--guidance", "7.5", "--width", "64",
                               "--height", "64", "--scheduler", "euler-a"], os.path.join(tmp, "cli-lora.png"))
        check(api_png == cli, "txt2img with a LoRA tag: request PNG bytes == CLI PNG bytes")
        check("Lora hashes" in r.info["infotexts"][0], "txt2img with a LoRA tag: infotext has Lora hashes")
        resp = requests.post(base + "/sdapi/v1/txt2img", json={"prompt": "<lora:../x:1>"}, timeout=30)
        check(resp.status_code == 422 and "detail" in resp.json(), f"LoRA name with a folder: {resp.status_code}")
        resp = requests.post(base + "/sdapi/v1/txt2img", json={"prompt": "<lora:nope:1>"}, timeout=30)
        check(resp.status_code == 404 and "detail" in resp.json(), f"unknown LoRA: {resp.status_code}")

        # 3. options: sd_model_checkpoint switches; unknown keys are kept.
        api.set_options({"sd_model_checkpoint": "tiny-sd2-inpainting", "my_option": 5})
        o = api.get_options()
        check(o.get("sd_model_checkpoint") == "tiny-sd2-inpainting" and o.get("my_option") == 5, "options: switch and echo")
        api.set_options({"sd_model_checkpoint": "tiny-sd-turbo-v"})

        # 4. interrupt a long job: it answers early with what exists.
        box = {}
        worker = threading.Thread(target=lambda: box.setdefault("r", api.txt2img(prompt="long", seed=1, n_iter=40, steps=50,
                                                                                 cfg_scale=7.5, width=64, height=64)))
        worker.start()
        seen = False
        preview = None
        for _ in range(400):
            p = api.get_progress()
            if p["state"]["job_count"] > 0 and p["progress"] > 0 and p.get("current_image"):
                seen = True
                preview = Image.open(io.BytesIO(base64.b64decode(p["current_image"])))
                skipped = requests.get(base + "/sdapi/v1/progress?skip_current_image=true", timeout=60).json()
                break
            time.sleep(0.02)
        check(seen, "progress: a running job shows job_count and progress > 0")
        check(preview is not None and preview.size == (8, 8) and preview.mode == "RGB",
              "progress: current_image is the latents' cheap RGB preview (1/8 of 64x64)")
        check(seen and skipped.get("current_image") is None, "progress: skip_current_image=true leaves it out")
        api.interrupt()
        worker.join(120)
        n = len(box["r"].images) if "r" in box else -1
        check(0 <= n < 40 and box["r"].info.get("interrupted") is True, f"interrupt: the job answered early ({n} of 40 images)")

        # 4b. skip ends only the image in progress: both images of the job are answered.
        box = {}
        worker = threading.Thread(target=lambda: box.setdefault("r", api.txt2img(prompt="skip", seed=1, n_iter=2, steps=300,
                                                                                 cfg_scale=7.5, width=64, height=64)))
        worker.start()
        for _ in range(400):
            p = api.get_progress()
            if p["state"]["sampling_step"] > 0:
                break
            time.sleep(0.02)
        api.skip()
        worker.join(300)
        check("r" in box and box["r"].info.get("all_seeds") == [1, 2], "skip: the job goes on with its next image")

        # 5. hostile requests get 4xx with a JSON detail.
        def post(path, body):
            return requests.post(base + path, data=body, headers={"content-type": "application/json"}, timeout=30)
        for what, path, body, code in [
            ("bad base64", "/sdapi/v1/img2img", json.dumps({"init_images": ["@@@"]}), 422),
            ("malformed JSON", "/sdapi/v1/txt2img", "{", 422),
            ("unknown sampler", "/sdapi/v1/txt2img", json.dumps({"sampler_name": "Nope"}), 422),
            ("unknown checkpoint", "/sdapi/v1/options", json.dumps({"sd_model_checkpoint": "../../etc"}), 404),
            ("size over --max-pixels", "/sdapi/v1/txt2img", json.dumps({"width": 4096, "height": 4096}), 422),
        ]:
            resp = post(path, body)
            check(resp.status_code == code and "detail" in resp.json(), f"{what}: {resp.status_code} with detail")

        # 6. load: requests from threads, all answered; RSS before and after.
        if a.load:
            before = rss_kib(proc.pid)
            statuses = []
            lock = threading.Lock()

            def one(i):
                if i % 10 == 0:
                    s = post("/sdapi/v1/txt2img", json.dumps({"prompt": "x", "steps": 1, "seed": i, "width": 64, "height": 64})).status_code
                else:
                    s = requests.get(base + "/sdapi/v1/progress", timeout=60).status_code
                with lock:
                    statuses.append(s)
            threads = [threading.Thread(target=one, args=(i,)) for i in range(a.load)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            after = rss_kib(proc.pid)
            check(len(statuses) == a.load and all(s == 200 for s in statuses), f"load: {a.load} requests all answered 200")
            print(f"     server RSS {before} KiB before, {after} KiB after the load")

        if a.schemathesis:
            # Every route with valid and invalid data, but the generating ones with invalid data only:
            # their valid boundary cases (1000 steps x 6400 images) would run for hours.
            # The generating routes on a second server with --max-pixels 4096: a request without a body is
            # valid (512x512, 20 steps), longer than schemathesis waits; at 4096 pixels it is a quick 422.
            small, small_port = start_server(binary, models, max_pixels=4096)
            servers.append(small)
            for what, url, args in [
                    ("non-generating routes", base, ["--exclude-path-regex", "txt2img|img2img|depth2img"]),
                    ("generating routes, invalid data", f"http://127.0.0.1:{small_port}",
                     ["--include-path-regex", "txt2img|img2img|depth2img", "--mode", "negative"])]:
                st = subprocess.run([sys.executable, "-m", "schemathesis.cli", "run", url + "/openapi.json",
                                     "--checks", "not_a_server_error", "--max-examples", "20", *args],
                                    capture_output=True, text=True, cwd=tmp)
                print(st.stdout[-3000:] if st.returncode else "\n".join(l for l in st.stdout.splitlines() if "generated" in l))
                check(st.returncode == 0, f"schemathesis ({what}): no 5xx")
            small.send_signal(signal.SIGTERM)
            small.wait(30)

        # 7. SIGTERM: graceful shutdown, exit 0.
        proc.send_signal(signal.SIGTERM)
        check(proc.wait(30) == 0, "SIGTERM: exit 0")
    finally:
        for p in servers:
            if p.poll() is None:
                p.kill()
                p.wait()
    print(f"{'FAILED: ' + str(len(failures)) if failures else 'all passed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
