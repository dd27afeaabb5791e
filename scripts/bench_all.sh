#!/usr/bin/env bash
# Every benchmark in one go, release build, each sdedit figure beside PyTorch from the same run.
# Needs the pinned venv (scripts/requirements.txt) and the real-size random models
# (venv/bin/python scripts/make_bench_models.py). Clears any OpenBLAS kernel override in the
# environment for these commands only, so sdedit chooses OpenBLAS's kernels from cpuid as it does on
# a user's machine. `sdedit info` first: no figure without the CPU it was measured on.
# --skip-2048 leaves out the tiled 512→2048 upscale memory run (about 10 minutes). The inpaint rows run
# in three rounds (sdedit's, then PyTorch's) with the median ratio: VMs drift by ±20 % within minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build_commit.sh   # so `sdedit info` names the commit measured
swift build -c release
run() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@"; }
py=${TORCH_PYTHON:-venv/bin/python}
echo "## machine"; run .build/release/sdedit info --threads 2; date -u
echo "## core";    run .build/release/sdedit bench core --threads 2 --repeat 5 --torch-python "$py"
echo "## inpaint"; run .build/release/sdedit bench inpaint --threads 2 --rounds 3 --torch-python "$py"
echo "## turbo";   run .build/release/sdedit bench turbo --threads 2 --rounds 3 --torch-python "$py"
echo "## lora";    run .build/release/sdedit bench lora --threads 2 --torch-python "$py"
echo "## upscale"; run .build/release/sdedit bench upscale --threads 2 --torch-python "$py"
echo "## depth";   run .build/release/sdedit bench depth --threads 2 --torch-python "$py"
if [ "${1:-}" = "--skip-2048" ]; then exit 0; fi
echo "## upscale 512x512 -> 2048x2048, tiled (2 steps: peak memory does not depend on the step count)"
tmp=$(mktemp -d)
"$py" -c "import numpy as np; from PIL import Image; Image.fromarray((np.random.RandomState(0).rand(512,512,3)*255).astype('uint8')).save('$tmp/in.png')"
/usr/bin/time -v env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .build/release/sdedit upscale "$tmp/in.png" "a photo" \
    --model bench-models/sd2-x4-upscaler --steps 2 --seed 0 --threads 2 -q -o "$tmp/out.png" 2>&1 \
    | grep -E "Maximum resident|Elapsed" || true
rm -rf "$tmp"
