"""Who owns restored memory in Python. Arrays are views on the library's
buffers, never copies: each host buffer handed over by the library gets a
HostBuffer, which numpy keeps alive as the base of every view on it and which
frees the buffer when the last view is gone. Device memory stays with the
restore's handle (RestoredHandle), which every tensor on it keeps alive."""

import ctypes
import threading

import numpy as np

from ._lib import lib

_lock = threading.RLock()  # __del__ may run inside a locked section of the same thread
_live = 0


def live_buffers():
    """How many buffers handed over by the library are still alive (tests)."""
    return _live


class Claim:
    """Whether the buffers of one restore are Python's yet. A plain restore's
    buffers are wrapped while its handle still owns them and become Python's
    all at once when the handle lets go (vramsnap_restored_release): a
    failure in between frees them once, through the handle."""

    __slots__ = ("owned",)

    def __init__(self):
        self.owned = False


class HostBuffer:
    """A host buffer the library allocated and handed over; vramsnap_free on
    collection (once its claim, if any, is owned)."""

    __slots__ = ("_ptr", "_size", "_claim", "__weakref__")
    _free = lib.vramsnap_free  # bound now: usable while the interpreter shuts down

    def __init__(self, ptr, size, claim=None):
        global _live
        self._ptr = ptr
        self._size = size
        self._claim = claim
        if ptr:
            with _lock:
                _live += 1

    @property
    def __array_interface__(self):
        return {"version": 3, "shape": (self._size,), "typestr": "|u1", "data": (self._ptr or 0, False)}

    def array(self):
        """A uint8 numpy view of the whole buffer; keeps this object alive."""
        if not self._size:
            return np.empty(0, dtype=np.uint8)
        return np.asarray(self)

    def __del__(self):
        global _live
        if self._ptr:
            if self._claim is None or self._claim.owned:
                self._free(self._ptr)
            self._ptr = None
            with _lock:
                _live -= 1


class RestoredHandle:
    """A vramsnap_restored handle: frees the restore's device memory and
    buffers when collected. It exists before the restore is called and the
    call writes the handle into it (out=byref(handle)), so an exception
    raised as the call returns (KeyboardInterrupt) cannot orphan it."""

    __slots__ = ("_h", "__weakref__")
    _free = lib.vramsnap_restored_free

    def __init__(self):
        self._h = ctypes.c_void_p()

    @property
    def handle(self):
        return self._h

    def __del__(self):
        if self._h:
            self._free(self._h)
            self._h = None


class BorrowedHost:
    """Host memory inside a RestoredHandle (host regions of a CUDA restore)."""

    __slots__ = ("_owner", "_ptr", "_size")

    def __init__(self, owner, ptr, size):
        self._owner, self._ptr, self._size = owner, ptr, size

    @property
    def __array_interface__(self):
        return {"version": 3, "shape": (self._size,), "typestr": "|u1", "data": (self._ptr or 0, False)}

    def array(self):
        return np.asarray(self) if self._size else np.empty(0, dtype=np.uint8)


class DeviceBytes:
    """Device memory of a region as __cuda_array_interface__ (bytes); keeps
    the restore's handle alive for as long as a tensor on it lives."""

    __slots__ = ("_owner", "_ptr", "_size")

    def __init__(self, owner, ptr, size):
        self._owner, self._ptr, self._size = owner, ptr, size

    @property
    def __cuda_array_interface__(self):
        return {"version": 2, "shape": (self._size,), "typestr": "|u1", "data": (self._ptr, False),
                "strides": None}
