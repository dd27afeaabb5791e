#!/usr/bin/env bash
# Record the git commit being built in Sources/CSystem/build_commit.h (not committed), which
# Sources/CSystem/build_info.c includes when present: `sdedit --version` prints it. Rewritten only
# when the commit changes, with build_info.c touched so the build recompiles that one file.
# No git (a tarball): "unknown". "-dirty": tracked files differ from the commit.
set -euo pipefail
cd "$(dirname "$0")/.."
commit=unknown
if command -v git >/dev/null && git rev-parse --git-dir >/dev/null 2>&1; then
    commit=$(git rev-parse --short=12 HEAD)
    git diff --quiet HEAD -- 2>/dev/null || commit="$commit-dirty"
fi
header=Sources/CSystem/build_commit.h
line="#define SDEDIT_COMMIT \"$commit\""
if [ ! -f "$header" ] || [ "$(cat "$header")" != "$line" ]; then
    echo "$line" > "$header"
    touch Sources/CSystem/build_info.c
fi
