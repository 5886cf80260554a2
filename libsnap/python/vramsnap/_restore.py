"""Restores through the C API, handing back per-region byte views whose
memory the library placed: host buffers handed over (HostBuffer), or
regions inside a restore handle that stays alive (CUDA). The framework
modules (vramsnap.numpy, vramsnap.torch) turn the bytes into typed arrays."""

import atexit
import ctypes
import queue
import threading
import weakref

from . import _keys
from ._lib import (PROGRESS_FN, REGION_READY_FN, TARGET_CUDA, VERIFY_ON, RestoredRegion, RestoreOptions, StreamOptions,
                   check, cstr, lib, text)
from ._memory import BorrowedHost, Claim, DeviceBytes, HostBuffer, RestoredHandle
from ._snapshot import Snapshot
from .errors import UsageError


def _names(names):
    if not names:
        return None, 0, None
    enc = [cstr(n, "region name") for n in names]
    arr = (ctypes.c_char_p * len(enc))(*enc)
    return arr, len(enc), enc


def _fill(opts, key, trusted, allow_unsealed, threads, regions, max_host_bytes):
    keep = [_keys.fill_check(opts.check, key, trusted, allow_unsealed, threads)]
    arr, n, enc = _names(regions)
    if arr is not None:
        opts.regions, opts.region_count = arr, n
        keep += [arr, enc]
    if max_host_bytes is not None:
        opts.max_host_bytes = max_host_bytes
    return keep


def device_map_spec(device_map):
    """vramsnap(1)'s --device-map text for a dict {recorded GPU: GPU here}, or
    the text itself ("SRC:DST[,SRC:DST...]", checked by the library)."""
    if isinstance(device_map, str):
        return cstr(device_map, "device_map")
    if not isinstance(device_map, dict):
        raise UsageError("vramsnap: device_map must be a dict {recorded GPU: GPU here} or 'SRC:DST[,...]', "
                         f"not {type(device_map).__name__}")
    pairs = []
    for src, dst in device_map.items():
        for v in (src, dst):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise UsageError(f"vramsnap: device_map entries are GPU ordinals (ints >= 0), not {v!r}")
        pairs.append(f"{src}:{dst}")
    if not pairs:
        raise UsageError("vramsnap: device_map is empty; leave it out to restore everything onto `device`")
    return ",".join(pairs).encode()


def _fill_device(opts, device, device_map, verify_on):
    """The CUDA target's options, with vramsnap(1)'s rules: device_map needs a
    GPU to place on; verify_on is checked always and used by a CUDA restore."""
    keep = []
    if verify_on is not None:
        if verify_on not in VERIFY_ON:
            raise UsageError(f"vramsnap: verify_on: expected auto, host or device, got {verify_on!r}")
        opts.verify_on = VERIFY_ON[verify_on]
    if device_map is not None:
        if device is None:
            raise UsageError("vramsnap: device_map places regions on GPUs; it needs device='cuda:N'")
        spec = device_map_spec(device_map)
        opts.device_map = spec
        keep.append(spec)
    if device is not None:
        opts.target, opts.device = TARGET_CUDA, device
    return keep


def check_device_options(device, device_map, verify_on):
    """UsageError for device options a restore would refuse."""
    _fill_device(RestoreOptions(), device, device_map, verify_on)


def _region_names(snap, regions):
    """Names for a list of region names or indices."""
    if regions is None:
        return None
    return [snap.regions[r].name if isinstance(r, int) else r for r in regions]


def restore(snap, key, trusted, allow_unsealed=False, threads=0, regions=None, device=None, max_host_bytes=None,
            device_map=None, verify_on=None):
    """[(Region, bytes)] for every restored region, in file order. bytes is a
    uint8 numpy view (host) or a DeviceBytes (device memory of a CUDA
    restore, device=N; device_map and verify_on as vramsnap(1)'s
    --device-map and --verify-on)."""
    opts = RestoreOptions()
    lib.vramsnap_restore_options_init(ctypes.byref(opts))
    keep = _fill(opts, key, trusted, allow_unsealed, threads, _region_names(snap, regions), max_host_bytes)
    keep += _fill_device(opts, device, device_map, verify_on)
    opts.separate_host_buffers = 1  # each array owns its region's buffer (HostBuffer below)
    owner = RestoredHandle()  # frees everything if anything below fails
    h = owner.handle
    with snap.using() as sh:
        check(lib.vramsnap_restore(sh, ctypes.byref(opts), ctypes.byref(h)))
    del keep
    rr = RestoredRegion()
    placed = []
    for i in range(lib.vramsnap_restored_count(h)):
        check(lib.vramsnap_restored_get(h, i, ctypes.byref(rr)))
        placed.append((snap.region(text(rr.name)), rr.host, rr.device_ptr, rr.size))
    if device is not None:
        return [(reg, DeviceBytes(owner, dptr, size) if dptr else BorrowedHost(owner, host, size).array())
                for reg, host, dptr, size in placed]
    # Host target: each buffer becomes its arrays' own, freed with the last
    # one. Every wrapper exists before the handle lets go, so that nothing
    # raised while the arrays are made can leave a buffer without an owner.
    claim = Claim()
    bufs = [(reg, HostBuffer(host, size, claim)) for reg, host, _, size in placed]
    lib.vramsnap_restored_release(h)
    claim.owned = True
    return [(reg, buf.array()) for reg, buf in bufs]


