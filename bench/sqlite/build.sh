#!/bin/sh
# Rebuilds udf.wasm (committed) from udf.c with Debian's clang and lld
# (apt-get install -y clang lld): a bare module exporting `f`, no libc.
set -eu
cd "$(dirname "$0")"
clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry -o udf.wasm udf.c
