#!/usr/bin/env bash
# Fuzz sdedit's input parsers with libFuzzer + AddressSanitizer (the Swift toolchain's compiler-rt).
#   scripts/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET…]      default: 60 s each, all targets
# Targets: safetensors, png, jpeg, config, tokenizer, checkpoint, taesd, prompt, lora, infotext, pngtext, checkrecord, vocab, merges (scripts/fuzz/targets/FuzzTargets.swift).
# Each starts from the committed seeds in scripts/fuzz/corpus/TARGET and grows a working corpus in
# .fuzz/corpus/TARGET (kept between runs, not committed); a crash, hang (-timeout) or out-of-bounds
# read stops the run with exit 1 and leaves the input in .fuzz/artifacts/. A long run:
#   scripts/fuzz/run.sh 3600
# FUZZ_RUNS=N makes each run deterministic instead (N inputs, -seed=1), as CI does.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors png jpeg config tokenizer checkpoint taesd prompt lora infotext pngtext checkrecord vocab merges)
# A scratch path of its own: the instrumented build must not mix with the normal .build. lld: gold
# fails on the ASan-instrumented objects ("internal error in format_file_lineno").
swift build -c release --scratch-path .build-fuzz --product sdedit-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld \
    -Xcc -fsanitize=fuzzer-no-link,address >/dev/null
bin=.build-fuzz/release/sdedit-fuzz
mkdir -p .fuzz/artifacts
status=0
for t in "${targets[@]}"; do
    mkdir -p ".fuzz/corpus/$t"
    if [ -n "${FUZZ_RUNS:-}" ]; then echo "== $t: $FUZZ_RUNS runs"; else echo "== $t: ${seconds}s"; fi
    # -rss_limit_mb: a decompression bomb that gets past the limits shows as a finding, not an OOM kill.
    limit=(-max_total_time="$seconds")
    [ -z "${FUZZ_RUNS:-}" ] || limit=(-runs="$FUZZ_RUNS" -seed=1)
    if ! ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:quarantine_size_mb=64 "$bin" "$t" "${limit[@]}" -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix=".fuzz/artifacts/$t-" \
        ".fuzz/corpus/$t" "scripts/fuzz/corpus/$t" 2>".fuzz/$t.log"; then
        echo "   FINDING: see .fuzz/$t.log and .fuzz/artifacts/"; status=1
    fi
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb|Done [0-9]+ runs" ".fuzz/$t.log" | sed 's/^/   /' || true
    echo "   corpus: $(ls ".fuzz/corpus/$t" | wc -l) inputs"
done
exit $status
