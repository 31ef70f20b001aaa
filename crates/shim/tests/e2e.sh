#!/usr/bin/env bash
# End-to-end test of containerd-shim-hayate-v1 under a real containerd.
#
#   crates/shim/tests/e2e.sh /path/to/containerd-shim-hayate-v1
#
# Starts a private containerd (own root, state and socket in a temp dir; the
# shim's directory first on its PATH, so `--runtime io.containerd.hayate.v1`
# finds `containerd-shim-hayate-v1` the way it does on a node), packs
# crates/wasi/tests/programs/cli.wasm with crates/shim/image/build-image.py in
# both image forms, imports them and runs them through the shim, checking
# stdout and exit codes. Always stops containerd and removes everything it
# made (set HAYATE_E2E_KEEP=1 to keep the temp dir for a post-mortem).
#
# The two forms reach the shim differently:
#   wasi-platform  `ctr run --platform wasi/wasm IMAGE ID [ARGS]`: an ordinary
#                  image, unpacked into the rootfs; args/env from its config.
#   artifact       `ctr run` cannot run a Wasm artifact in any containerd
#                  release: its spec builder (oci.WithImageConfig) rejects the
#                  config mediaType application/vnd.wasm.config.v0+json, and
#                  containerd < 1.6.25/1.7.7 cannot unpack it either
#                  ("mismatched image rootfs and manifest layers"). Kubernetes
#                  (CRI) can. So the container is created from a stub
#                  linux/amd64 image (no layers) under the artifact's name, the
#                  artifact is then imported over that name, and the task is
#                  started: the shim looks the container's image up by name in
#                  containerd, exactly as it does for a CRI-created container,
#                  and must take the module from the application/wasm layer.
#
# The checks follow runwasi's conventions: the module's argv is the OCI
# process args as they are (argv[0] = "/cli.wasm" for the image's entrypoint,
# whatever the caller gave for the artifact), env is the process env, stdin
# and stdout are containerd's FIFOs, and the task's exit status is the
# module's exit code.
#
# Environment: HAYATE_E2E_NAMESPACE (default hayate-e2e), HAYATE_E2E_TIMEOUT
# (seconds per ctr call, default 60), HAYATE_E2E_KEEP=1, HAYATE_E2E_REQUIRE=1.
# Needs root and Debian's containerd (1.6.20 here; it brings runc and ctr).
#
# Exit status: 0 all passed; 1 a check failed; 77 prerequisites missing
# (not root, no containerd/ctr/python3). HAYATE_E2E_REQUIRE=1 turns 77 into 1.
# The last line on stdout is "N passed, M failed".
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
BUILD_IMAGE="$REPO/crates/shim/image/build-image.py"
WASM="$REPO/crates/wasi/tests/programs/cli.wasm"
RUNTIME="io.containerd.hayate.v1"
NS="${HAYATE_E2E_NAMESPACE:-hayate-e2e}"
TIMEOUT="${HAYATE_E2E_TIMEOUT:-60}"

say() { printf 'e2e: %s\n' "$*" >&2; }
die() { printf 'e2e: FAIL: %s\n' "$*" >&2; exit 1; }
skip() {
    if [ "${HAYATE_E2E_REQUIRE:-0}" = 1 ]; then die "$* (HAYATE_E2E_REQUIRE=1)"; fi
    printf 'e2e: SKIP: %s\n' "$*" >&2
    exit 77
}

