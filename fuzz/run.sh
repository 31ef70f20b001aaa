#!/bin/sh
# Builds and runs one of Hayate's libFuzzer targets on stable Rust, without
# cargo-fuzz and without nightly: the same coverage instrumentation cargo-fuzz
# asks rustc for (SanitizerCoverage through `-Cpasses=sancov-module`, stable
# flags), minus AddressSanitizer (which needs `-Zsanitizer`, nightly only).
#
#   fuzz/run.sh TARGET [libFuzzer options...]
#   fuzz/run.sh differential -max_total_time=3600
#
# TARGET is compile, instantiate, differential or tiers (LLVM against
# Cranelift; built with the `llvm` feature, needs llvm-19-dev). The corpus lives in
# fuzz/corpus/TARGET, crashes in fuzz/artifacts/TARGET. Runs under `nice -n 19`
# as a single libFuzzer process. Set BUILD_ONLY=1 to only build.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
target=${1:?usage: fuzz/run.sh compile|instantiate|differential|tiers [libFuzzer options]}
shift
features=
[ "$target" = tiers ] && features=llvm
triple=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="${RUSTFLAGS:-} --cfg fuzzing -Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cdebug-assertions -Coverflow-checks -Cforce-frame-pointers"
# --target keeps RUSTFLAGS off build scripts and proc macros, as cargo-fuzz does.
nice -n 19 cargo build --release --manifest-path "$here/Cargo.toml" \
    --target "$triple" --features "$features" --bin "$target"
[ "${BUILD_ONLY:-0}" = 1 ] && exit 0
mkdir -p "$here/corpus/$target" "$here/artifacts/$target"
exec nice -n 19 "$here/target/$triple/release/$target" \
    -artifact_prefix="$here/artifacts/$target/" \
    "$@" "$here/corpus/$target"
