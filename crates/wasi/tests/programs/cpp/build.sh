#!/bin/sh
# Rebuilds exceptions.wasm: C++ with WebAssembly exception handling
# (try_table/exnref, not the legacy instructions). Debian's clang 14 cannot
# (no exnref, no libc++abi with exceptions for WASI), so this uses Zig's
# clang from PyPI's `ziglang` (0.17.1, clang 22), and builds the exception
# parts of its bundled libc++abi and libunwind, which its WASI libc++ leaves
# out, with the same flags. The built .wasm is committed, so `cargo test`
# needs none of this.
set -eu
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --no-deps --dest "$work" ziglang==0.17.1 >/dev/null
python3 -m zipfile -e "$work"/ziglang-*.whl "$work/z"
zig="$work/z/ziglang/zig"
chmod +x "$zig"
lib="$work/z/ziglang/lib"
eh="-fwasm-exceptions -mexception-handling -mllvm -wasm-use-legacy-eh=false"
abi="-D_LIBCXXABI_HAS_NO_THREADS -D_LIBCPP_BUILDING_LIBRARY -D_LIBCXXABI_BUILDING_LIBRARY \
     -I$lib/libcxxabi/include -I$lib/libcxx/src"
for f in cxa_exception cxa_personality; do
    "$zig" c++ -target wasm32-wasi -Os $eh $abi -c "$lib/libcxxabi/src/$f.cpp" -o "$work/$f.o"
done
"$zig" cc -target wasm32-wasi -Os $eh -D_LIBUNWIND_HIDE_SYMBOLS -I"$lib/libunwind/include" \
    -c "$lib/libunwind/src/Unwind-wasm.c" -o "$work/unwind.o"
# The tag every C++ exception is thrown with.
printf '  .globl __cpp_exception\n  .tagtype __cpp_exception i32\n__cpp_exception:\n' >"$work/tag.S"
"$zig" cc -target wasm32-wasi -mexception-handling -c "$work/tag.S" -o "$work/tag.o"
"$zig" c++ -target wasm32-wasi -Os -s $eh exceptions.cpp \
    "$work/cxa_exception.o" "$work/cxa_personality.o" "$work/unwind.o" "$work/tag.o" \
    -o exceptions.wasm
echo "built exceptions.wasm ($(wc -c <exceptions.wasm) bytes)"
