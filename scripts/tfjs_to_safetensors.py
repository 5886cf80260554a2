#!/usr/bin/python3
"""Converts TensorFlow.js graph-model weights (a weights manifest JSON and its
.bin shards) to safetensors, so that real models with many small tensors can
be captured and measured.

    /usr/bin/python3 scripts/tfjs_to_safetensors.py MANIFEST.json OUT.safetensors --dtype bf16|f16|f32 [--prefix NAME/]

Quantized weights (uint8/uint16 with scale and min, or float16) are
dequantized to float32 first, as TensorFlow.js does when it loads them, then
cast to the requested dtype (bf16 through torch, the rest through numpy).
Integer tensors keep their type. Several manifests may be given; their
tensors share one file, each name prefixed with its manifest's model name.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

TFJS = {"float32": np.float32, "int32": np.int32, "bool": np.bool_, "uint8": np.uint8}
QUANT = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}
OUT = {"f32": ("F32", np.float32), "f16": ("F16", np.float16), "bf16": ("BF16", None)}
INT = {np.dtype(np.int32): "I32", np.dtype(np.uint8): "U8", np.dtype(np.bool_): "BOOL"}


def tensors_of(manifest_path):
    """Yields (name, float32-or-integer ndarray) in manifest order."""
    base = os.path.dirname(manifest_path)
    groups = json.load(open(manifest_path))
    if isinstance(groups, dict):  # a model.json: the manifest is a member
        groups = groups["weightsManifest"]
    for g in groups:
        data = b"".join(open(os.path.join(base, p), "rb").read() for p in g["paths"])
        at = 0
        for w in g["weights"]:
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            q = w.get("quantization")
            if q:
                qt = np.dtype(QUANT[q["dtype"]])
                raw = np.frombuffer(data, qt, count, at)
                at += count * qt.itemsize
                if q["dtype"] == "float16":
                    arr = raw.astype(np.float32)
                else:
                    arr = raw.astype(np.float32) * np.float32(q["scale"]) + np.float32(q["min"])
            else:
                dt = np.dtype(TFJS[w["dtype"]])
                arr = np.frombuffer(data, dt, count, at)
                at += count * dt.itemsize
            yield w["name"], arr.reshape(w["shape"])


def encode(arr, dtype):
    if arr.dtype != np.float32:
        return INT[arr.dtype], arr.tobytes()
    name, npt = OUT[dtype]
    if npt is not None:
        return name, arr.astype(npt).tobytes()
    import torch  # bf16: numpy has no such type

    t = torch.from_numpy(np.array(arr, dtype=np.float32)).to(torch.bfloat16)
    return name, t.view(torch.int16).numpy().tobytes()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("manifests", nargs="+")
    ap.add_argument("out")
    ap.add_argument("--dtype", choices=sorted(OUT), default="bf16")
    a = ap.parse_args()
    header, blobs, off = {"__metadata__": {"source": "tfjs", "dtype": a.dtype}}, [], 0
    prefix_all = len(a.manifests) > 1
    for m in a.manifests:
        model = os.path.basename(m).split("-weights_manifest")[0].replace("_model", "")
        for name, arr in tensors_of(m):
            key = f"{model}/{name}" if prefix_all else name
            dt, b = encode(arr, a.dtype)
            header[key] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
            blobs.append(b)
            off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(a.out, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)
    print(f"{a.out}: {len(header) - 1} tensors, {off} bytes of data", file=sys.stderr)


if __name__ == "__main__":
    main()
