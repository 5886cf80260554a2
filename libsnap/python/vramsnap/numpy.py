"""safetensors-shaped API for numpy: save_file / load_file (and save/load
of bytes are deliberately absent: a snapshot is a sealed file).

Arrays that load_file returns are views on the buffers the library
restored into: no copy is made, and each buffer is freed when the last array
on it goes away. bf16 and the 8-bit float types, which numpy lacks, come back
as uint16 / uint8 arrays of their bits (vramsnap.torch gives them their type)."""

import numpy as np

from . import _capture, _keys, _restore
from ._dtypes import NUMPY, numpy_name
from ._lib import KIND_HOST


def _items(arrays):
    items, keep = [], []
    for name, a in arrays.items():
        if not isinstance(name, str):
            raise TypeError(f"vramsnap: array names must be str, not {type(name).__name__}")
        a = np.asarray(a)
        if not a.flags.c_contiguous:
            raise ValueError(f"vramsnap: array {name!r} is not C-contiguous; pass np.ascontiguousarray(...)")
        keep.append(a)
        items.append(_capture.Item(name, numpy_name(a.dtype), a.shape, a.ctypes.data, a.nbytes, KIND_HOST))
    return items, keep


def save_file(arrays, filename, metadata=None, key_file=None, labels=None, codec="auto", threads=0, **options):
    """Writes a dict of name -> array as a snapshot (sealed with key_file when
    given). metadata and labels are the snapshot's labels (str -> str)."""
    items, keep = _items(arrays)
    all_labels = dict(metadata or {})
    all_labels.update(labels or {})
    snapshot_id = _capture.write(filename, items, all_labels, key_file, codec, threads=threads, **options)
    del keep
    return snapshot_id


def typed(region, data):
    """The typed array of a region from its bytes (a uint8 view)."""
    entry = NUMPY.get(region.dtype)
    if entry is None:
        return data
    dtype, size = entry
    if region.size % size:
        return data
    out = data.view(dtype)
    if region.shape:
        return out.reshape(region.shape)
    if region.labels.get("rank") == "0" and out.size == 1:
        return out.reshape(())
    return out


def load_file(filename, key_file=None, allow_unsealed=False, public_key_files=(), regions=None, threads=0,
              max_host_bytes=None, **remote):
    """Restores (verifying every chunk under the seal) and returns a dict of
    name -> array, in file order. remote: vramsnap.open's settings for URLs."""
    snap, mine = _restore.opened(filename, remote)
    try:
        key, trusted = _keys.for_checking(key_file, public_key_files)
        placed = _restore.restore(snap, key, trusted, allow_unsealed, threads, regions,
                                  max_host_bytes=max_host_bytes)
        return {r.name: typed(r, data) for r, data in placed}
    finally:
        if mine:
            snap.close()


def load_stream(filename, key_file=None, allow_unsealed=False, public_key_files=(), order=None, regions=None,
                threads=0, max_host_bytes=None, **remote):
    """Yields (name, array) as each region is verified and placed, in `order`
    (names or indices; the rest in file order)."""
    yield from _restore.stream_file(filename, typed, key_file, allow_unsealed, public_key_files, order, regions,
                                    threads, max_host_bytes, remote)
