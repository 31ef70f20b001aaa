"""Packs a static native executable as a one-layer linux/amd64 OCI image
(`localhost/hayate-e2e/native:latest`, entrypoint `/native`) with
build-image.py's layout writer: the runc baseline of e2e.sh's start-up
benchmark.

    python3 native-image.py BUILD_IMAGE_PY EXECUTABLE OUT_TAR
"""
import hashlib
import importlib.util
import sys

build_image_py, executable, out = sys.argv[1:4]
spec = importlib.util.spec_from_file_location("build_image", build_image_py)
bi = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bi)

layer_bytes = bi.make_layer_tar("/native", open(executable, "rb").read(), 0)

lay = bi.Layout()
layer = lay.add(bi.MT_LAYER_TAR, layer_bytes)
config = lay.add(bi.MT_IMAGE_CONFIG, bi.json_bytes({
    "architecture": "amd64", "os": "linux",
    "config": {"Entrypoint": ["/native"]},
    "rootfs": {"type": "layers",
               "diff_ids": ["sha256:" + hashlib.sha256(layer_bytes).hexdigest()]}}))
manifest = lay.add(bi.MT_MANIFEST, bi.json_bytes({
    "schemaVersion": 2, "mediaType": bi.MT_MANIFEST, "config": config, "layers": [layer]}),
    platform={"architecture": "amd64", "os": "linux"},
    annotations={bi.ANN_REF_NAME: "localhost/hayate-e2e/native:latest"})
lay.write(out, {"schemaVersion": 2, "mediaType": bi.MT_INDEX, "manifests": [manifest]}, 0)
