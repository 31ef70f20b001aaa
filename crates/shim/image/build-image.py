#!/usr/bin/env python3
"""Packs a WebAssembly module into an OCI image-layout tarball for containerd.

This script owns the image side of `containerd-shim-hayate-v1`: it turns one
`.wasm` file into a tarball that `ctr image import` and `skopeo copy
oci-archive:...` accept, in either of the two forms Wasm images take in the
wild:

``--form wasi-platform`` (default)
    An ordinary OCI image for the platform ``wasi/wasm``: one tar(.gz) layer
    holding the module at ``/<name>.wasm``, an image config with
    ``"os": "wasi", "architecture": "wasm"``, ``Entrypoint ["/<name>.wasm"]``
    and the ``--arg``/``--env`` values baked into ``Cmd``/``Env``. containerd
    unpacks it into a rootfs like any image; the shim runs the file named by
    ``argv[0]``. It has the shape of what ``docker buildx build --platform
    wasi/wasm`` makes of ``FROM scratch`` + ``COPY app.wasm /``.

``--form artifact``
    The CNCF TAG-Runtime "Wasm OCI Artifact" as runwasi's oci-tar-builder
    (``--as-artifact``) writes it: config mediaType
    ``application/vnd.wasm.config.v0+json`` holding
    ``{"created", "architecture": "wasm", "os": "wasip1", "layerDigests"}``
    (``wasip2`` for a component), one layer of mediaType ``application/wasm``
    that is the raw module bytes, and the index descriptor's platform
    ``wasip1/wasm``. runwasi's containerd-shim-wasm reads the module straight
    out of containerd's content store (any layer whose mediaType is
    ``application/wasm``); there is no rootfs and the config has no Cmd/Env,
    so argv and env come from the Pod's ``command``/``args``/``env``.
    containerd before 1.6.25/1.7.7 cannot unpack it (import with
    ``ctr image import --no-unpack``), and ``ctr run`` cannot start it on any
    release (tests/e2e.sh shows the way around that for testing).

The tarball holds ``oci-layout``, ``index.json`` and ``blobs/sha256/*``.
index.json names the image through both annotations containerd reads:
``org.opencontainers.image.ref.name`` and ``io.containerd.image.name`` (both
the full reference, e.g. ``localhost/hello:latest``), so ``ctr image import``
registers it under that name.

Output is deterministic: every mtime is SOURCE_DATE_EPOCH (0 when unset),
owners are root, gzip headers carry no name or time, and JSON is written with
sorted keys, so the same inputs always give the same digests.

Only the Python 3.11 standard library is used.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import sys
import tarfile
import time

WASM_MAGIC = b"\0asm"
# Version field of a core module (1) and of a component (0x0d, layer 1).
CORE_VERSION = b"\x01\x00\x00\x00"
COMPONENT_VERSION_LAYER = (0x0D, 0x01)

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
MT_LAYER_TAR_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
# The CNCF Wasm OCI artifact (what oci-wasm / runwasi use).
MT_WASM_CONFIG = "application/vnd.wasm.config.v0+json"
MT_WASM_LAYER = "application/wasm"

ANN_REF_NAME = "org.opencontainers.image.ref.name"
ANN_CONTAINERD_NAME = "io.containerd.image.name"

# A permissive image reference: [registry[:port]/]path[:tag][@digest].
REF_RE = re.compile(
    r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?"
    r"(/[a-z0-9]+([._-]{1,2}[a-z0-9]+)*)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$"
)


class BuildError(Exception):
    """A problem with the inputs, reported as one line without a traceback."""


def fail(msg: str) -> None:
    raise BuildError(msg)


def json_bytes(obj: object) -> bytes:
    """Canonical JSON: sorted keys, no whitespace, UTF-8."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def epoch() -> int:
    """The fixed mtime: SOURCE_DATE_EPOCH if set, else 0."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "0")
    try:
        return int(value)
    except ValueError:
        fail(f"SOURCE_DATE_EPOCH is not an integer: {value!r}")
        raise  # unreachable


def rfc3339(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def read_wasm(path: str) -> bytes:
    """Reads the input and checks it is a Wasm module or component."""
    if not os.path.exists(path):
        fail(f"input {path}: no such file")
    if not os.path.isfile(path):
        fail(f"input {path}: not a regular file")
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8 or data[:4] != WASM_MAGIC:
        fail(f"input {path}: not a WebAssembly binary (no \\0asm magic); "
             "compile .wat to .wasm first")
    version = data[4:8]
    if version != CORE_VERSION and (data[4], data[6]) != COMPONENT_VERSION_LAYER:
        fail(f"input {path}: unknown WebAssembly binary version {version.hex()}")
    return data


def is_component(data: bytes) -> bool:
    return data[4:8] != CORE_VERSION


def tar_info(name: str, size: int, mode: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = mode
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.type = tarfile.REGTYPE
    return info


def make_layer_tar(path_in_image: str, data: bytes, mtime: int) -> bytes:
    """An uncompressed tar holding one file (no leading slash, as docker writes)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(tar_info(path_in_image.lstrip("/"), len(data), 0o755, mtime), io.BytesIO(data))
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    buf = io.BytesIO()
    # filename="" and mtime=0 keep the gzip header free of varying fields.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return buf.getvalue()


def parse_env(values: list[str]) -> list[str]:
    for v in values:
        if "=" not in v or v.startswith("="):
            fail(f"--env {v!r}: expected NAME=VALUE")
    return values


def module_name(wasm_path: str, override: str | None) -> str:
    name = override or os.path.splitext(os.path.basename(wasm_path))[0]
    if not name or "/" in name or name in (".", ".."):
        fail(f"bad module name {name!r}")
    return name


