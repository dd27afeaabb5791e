#!/usr/bin/env bash
# Install the system packages sdedit builds and runs with, only those that are missing, and say which.
# Debian/Ubuntu (apt-get, with sudo when not root); elsewhere, name what to install and stop.
#   libpng-dev libjpeg-dev pkg-config: image codecs, found through pkg-config at build time
#   libopenblas-dev: the BLAS every GEMM runs on (loaded at run time: libopenblas.so.0)
#   libdnnl-dev: oneDNN, bf16 GEMMs, Intel AVX-512 fp32 GEMMs and narrow fp32 tiles (loaded at run time: libdnnl.so.2)
set -euo pipefail
packages=(libopenblas-dev libpng-dev libjpeg-dev libdnnl-dev pkg-config)

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
    echo "sdedit: not a Debian/Ubuntu system: install the equivalents of ${packages[*]} with your package manager" >&2
    exit 69
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "sdedit: system packages present (${packages[*]})"
    exit 0
fi
sudo=()
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "sdedit: missing ${missing[*]}; run as root or install sudo" >&2; exit 69; }
    sudo=(sudo)
fi
echo "sdedit: installing ${missing[*]} (apt-get${sudo:+ with sudo})"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
