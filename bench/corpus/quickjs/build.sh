#!/usr/bin/env bash
# Builds OUT/wasm/quickjs.wasm (default OUT: bench/build), a wasm32-wasi
# command around the QuickJS engine (quickjs_main.c: `print`,
# `console.log`, `-e CODE` or a script file), from the C sources in PyPI's
# `quickjs` 1.19.4 sdist (QuickJS 2021-03-27), fetched into OUT/sources.
# Needs Debian's clang, lld, wasi-libc and libclang-rt-dev-wasm32 (see
# bench/corpus/build.sh). Used by bench/startup-large.sh.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="${1:-$(cd "$HERE/../.." && pwd)/build}"
SRC="$OUT/sources/quickjs-1.19.4/upstream-quickjs"
mkdir -p "$OUT/wasm" "$OUT/sources"
if [ ! -f "$SRC/quickjs.c" ]; then
    echo "[quickjs] fetching the quickjs 1.19.4 sdist" >&2
    tmp="$(mktemp -d)"
    pip download -q --no-deps --no-binary :all: -d "$tmp" quickjs==1.19.4
    tar xzf "$tmp"/quickjs-1.19.4.tar.gz -C "$OUT/sources"
    rm -rf "$tmp"
fi
if [ ! "$OUT/wasm/quickjs.wasm" -nt "$HERE/quickjs_main.c" ] ||
    [ ! "$OUT/wasm/quickjs.wasm" -nt "$HERE/build.sh" ]; then
    echo "[quickjs] building quickjs.wasm" >&2
    # EMSCRIPTEN is QuickJS's switch for a target without threads, native
    # stack checks or computed gotos, which WASI is too. Wasm rounds to
    # nearest only and wasi-libc names no other rounding mode: QuickJS's
    # fesetround to these fails, so only the last digit of some ties in
    # number-to-string conversions can differ (nothing start-up touches).
    clang --target=wasm32-wasi -O2 -DNDEBUG -DEMSCRIPTEN -D_GNU_SOURCE \
        -DFE_DOWNWARD=0x400 -DFE_UPWARD=0x800 \
        -DCONFIG_VERSION='"2021-03-27"' -DCONFIG_BIGNUM \
        -Wl,-z,stack-size=1048576 -Wl,--strip-debug -w \
        -I"$SRC" "$HERE/quickjs_main.c" \
        "$SRC"/quickjs.c "$SRC"/libregexp.c "$SRC"/libunicode.c "$SRC"/cutils.c "$SRC"/libbf.c \
        -o "$OUT/wasm/quickjs.wasm" -lm
fi
