#!/usr/bin/env bash
# Instructions executed (callgrind, whole run) by corpus programs compiled
# by the LLVM tier of two Hayate CLIs, side by side: how a change to the
# tier moves each program, free of the machine's noise.
#
#   bench/callgrind-pair.sh BEFORE/hayate AFTER/hayate [program:arg ...]
#
# Each CLI compiles each program (`hayate compile -C compiler=llvm`) and
# runs it under `valgrind --tool=callgrind`. The corpus comes from
# bench/corpus/build.sh; the default arguments keep each run under a
# minute.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '2,11p' "$0"; exit 2; }
before="$1" after="$2"
shift 2
programs=("$@")
[ ${#programs[@]} -gt 0 ] || programs=(bzip2:2 zlib:3 zstd:2 sqlite:10 base64:4 lua:3)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$1" run -C compiler=llvm --allow-precompiled "$2" "$3" 2>&1 >/dev/null |
        awk '/Collected/ { print $4 }'
}
printf '%-10s %15s %15s %8s\n' program before after change
for pa in "${programs[@]}"; do
    p="${pa%%:*}" arg="${pa##*:}"
    wasm="bench/build/wasm/$p.wasm"
    "$before" compile -C compiler=llvm "$wasm" -o "$work/$p-before.cwasm"
    "$after" compile -C compiler=llvm "$wasm" -o "$work/$p-after.cwasm"
    b="$(count "$before" "$work/$p-before.cwasm" "$arg")"
    a="$(count "$after" "$work/$p-after.cwasm" "$arg")"
    printf '%-10s %15s %15s %+7.2f%%\n' "$p" "$b" "$a" "$(echo "($a - $b) * 100 / $b" | bc -l)"
done
