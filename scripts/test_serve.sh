#!/usr/bin/env bash
# `sdedit serve` against a real A1111 client: builds sdedit (debug), then runs scripts/test_serve.py
# with webuiapi (the version pinned in scripts/requirements.txt). Python: $SDEDIT_SERVE_PYTHON if set
# (a venv that has webuiapi), else a venv made once in .venv-serve (gitignored) with only webuiapi.
# Without python3 or pip it prints a SKIP line and exits 0 (under CI=true it fails instead: CI must
# run it). Extra arguments go to test_serve.py (--load N, --schemathesis; with --schemathesis the
# venv also gets the pinned schemathesis).
set -euo pipefail
cd "$(dirname "$0")/.."
skip() { echo "SKIP test_serve: $1"; [ "${CI:-}" = true ] && { echo "test_serve: CI must run it" >&2; exit 1; }; exit 0; }
pinned() { grep -E "^$1==" scripts/requirements.txt | cut -d' ' -f1; }
python=${SDEDIT_SERVE_PYTHON:-}
if [ -z "$python" ]; then
    if ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1 || ! python3 -c "import venv" 2>/dev/null; then
        skip "python3 with pip and venv is not available"
    fi
    want=(webuiapi); modules=(webuiapi)
    if [[ " $* " == *" --schemathesis "* ]]; then want+=(schemathesis); modules+=(schemathesis); fi
    if [ ! -x .venv-serve/bin/python ] || ! .venv-serve/bin/python -c "import $(IFS=,; echo "${modules[*]}")" 2>/dev/null; then
        python3 -m venv .venv-serve
        .venv-serve/bin/pip install -q $(for p in "${want[@]}"; do pinned "$p"; done) \
            || skip "cannot install ${want[*]} (no package index?)"
    fi
    python=.venv-serve/bin/python
fi
swift build --product sdedit >/dev/null
exec "$python" scripts/test_serve.py "$(swift build --show-bin-path)/sdedit" "$@"
