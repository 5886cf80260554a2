"""Capture from memory the caller holds: each array's data pointer goes to
the C API as it is (host memory, or CUDA device memory for tensors on a
GPU); no staging copy is made in Python."""

import ctypes

from . import _keys
from ._lib import CaptureOptions, RegionDesc, check, cstr, lib


class Item:
    """One region to capture: where its bytes are and what they are."""

    def __init__(self, name, dtype, shape, ptr, size, kind, device=-1, on_device=False):
        self.name, self.dtype, self.shape = name, dtype, tuple(int(d) for d in shape)
        self.ptr, self.size, self.kind, self.device, self.on_device = ptr, size, kind, device, on_device


def write(path, items, labels=None, key_file=None, codec="auto", chunk_size=None, threads=0, overwrite=True,
          generation=0, chunk_hash=None):
    """Writes the snapshot (temp file, fsync, rename); returns its id. The
    arrays behind `items` must stay alive and unchanged until it returns."""
    c = ctypes.c_void_p()
    key = None
    try:
        check(lib.vramsnap_capture_new(ctypes.byref(c)))
        keep = []
        for it in items:
            enc = cstr(it.name, "region name")
            shape = (ctypes.c_uint64 * max(1, len(it.shape)))(*it.shape)
            # A scalar's shape is written as unknown (spec 7.3); the rank label keeps it a scalar.
            desc = RegionDesc(enc, it.kind, it.dtype.encode(), shape if it.shape else None, len(it.shape),
                              it.device, 0)
            keep.append((enc, shape))
            add = lib.vramsnap_capture_add_device if it.on_device else lib.vramsnap_capture_add_host
            check(add(c, ctypes.byref(desc), ctypes.c_void_p(it.ptr), it.size))
            if not it.shape:
                check(lib.vramsnap_capture_set_region_label(c, enc, b"rank", b"0"))
        for k, v in (labels or {}).items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError("vramsnap: labels (metadata) map str to str")
            check(lib.vramsnap_capture_set_label(c, cstr(k, "label key"), cstr(v, "label value")))
        opts = CaptureOptions()
        lib.vramsnap_capture_options_init(ctypes.byref(opts))
        opts.codec = codec.encode()
        if chunk_size:
            opts.chunk_size = chunk_size
        if chunk_hash:
            opts.chunk_hash = chunk_hash.encode()
        opts.threads = threads
        opts.overwrite = 1 if overwrite else 0
        opts.generation = generation
        if key_file is not None:
            key = _keys.secret(key_file)
            opts.key = key.handle
        snapshot_id = ctypes.create_string_buffer(33)
        check(lib.vramsnap_capture_write(c, cstr(path, "path"), ctypes.byref(opts), snapshot_id))
        return snapshot_id.value.decode()
    finally:
        lib.vramsnap_capture_free(c)  # NULL when capture_new failed: a no-op
        if key:
            key.close()