# Streams whose restore may still be running. A callback into an interpreter
# that is shutting down would end its C thread mid-call (the process aborts):
# every running stream is cancelled and joined before that.
_running = weakref.WeakSet()


@atexit.register
def _cancel_running():
    for s in list(_running):
        s.cancel()


class _Stream:
    """The C call runs on a thread of its own (ctypes lets go of the GIL);
    its callback wraps each delivered buffer at once, so it is owned by
    Python from the moment of delivery, and queues it for the iterator."""

    _END = object()

    def __init__(self, snap, key, trusted, allow_unsealed, threads, regions, order, max_host_bytes):
        self.snap = snap
        self.q = queue.Queue()
        self.stop = threading.Event()
        self.error = None
        opts = StreamOptions()
        lib.vramsnap_stream_options_init(ctypes.byref(opts))
        self.keep = [key, trusted]
        self.keep += _fill(opts.restore, key, trusted, allow_unsealed, threads, _region_names(snap, regions),
                           max_host_bytes)
        arr, n, enc = _names(_region_names(snap, order))
        if arr is not None:
            opts.order, opts.order_count = arr, n
            self.keep += [arr, enc]
        self.cb = REGION_READY_FN(self._on_region)
        opts.on_region = self.cb
        # Progress comes ~20 times a second: it ends the restore soon after
        # the consumer stops, even while no region is due.
        self.progress = PROGRESS_FN(lambda _u, _done, _total: 1 if self.stop.is_set() else 0)
        opts.restore.check.progress = self.progress
        self.opts = opts
        self.thread = threading.Thread(target=self._run, name="vramsnap-stream", daemon=True)
        self.thread.start()
        _running.add(self)
        snap._add_stream(self)  # closing the snapshot cancels and joins this restore first

    def _on_region(self, _user, index, region):
        try:
            r = region.contents
            buf = HostBuffer(r.host, r.size)  # owned by Python from here on
            self.q.put((self.snap.regions[index], buf.array()))
        except BaseException as e:  # a callback must not raise into C
            self.error = e
            return 1
        return 1 if self.stop.is_set() else 0

    def _run(self):
        try:
            with self.snap.using() as sh:
                check(lib.vramsnap_restore_stream(sh, ctypes.byref(self.opts)))
        except BaseException as e:
            if self.error is None:
                self.error = e
        self.q.put(self._END)

    def __iter__(self):
        try:
            while True:
                item = self.q.get()
                if item is self._END:
                    break
                yield item
            if self.error is not None:
                raise self.error
        finally:
            # The consumer stopped early (break, exception, close): tell the
            # restore to stop; what it had not delivered the library frees,
            # what sits in the queue Python frees.
            self.cancel()

    def cancel(self):
        """Stops the restore and waits for its thread (not from that thread:
        a finaliser may run there)."""
        self.stop.set()
        if threading.current_thread() is not self.thread:
            self.thread.join()


def stream(snap, key, trusted, allow_unsealed=False, threads=0, regions=None, order=None, max_host_bytes=None):
    return iter(_Stream(snap, key, trusted, allow_unsealed, threads, regions, order, max_host_bytes))


def stream_file(filename, convert, key_file, allow_unsealed, public_key_files, order, regions, threads,
                max_host_bytes, remote):
    """Yields (name, convert(region, bytes)) as each region is verified and
    placed: the body of numpy.load_stream and torch.load_stream."""
    snap, mine = opened(filename, remote)
    try:
        key, trusted = _keys.for_checking(key_file, public_key_files)
        it = stream(snap, key, trusted, allow_unsealed, threads, regions, order, max_host_bytes)
        try:
            for r, data in it:
                yield r.name, convert(r, data)
        finally:
            it.close()  # the restore has stopped and its thread is joined before the snapshot closes
    finally:
        if mine:
            snap.close()


def opened(path_or_snapshot, remote=None):
    """(Snapshot, whether the caller's) for a path, URL or an open Snapshot;
    remote: the opener's keywords (auth_file, ... in _remote.py)."""
    if isinstance(path_or_snapshot, Snapshot):
        if remote:
            raise UsageError(f"vramsnap: {', '.join(sorted(remote))} apply when a snapshot is opened; this one is "
                             "open already")
        return path_or_snapshot, False
    return Snapshot(path_or_snapshot, **(remote or {})), True