class Layout:
    """Collects blobs and writes the OCI image-layout tarball."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def add(self, media_type: str, data: bytes, **extra: object) -> dict:
        digest = sha256(data)
        self.blobs[digest] = data
        desc = {"mediaType": media_type, "digest": digest, "size": len(data)}
        desc.update(extra)
        return desc

    def write(self, out: str, index: dict, mtime: int) -> None:
        files: list[tuple[str, bytes]] = [
            ("oci-layout", json_bytes({"imageLayoutVersion": "1.0.0"})),
            ("index.json", json_bytes(index)),
        ]
        for digest in sorted(self.blobs):
            files.append(("blobs/sha256/" + digest.split(":", 1)[1], self.blobs[digest]))
        dirs = ["blobs/", "blobs/sha256/"]
        out_dir = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(out_dir):
            fail(f"--out {out}: directory {out_dir} does not exist")
        tmp = out + ".tmp"
        with open(tmp, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
                for d in dirs:
                    info = tarfile.TarInfo(d.rstrip("/"))
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    info.mtime = mtime
                    info.uname = info.gname = ""
                    tar.addfile(info)
                for name, data in files:
                    tar.addfile(tar_info(name, len(data), 0o644, mtime), io.BytesIO(data))
        os.replace(tmp, out)


def build(args: argparse.Namespace) -> dict:
    wasm = read_wasm(args.wasm)
    ref = args.name
    if not REF_RE.match(ref):
        fail(f"--name {ref!r}: not an image reference like localhost/hello:latest")
    if ":" not in ref.rsplit("/", 1)[-1]:
        ref += ":latest"
    mtime = epoch()
    created = rfc3339(mtime)
    env = parse_env(args.env)
    layout = Layout()

    if args.form == "wasi-platform":
        name = module_name(args.wasm, args.module_name)
        path_in_image = f"/{name}.wasm"
        layer_tar = make_layer_tar(path_in_image, wasm, mtime)
        diff_id = sha256(layer_tar)
        if args.no_gzip:
            layer_desc = layout.add(MT_LAYER_TAR, layer_tar)
        else:
            layer_desc = layout.add(MT_LAYER_TAR_GZIP, gzip_bytes(layer_tar))
        config_body: dict = {"Entrypoint": [path_in_image]}
        if args.arg:
            config_body["Cmd"] = list(args.arg)
        if env:
            config_body["Env"] = list(env)
        config = {
            "created": created,
            "architecture": "wasm",
            "os": "wasi",
            "config": config_body,
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": created, "created_by": f"build-image.py: COPY {name}.wasm {path_in_image}"}],
        }
        config_desc = layout.add(MT_IMAGE_CONFIG, json_bytes(config))
        platform = {"architecture": "wasm", "os": "wasi"}
    elif args.form == "artifact":
        if args.arg or env:
            fail("--arg/--env need --form wasi-platform: a Wasm artifact's config "
                 "has no Cmd or Env; pass them to the runtime instead "
                 "(ctr run ... IMAGE ID ARGV0 ARGS, or the Pod's args/env)")
        if args.no_gzip or args.module_name:
            fail("--no-gzip/--module-name apply to --form wasi-platform only")
        layer_desc = layout.add(MT_WASM_LAYER, wasm)
        config = {
            "created": created,
            "architecture": "wasm",
            "os": "wasip2" if is_component(wasm) else "wasip1",
            "layerDigests": [layer_desc["digest"]],
        }
        config_desc = layout.add(MT_WASM_CONFIG, json_bytes(config))
        platform = {"architecture": "wasm", "os": config["os"]}
    else:  # argparse restricts choices
        fail(f"unknown form {args.form}")
        raise AssertionError

    annotations = {ANN_REF_NAME: ref, ANN_CONTAINERD_NAME: ref}
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": config_desc,
        "layers": [layer_desc],
    }
    manifest_desc = layout.add(MT_MANIFEST, json_bytes(manifest), platform=platform, annotations=annotations)
    index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [manifest_desc]}
    layout.write(args.out, index, mtime)
    return {"ref": ref, "form": args.form, "manifest": manifest_desc["digest"],
            "platform": f"{platform['os']}/{platform['architecture']}", "out": args.out}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Pack a .wasm module into an OCI image-layout tarball for `ctr image import`.")
    p.add_argument("wasm", help="the WebAssembly module (.wasm)")
    p.add_argument("--name", required=True, help="image reference, e.g. localhost/hello:latest")
    p.add_argument("--out", required=True, help="output tarball path")
    p.add_argument("--form", choices=["wasi-platform", "artifact"], default="wasi-platform",
                   help="wasi-platform: ordinary image for wasi/wasm (default); "
                        "artifact: CNCF Wasm OCI artifact (application/wasm layer)")
    p.add_argument("--arg", action="append", default=[],
                   help="argument baked into Cmd (repeatable; wasi-platform only; write --arg=-x for a value starting with -)")
    p.add_argument("--env", action="append", default=[],
                   help="NAME=VALUE baked into Env (repeatable; wasi-platform only)")
    p.add_argument("--module-name",
                   help="file name in the image, without .wasm (default: the input's stem)")
    p.add_argument("--no-gzip", action="store_true",
                   help="write the layer as plain tar instead of tar+gzip")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    args = p.parse_args(argv)
    try:
        result = build(args)
    except BuildError as e:
        print(f"build-image.py: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"build-image.py: error: {e}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"{result['out']}: {result['ref']} ({result['form']}, {result['platform']}) "
              f"manifest {result['manifest']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
