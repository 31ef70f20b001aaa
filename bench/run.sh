#!/usr/bin/env bash
# The one command: rebuilds the corpus, builds Hayate and the harness, runs
# every benchmark and rewrites the tables in BENCHMARKS.md.
#
#   bench/run.sh                 # everything, medians of 5 runs (~1 hour)
#   bench/run.sh --quick         # tiny sizes, 1 run: checks the harness only
#   bench/run.sh --sections exec --only sqlite,lua   # a part of it
#
# Arguments go to `hayate-bench report` (see `--help`). Timing runs at a
# raised priority (`nice -n -5`) where that is allowed.
set -euo pipefail
cd "$(dirname "$0")/.."

bench/corpus/build.sh
# callgrind counts instructions (the `instr` section).
if ! command -v valgrind >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq valgrind >/dev/null
fi
# With the LLVM tier (`-C compiler=llvm`, the "LLVM" column): needs
# llvm-19-dev and libzstd-dev (release builds link LLVM statically).
cargo build --release -p hayate-cli --features llvm
# wasmtime 49 declares rust-version 1.96 but builds with 1.95.
cargo build --release -p hayate-bench --features peers --ignore-rust-version

NICE=()
if nice -n -5 true 2>/dev/null; then NICE=(nice -n -5); fi

want_micro=1
quick=0
prev=""
for a in "$@"; do
    [ "$a" = --quick ] && quick=1
    if [ "$prev" = --sections ] && [[ ",$a," != *,micro,* ]]; then want_micro=0; fi
    prev="$a"
done
if [ "$want_micro" = 1 ]; then
    extra=()
    [ "$quick" = 1 ] && extra=(--quick)
    "${NICE[@]}" cargo bench -p hayate-bench --features peers --ignore-rust-version --bench micro -- "${extra[@]}"
fi
"${NICE[@]}" target/release/hayate-bench report "$@"
