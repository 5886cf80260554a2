"""An opened snapshot: regions, labels, seal status, verify. Opening reads
only the file's structure (trailer, table, manifest, seal): no chunk data.

The C handle must outlive every call that reads it, including a streaming
restore running on its own thread: close() cancels and joins the snapshot's
streams and waits for calls in flight before it frees the handle."""

import contextlib
import ctypes
import os
import threading
import weakref
from dataclasses import dataclass, field

from . import _keys, _remote
from ._lib import KIND_NAMES, SNAPSHOT_LABELS, CheckOptions, RegionInfo, check, cstr, lib, text


@dataclass(frozen=True)
class Region:
    index: int
    name: str
    kind: str             # "device", "host", "module", "other"
    dtype: str            # "" when unknown
    shape: tuple          # () when unknown (or a scalar: labels["rank"] == "0")
    size: int             # bytes
    device: int           # device ordinal captured from; -1 for none
    labels: dict = field(default_factory=dict)


def _labels(h, region):
    out = {}
    k, v = ctypes.c_char_p(), ctypes.c_char_p()
    for i in range(lib.vramsnap_label_count(h, region)):
        check(lib.vramsnap_label_get(h, region, i, ctypes.byref(k), ctypes.byref(v)))
        out[text(k.value)] = text(v.value)
    return out


class Snapshot:
    """vramsnap.open(path_or_url, **remote): a snapshot whose structure has
    been checked. Use as a context manager, or close() it; chunk data is read
    by verify and the restores. remote: auth_file, ca_file, registry_config,
    insecure, timeout, retries for URLs (see _remote.py)."""

    _close = lib.vramsnap_close

    def __init__(self, path_or_url, **remote):
        ropts, keep = _remote.options(**remote)
        self._h = None
        self._cv = threading.Condition()
        self._users = 0
        self._streams = weakref.WeakSet()
        self.path = os.fspath(path_or_url)
        h = ctypes.c_void_p()
        self._h = h  # before the call: whatever is raised once it returns, close() frees it
        where = cstr(self.path, "path")
        if ropts is None:
            check(lib.vramsnap_open(where, ctypes.byref(h)))
        else:
            check(lib.vramsnap_open_remote(where, ctypes.byref(ropts), ctypes.byref(h)))
        del keep
        self.regions = []
        info = RegionInfo()
        for i in range(lib.vramsnap_region_count(h)):
            check(lib.vramsnap_region_get(h, i, ctypes.byref(info)))
            shape = tuple(info.shape[d] for d in range(info.rank)) if info.rank else ()
            self.regions.append(Region(i, text(info.name), KIND_NAMES.get(info.kind, "other"), text(info.dtype),
                                       shape, info.size, info.device, _labels(h, i)))
        self.labels = _labels(h, SNAPSHOT_LABELS)
        key_id = ctypes.create_string_buffer(17)
        self.sealed = bool(lib.vramsnap_is_sealed(h, key_id))
        self.key_id = key_id.value.decode() if self.sealed else ""
        self.seal_algorithm = text(lib.vramsnap_seal_algorithm(h))
        self.generation = lib.vramsnap_generation(h)
        self.id = text(lib.vramsnap_snapshot_id(h))

    @property
    def handle(self):
        if not self._h:
            raise ValueError("vramsnap: the snapshot is closed")
        return self._h

    @contextlib.contextmanager
    def using(self):
        """The handle, kept open until the block is left."""
        with self._cv:
            h = self.handle
            self._users += 1
        try:
            yield h
        finally:
            with self._cv:
                self._users -= 1
                self._cv.notify_all()

    def _add_stream(self, stream):
        self._streams.add(stream)

    def region(self, name):
        for r in self.regions:
            if r.name == name:
                return r
        raise KeyError(name)

    def verify(self, key_file=None, public_key_files=(), allow_unsealed=False, threads=0, min_generation=None):
        """Checks the seal and every chunk's hash; raises on the first failure."""
        key, trusted = _keys.for_checking(key_file, public_key_files)
        opts = CheckOptions()
        lib.vramsnap_check_options_init(ctypes.byref(opts))
        keep = _keys.fill_check(opts, key, trusted, allow_unsealed, threads, min_generation)
        with self.using() as h:
            check(lib.vramsnap_verify(h, ctypes.byref(opts)))
        del keep
        return True

    def close(self):
        """Cancels the streams still reading this snapshot, waits for other
        calls on it, then frees it. Arrays already returned stay valid."""
        if not getattr(self, "_h", None):
            return
        for stream in list(self._streams):
            stream.cancel()
        with self._cv:
            self._cv.wait_for(lambda: self._users == 0)
            h, self._h = self._h, None
        self._close(h)

    def __del__(self):
        if getattr(self, "_h", None):  # nothing can be using it: no reference is left
            self._close(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        seal = f"{self.seal_algorithm} key {self.key_id}" if self.sealed else "unsealed"
        return f"<vramsnap.Snapshot {self.path!r}: {len(self.regions)} regions, {seal}>"
