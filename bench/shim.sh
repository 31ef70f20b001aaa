#!/bin/sh
# Start-up of a container through containerd-shim-hayate-v1, next to a runc
# container of the same C program built natively and statically, and to a
# plain `hayate run` (containerd-shim-wasmtime-v1 is not on crates.io, so it
# cannot be built here). Runs crates/shim/tests/e2e.sh with its benchmark on:
# a private containerd (Debian's; needs root), release builds, N runs each,
# medians of the wall time of the whole `ctr run --rm`.
#
#   sudo bench/shim.sh          # 20 runs each
#   sudo RUNS=50 bench/shim.sh
set -eu
cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}
cargo build --release -q -p containerd-shim-hayate -p hayate-cli
target=${CARGO_TARGET_DIR:-target}
HAYATE_E2E_BENCH="$RUNS" HAYATE_E2E_HAYATE="$target/release/hayate" \
    bash crates/shim/tests/e2e.sh "$target/release/containerd-shim-hayate-v1" 2>/dev/null |
    grep '^|'
