#!/usr/bin/env bash
# The whole test run (`make test`, and CI through .ci/run): the full suite, then the model and
# pipeline parity tests once more on the SSE2 fallback kernels (SDEDIT_MAX_ISA=generic), so the path
# that CPUs without AVX2 take is checked end to end whatever CPU runs it (the kernel tests already
# run every ISA the CPU supports), then a short deterministic run of each fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

swift --version
# XCTest's "Executed N tests, with M failures" line of the outermost suite in a log ('All tests',
# or 'Selected tests' for a filtered run); empty if the run printed none.
totals() {
    { grep -E "Test Suite '(All|Selected) tests' (passed|failed)" -A1 "$1" || true; } \
        | { grep -oE "Executed [0-9]+ tests?, with [0-9]+ failures?" || true; } | tail -1
}
log=$(mktemp); log2=$(mktemp)
trap 'rm -f "$log" "$log2"' EXIT
set +e
swift test 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
SDEDIT_MAX_ISA=generic swift test --skip-build --filter 'SDModelsTests|SDPipelinesTests' 2>&1 | tee "$log2"
status2=${PIPESTATUS[0]}
# `sdedit serve` driven by a real A1111 client (webuiapi) on loopback: requests byte-identical to the
# commands, masks, interrupt/skip, hostile requests, 300 queued requests, schemathesis over
# /openapi.json, SIGTERM; the script starts the server and always stops it.
scripts/test_serve.sh --load 300 --schemathesis
status4=$?
# The fuzz targets (libFuzzer + AddressSanitizer): a short deterministic run of each from the
# committed seeds; any crash, hang or out-of-bounds read fails the run.
FUZZ_RUNS=30000 scripts/fuzz/run.sh
status3=$?
set -e
# XCTest's summary is followed by Swift Testing's "0 tests" line (no Swift Testing suites here);
# close with the XCTest totals of both runs so the run is read by what actually ran.
total=0; failed=0
for l in "$log" "$log2"; do
    summary=$(totals "$l")
    if [ -n "$summary" ]; then
        total=$((total + $(echo "$summary" | grep -oE "[0-9]+" | head -1)))
        failed=$((failed + $(echo "$summary" | grep -oE "[0-9]+" | tail -1)))
    fi
done
echo "serve with a real A1111 client: $([ "$status4" = 0 ] && echo "passed" || echo "FAILED")"
echo "fuzz targets: $([ "$status3" = 0 ] && echo "no finding" || echo "FINDING (see .fuzz/)")"
echo "$((total - failed)) passed, $failed failed"
if [ "$status" != 0 ]; then exit "$status"; fi
if [ "$status2" != 0 ]; then exit "$status2"; fi
if [ "$status4" != 0 ]; then exit "$status4"; fi
exit "$status3"