[ $# -eq 1 ] || { echo "usage: $0 /path/to/containerd-shim-hayate-v1" >&2; exit 2; }
SHIM="$(readlink -f "$1" || true)"
if [ -z "$SHIM" ] || [ ! -f "$SHIM" ] || [ ! -x "$SHIM" ]; then
    die "shim binary $1: not an executable file"
fi
[ "$(id -u)" = 0 ] || skip "containerd needs root"
for tool in containerd ctr python3 timeout; do
    command -v "$tool" >/dev/null || skip "$tool not installed (Debian: apt-get install containerd)"
done
[ -f "$WASM" ] || die "$WASM missing"

TMP="$(mktemp -d /tmp/hayate-e2e.XXXXXX)"
SOCK="$TMP/containerd.sock"
CTRD_PID=""
CHILD=""

cleanup() {
    local rc=$?
    set +e
    [ -n "$CHILD" ] && kill -TERM "$CHILD" 2>/dev/null
    if [ -n "$CTRD_PID" ] && kill -0 "$CTRD_PID" 2>/dev/null; then
        # Tasks and containers first, so their shims exit and unmount.
        for id in $(ctr --address "$SOCK" --namespace "$NS" task ls -q 2>/dev/null); do
            ctr --address "$SOCK" --namespace "$NS" task kill -s SIGKILL "$id" >/dev/null 2>&1
            ctr --address "$SOCK" --namespace "$NS" task rm -f "$id" >/dev/null 2>&1
        done
        for id in $(ctr --address "$SOCK" --namespace "$NS" container ls -q 2>/dev/null); do
            ctr --address "$SOCK" --namespace "$NS" container rm "$id" >/dev/null 2>&1
        done
        kill -TERM "$CTRD_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$CTRD_PID" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$CTRD_PID" 2>/dev/null
        wait "$CTRD_PID" 2>/dev/null
    fi
    # Shims outlive containerd by design; ours are the ones given our socket.
    for p in /proc/[0-9]*; do
        if tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -qF -- "-address $SOCK "; then
            kill -KILL "${p#/proc/}" 2>/dev/null
        fi
    done
    # Rootfs mounts a killed shim may have left, deepest first.
    awk -v t="$TMP" 'index($2, t) == 1 { print $2 }' /proc/mounts | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null; done
    if [ "$rc" != 0 ] && [ -f "$TMP/containerd.log" ]; then
        say "containerd log (last 40 lines):"
        tail -n 40 "$TMP/containerd.log" >&2
    fi
    if [ "${HAYATE_E2E_KEEP:-0}" = 1 ]; then
        say "kept $TMP"
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- private containerd -----------------------------------------------------
mkdir -p "$TMP/bin" "$TMP/images"
ln -s "$SHIM" "$TMP/bin/containerd-shim-hayate-v1"
cat >"$TMP/config.toml" <<EOF
version = 2
root = "$TMP/root"
state = "$TMP/state"
# No CRI: a ctr-only instance starts faster and needs no CNI.
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$TMP/opt"
EOF
: >"$TMP/empty"
# containerd gives every shim /dev/null as stdin, and a shim's `start` parses
# its stdin as protobuf runtime options (runc's shim and the Rust
# containerd-shim crate alike). Some sandboxes replace /dev/null with a
# regular file that collects whatever is written to it; then `start` fails
# with "proto: illegal wireType" or a protobuf parse error. Give containerd
# and its shims a real null device in a private mount namespace; the host's
# /dev/null is left alone.
LAUNCH=()
if [ ! -c /dev/null ]; then
    say "warning: /dev/null is not a character device on this machine; containerd gets its own"
    command -v unshare >/dev/null || skip "/dev/null is broken and unshare is missing"
    mknod -m 666 "$TMP/null" c 1 3
    # shellcheck disable=SC2016 # $0/$@ belong to the inner sh
    LAUNCH=(unshare --mount --propagation private sh -c 'mount --bind "$0" /dev/null && exec "$@"' "$TMP/null")
fi
# containerd resolves io.containerd.hayate.v1 to containerd-shim-hayate-v1 on
# its own PATH (1.6 also accepts an absolute path as the runtime name).
PATH="$TMP/bin:$PATH" "${LAUNCH[@]}" containerd --config "$TMP/config.toml" \
    <"$TMP/empty" >"$TMP/containerd.log" 2>&1 &
CTRD_PID=$!
CTR=(ctr --address "$SOCK" --namespace "$NS")
ctr_() { "${CTR[@]}" "$@"; }
for i in $(seq 100); do
    ctr_ version >/dev/null 2>&1 && break
    kill -0 "$CTRD_PID" 2>/dev/null || die "containerd exited at start"
    [ "$i" = 100 ] && die "containerd did not answer on $SOCK within 20 s"
    sleep 0.2
done
say "containerd $(ctr_ version 2>/dev/null | awk '/Server:/{s=1} s&&/Version:/{print $2; exit}') on $SOCK"

# --- images -----------------------------------------------------------------
PLAT_REF="localhost/hayate-e2e/cli:latest"
ART_REF="localhost/hayate-e2e/cli-artifact:latest"
python3 "$BUILD_IMAGE" -q "$WASM" --name "$PLAT_REF" --out "$TMP/images/platform.tar" \
    --arg args --arg "two words" --env GREETING=hi
python3 "$BUILD_IMAGE" -q "$WASM" --form artifact --name "$ART_REF" --out "$TMP/images/artifact.tar"
# Same inputs, same bytes: the digests must be stable.
python3 "$BUILD_IMAGE" -q "$WASM" --form artifact --name "$ART_REF" --out "$TMP/images/artifact2.tar"
cmp -s "$TMP/images/artifact.tar" "$TMP/images/artifact2.tar" || die "build-image.py is not deterministic"
# The stub: an empty linux/amd64 image that ctr can create a container from.
python3 -B - "$BUILD_IMAGE" "$ART_REF" "$TMP/images/stub.tar" <<'EOF'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("build_image", sys.argv[1])
bi = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bi)
lay = bi.Layout()
config = lay.add(bi.MT_IMAGE_CONFIG, bi.json_bytes({
    "architecture": "amd64", "os": "linux", "config": {},
    "rootfs": {"type": "layers", "diff_ids": []}}))
manifest = lay.add(bi.MT_MANIFEST, bi.json_bytes({
    "schemaVersion": 2, "mediaType": bi.MT_MANIFEST, "config": config, "layers": []}),
    platform={"architecture": "amd64", "os": "linux"},
    annotations={bi.ANN_REF_NAME: sys.argv[2]})
lay.write(sys.argv[3], {"schemaVersion": 2, "mediaType": bi.MT_INDEX, "manifests": [manifest]}, 0)
EOF

ctr_ image import --all-platforms "$TMP/images/platform.tar" >/dev/null ||
    die "ctr image import of the wasi-platform image failed"
ctr_ image ls -q | grep -qxF "$PLAT_REF" || die "import did not name the image $PLAT_REF"

# --- checks -----------------------------------------------------------------
PASSED=0
FAILED=0
# expect NAME WANT_RC WANT_STDOUT -- COMMAND...: runs COMMAND (stdin from
# $STDIN, default an empty file), compares exit status and stdout exactly.
expect() {
    local name="$1" want_rc="$2" want_out="$3"
    shift 4
    local out="$TMP/out" err="$TMP/err" rc=0
    # In the background, so that a signal to this script is handled at once.
    timeout --kill-after=10 "$TIMEOUT" "$@" <"${STDIN:-$TMP/empty}" >"$out" 2>"$err" &
    CHILD=$!
    wait "$CHILD" || rc=$?
    CHILD=""
    if [ "$rc" = "$want_rc" ] && [ "$(cat "$out")" = "$want_out" ]; then
        say "ok   $name"
        PASSED=$((PASSED + 1))
    else
        FAILED=$((FAILED + 1))
        say "FAIL $name"
        say "     command: $*"
        say "     exit $rc, want $want_rc$([ "$rc" = 124 ] && echo ' (timed out)')"
        say "     stdout: $(head -c 2000 "$out" | sed 's/^/| /')"
        say "     want:   $(printf '%s' "$want_out" | sed 's/^/| /')"
        say "     stderr: $(head -c 2000 "$err" | sed 's/^/| /')"
    fi
}
mkdir -p "$TMP/fifo"
RUN=("${CTR[@]}" run --fifo-dir "$TMP/fifo" --rm --runtime "$RUNTIME" --platform wasi/wasm)

say "wasi-platform image ($PLAT_REF)"
expect "platform: Entrypoint+Cmd from the image" 0 $'/cli.wasm\nargs\ntwo words' -- \
    "${RUN[@]}" "$PLAT_REF" p-args
expect "platform: Env from the image" 0 "hi" -- \
    "${RUN[@]}" "$PLAT_REF" p-env /cli.wasm env GREETING
expect "platform: --env from ctr" 0 "x y" -- \
    "${RUN[@]}" --env "EXTRA=x y" "$PLAT_REF" p-env2 /cli.wasm env EXTRA
expect "platform: exit status" 7 "exiting" -- \
    "${RUN[@]}" "$PLAT_REF" p-exit /cli.wasm exit 7
# (stdin is not checked: runwasi's task service has no CloseIO, so under
# `ctr run` a guest reading stdin never sees its end; the harness test
# `stdin_reaches_the_guest` checks stdin from a file.)
expect "platform: a trap is status 134" 134 "before the trap" -- \
    "${RUN[@]}" "$PLAT_REF" p-trap /cli.wasm trap
mkdir -p "$TMP/mnt"
echo "from a mounted directory" >"$TMP/mnt/f.txt"
expect "platform: a bind mount" 0 "from a mounted directory" -- \
    "${RUN[@]}" --mount "type=bind,src=$TMP/mnt,dst=/data,options=rbind:ro" \
    "$PLAT_REF" p-mount /cli.wasm cat /data/f.txt
# Linear memory stops growing below the container's memory limit (64 MiB:
# the guest grows 1 MiB at a time from its initial size, so it stops at
# 63); without one it reaches 4 GiB. The shim reads the limit from the
# container's cgroup, which Kubernetes mounts at /sys/fs/cgroup and `ctr`
# mounts only when asked.
expect "platform: the memory limit" 0 "63" -- \
    "${RUN[@]}" --memory-limit 67108864 \
    --mount "type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:noexec:nodev" \
    "$PLAT_REF" p-mem /cli.wasm grow
# SIGTERM interrupts a spinning guest: status 128 + 15 (`ctr task wait`
# does not exist in 1.6: the status is `ctr run`'s).
timeout 60 "${RUN[@]}" "$PLAT_REF" p-kill /cli.wasm spin </dev/null >"$TMP/kill.out" 2>&1 &
KILLED=$!
for _ in $(seq 100); do
    ctr_ task ls 2>/dev/null | grep -q '^p-kill .*RUNNING' && break
    sleep 0.1
done
sleep 0.5
ctr_ task kill p-kill || say "ctr task kill p-kill failed"
rc=0
wait "$KILLED" || rc=$?
if [ "$rc" = 143 ]; then
    say "ok   platform: SIGTERM stops a spinning guest"
    PASSED=$((PASSED + 1))
else
    say "FAIL platform: SIGTERM stops a spinning guest: status $rc, want 143"
    say "     output: $(head -c 2000 "$TMP/kill.out")"
    FAILED=$((FAILED + 1))
fi

say "artifact ($ART_REF)"
ctr_ image import "$TMP/images/stub.tar" >/dev/null || die "importing the stub image failed"
art_container() { # ID ARGS...: create from the stub, then point the name at the artifact
    local id="$1"
    shift
    ctr_ container create --runtime "$RUNTIME" --env ARTIFACT_ENV=from-ctr "$ART_REF" "$id" "$@" >/dev/null ||
        die "ctr container create $id from the stub image failed"
}
art_container a-args cli args one
art_container a-env cli env ARTIFACT_ENV
art_container a-exit cli exit 3
ctr_ image import --all-platforms --no-unpack "$TMP/images/artifact.tar" >/dev/null ||
    die "ctr image import --no-unpack of the artifact failed"
want_digest="$(tar -xOf "$TMP/images/artifact.tar" index.json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["manifests"][0]["digest"])')"
got_digest="$(ctr_ image ls | awk -v r="$ART_REF" '$1 == r { print $3 }')"
[ "$got_digest" = "$want_digest" ] || die "$ART_REF is $got_digest after import, want $want_digest"
expect "artifact: args" 0 $'cli\nargs\none' -- "${CTR[@]}" task start --fifo-dir "$TMP/fifo" a-args
expect "artifact: env" 0 "from-ctr" -- "${CTR[@]}" task start --fifo-dir "$TMP/fifo" a-env
expect "artifact: exit status" 3 "exiting" -- "${CTR[@]}" task start --fifo-dir "$TMP/fifo" a-exit
for id in a-args a-env a-exit; do ctr_ container rm "$id" >/dev/null 2>&1 || true; done
# The first start compiled the artifact's module and the library stored it
# in the content store under the shim's label; the later ones loaded it.
# The label is written after the task started, so allow a busy machine
# some seconds for it.
cached() {
    for _ in $(seq 40); do
        ctr_ content ls | grep -q 'runwasi.io/precompiled/hayate/' && return 0
        sleep 0.5
    done
    return 1
}
if cached; then
    say "ok   artifact: precompiled module cached in the content store"
    PASSED=$((PASSED + 1))
else
    say "FAIL artifact: no runwasi.io/precompiled/hayate/ label in the content store"
    FAILED=$((FAILED + 1))
fi

# --- start-up benchmark (bench/shim.sh) ---------------------------------------
# HAYATE_E2E_BENCH=N: the median wall time of N container runs through the
# shim (`ctr run --rm` of cli.wasm exiting at once), of N plain `hayate run`s
# of the same module (HAYATE_E2E_HAYATE names the CLI), and of N runc
# containers of the same C program compiled natively and statically.
median_ms() {
    sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f", m / 1e6 }'
}
time_runs() { # N COMMAND...: prints the median in ms
    local n="$1" i start end
    shift
    for i in $(seq "$n"); do
        start=$(date +%s%N)
        "$@" </dev/null >/dev/null 2>&1 || { say "benchmark run failed: $*"; return 1; }
        end=$(date +%s%N)
        echo $((end - start))
    done | median_ms
}
if [ -n "${HAYATE_E2E_BENCH:-}" ]; then
    n="$HAYATE_E2E_BENCH"
    counter=0
    shim_run() {
        counter=$((counter + 1))
        "${RUN[@]}" "$PLAT_REF" "b-$RANDOM-$counter" /cli.wasm exit 0
    }
    shim_ms=$(time_runs "$n" shim_run)
    hayate_ms="-"
    if [ -n "${HAYATE_E2E_HAYATE:-}" ]; then
        hayate_ms=$(time_runs "$n" "$HAYATE_E2E_HAYATE" run "$WASM" exit 0)
    fi
    runc_ms="-"
    if command -v gcc >/dev/null; then
        printf '#include <stdlib.h>\nint main(void) { exit(0); }\n' >"$TMP/native.c"
        gcc -O2 -static -o "$TMP/native" "$TMP/native.c"
        python3 -B "$HERE/native-image.py" "$BUILD_IMAGE" "$TMP/native" "$TMP/images/native.tar"
        ctr_ image import "$TMP/images/native.tar" >/dev/null || die "importing the native image failed"
        runc_run() {
            counter=$((counter + 1))
            "${CTR[@]}" run --fifo-dir "$TMP/fifo" --rm localhost/hayate-e2e/native:latest "n-$RANDOM-$counter"
        }
        runc_ms=$(time_runs "$n" runc_run)
    fi
    echo "| start-up, median of $n runs | ms |"
    echo "|---|--:|"
    echo "| \`ctr run --rm\` through containerd-shim-hayate-v1 (cli.wasm) | $shim_ms |"
    echo "| \`ctr run --rm\` through runc (the same C, native, static) | $runc_ms |"
    echo "| \`hayate run\` (cli.wasm, no container) | $hayate_ms |"
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
