#!/bin/sh
# Rebuilds the example CGI handlers. Needs Debian's clang, lld, wasi-libc and
# libclang-rt-dev-wasm32 (no --sysroot: the packages install where clang looks).
# The built .wasm files are committed, so `cargo test` needs none of this.
set -eu
cd "$(dirname "$0")"
for src in *.c; do
    out="${src%.c}.wasm"
    clang --target=wasm32-wasi -O2 -Wall -Wextra -Wno-unused-parameter \
        -Wl,--strip-debug -o "$out" "$src"
    echo "built $out ($(wc -c <"$out") bytes)"
done
