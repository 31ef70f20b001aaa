#!/bin/sh
# Load benchmark of `hayate serve` with wrk (Debian package `wrk`): the same
# server answers the health endpoint (HTTP stack only, no instance) and CGI
# handlers (a fresh instance per request), in one run, so the ratio of the
# two is the price of a fresh instance. Loopback only; bounded in time.
#
#   bench/serve.sh                  # 10 s per endpoint, 16 connections
#   DURATION=30s CONNS=64 bench/serve.sh
set -eu
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNS=${CONNS:-16}
PORT=${PORT:-18080}
WORKERS=${WORKERS:-$(nproc)}
cargo build --release -q -p hayate-cli
hayate=${CARGO_TARGET_DIR:-target}/release/hayate
handlers=crates/serve/handlers
"$hayate" serve --addr "127.0.0.1:$PORT" --workers "$WORKERS" --queue 1024 \
    --route "/echo=$handlers/echo.wasm" --route "/json=$handlers/json.wasm" \
    --route "/counter=$handlers/counter.wasm" 2>/dev/null &
server=$!
trap 'kill -TERM $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$PORT/.well-known/hayate/health" >/dev/null && break
    sleep 0.1
done
for path in /.well-known/hayate/health /echo/x?y=1 /json?status=200 /counter; do
    echo "== $path ($CONNS connections, $WORKERS workers, $DURATION)"
    wrk -t2 -c"$CONNS" -d"$DURATION" --latency "http://127.0.0.1:$PORT$path" |
        grep -E 'Requests/sec|Latency|50%|99%|Non-2xx|Socket errors'
done
