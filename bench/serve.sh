#!/bin/sh
# Load benchmark of `hayate serve`'s request path with wrk (Debian package
# `wrk`), in one run on loopback, bounded in time:
#
#   /native-json  the bytes of handlers/json.c, made by Rust code through the
#                 same HTTP stack, worker pool and Handler seam (the limit)
#   /json         handlers/json.wasm, a C CGI handler, fresh instance per request
#   /python       CPython running handlers/python/app.py, fresh instance per
#                 request (when HAYATE_PYTHON_WASM names python.wasm)
#
# For each: requests per second and p50/p99 latency, and the cost per
# request beyond the native handler on one worker thread,
# workers / rps(handler) - workers / rps(native) (the server is CPU-bound).
#
#   bench/serve.sh                       # 10 s per endpoint, 16 connections
#   DURATION=30s CONNS=64 bench/serve.sh
set -eu
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNS=${CONNS:-16}
PORT=${PORT:-18081}
WORKERS=${WORKERS:-$(nproc)}
command -v wrk >/dev/null || { echo "bench/serve.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
cargo build --release -q -p hayate-serve --example load_bench
server_bin=${CARGO_TARGET_DIR:-target}/release/examples/load_bench
"$server_bin" "127.0.0.1:$PORT" "$WORKERS" >/dev/null 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$PORT/.well-known/hayate/health" >/dev/null && break
    sleep 0.1
done
paths="/native-json?status=200 /json?status=200"
[ -n "${HAYATE_PYTHON_WASM:-}" ] && paths="$paths /python"
echo "| endpoint | requests/s | p50 | p99 | µs per request beyond native (one worker) |"
echo "|---|--:|--:|--:|--:|"
native_rps=""
for path in $paths; do
    out=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$PORT$path")
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    errors=$(echo "$out" | grep -E 'Non-2xx|Socket errors' || true)
    [ -n "$errors" ] && echo "$path: $errors" >&2
    if [ -z "$native_rps" ]; then
        native_rps=$rps
        extra="0 (the limit)"
    else
        extra=$(python3 -c "print(f'{($WORKERS / $rps - $WORKERS / $native_rps) * 1e6:.0f}')")
    fi
    echo "| \`${path%%\?*}\` | $rps | $p50 | $p99 | $extra |"
done
