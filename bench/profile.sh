#!/usr/bin/env bash
# Profiles one corpus program on Hayate and on Wasmtime with `perf record`
# (cpu-clock: this VM has no hardware counters), both naming their compiled
# functions through a perf map, and prints the hottest functions side by
# side. Run bench/run.sh (or corpus/build.sh + the release builds) first.
#
#   bench/profile.sh lua [SIZE]
set -euo pipefail
cd "$(dirname "$0")/.."
prog="$1"
stem="${prog//-/_}"
size="${2:-}"
B=bench/build
W=$B/tools/wasmtime/wasmtime_cli/wasmtime
out=$B/work/profile
mkdir -p "$out"
args=()
[ -n "$size" ] && args=("$size")

$W compile "$B/wasm/$stem.wasm" -o "$out/$stem.wasmtime.cwasm"

# Hayate compiles in-process here (-C cache=n): a precompiled artifact's code
# is mapped from its file, and perf then attributes samples to the file's
# offsets and ignores the perf map. The compilation shows up as Cranelift's
# own functions, apart from the guest's.
HAYATE_PROFILE=perfmap perf record -q -e cpu-clock -F 2000 -o "$out/$stem.hayate.data" \
    target/release/hayate run -C cache=n "$B/wasm/$stem.wasm" "${args[@]}" >/dev/null
perf record -q -e cpu-clock -F 2000 -o "$out/$stem.wasmtime.data" \
    $W run --profile perfmap --allow-precompiled "$out/$stem.wasmtime.cwasm" "${args[@]}" >/dev/null

for rt in hayate wasmtime; do
    echo "== $rt =="
    perf report -i "$out/$stem.$rt.data" --stdio --sort sym 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25
done
