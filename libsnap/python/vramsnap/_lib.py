"""ctypes bindings of the C API (vramsnap.h): the structs and prototypes the
package uses, and how the shared library is found.

Search order: $VRAMSNAP_LIBRARY; the library installed with the package
(the relative path cmake --install records in _paths.py); the system's
loader path (libvramsnap.so.0). The structs below must match the library's
own, so a library that lacks a function the package calls, or (for an
installed package, which records its version) is of another version, is
refused rather than called with the wrong layout."""

import ctypes
import os

from . import errors

c_size_p = ctypes.POINTER(ctypes.c_size_t)


class RegionDesc(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("kind", ctypes.c_int), ("dtype", ctypes.c_char_p),
                ("shape", ctypes.POINTER(ctypes.c_uint64)), ("rank", ctypes.c_size_t),
                ("device", ctypes.c_int32), ("flags", ctypes.c_uint32)]


PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64)
ALLOC_FN = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint64)


class CaptureOptions(ctypes.Structure):
    _fields_ = [("chunk_size", ctypes.c_uint64), ("codec", ctypes.c_char_p), ("level", ctypes.c_int),
                ("threads", ctypes.c_uint), ("generation", ctypes.c_uint64), ("overwrite", ctypes.c_int),
                ("key", ctypes.c_void_p), ("progress", PROGRESS_FN), ("progress_user", ctypes.c_void_p),
                ("chunk_hash", ctypes.c_char_p), ("pack_below", ctypes.c_int64)]


class RegionInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("kind", ctypes.c_int), ("dtype", ctypes.c_char_p),
                ("shape", ctypes.POINTER(ctypes.c_uint64)), ("rank", ctypes.c_size_t),
                ("size", ctypes.c_uint64), ("device", ctypes.c_int32), ("has_va", ctypes.c_int),
                ("va", ctypes.c_uint64), ("flags", ctypes.c_uint32)]


class RemoteOptions(ctypes.Structure):
    _fields_ = [("auth_file", ctypes.c_char_p), ("ca_file", ctypes.c_char_p), ("registry_config", ctypes.c_char_p),
                ("insecure", ctypes.c_int), ("timeout_s", ctypes.c_uint), ("retries", ctypes.c_uint)]


class CheckOptions(ctypes.Structure):
    _fields_ = [("key", ctypes.c_void_p), ("allow_unsealed", ctypes.c_int), ("has_min_generation", ctypes.c_int),
                ("min_generation", ctypes.c_uint64), ("threads", ctypes.c_uint), ("progress", PROGRESS_FN),
                ("progress_user", ctypes.c_void_p), ("trusted_keys", ctypes.POINTER(ctypes.c_void_p)),
                ("trusted_key_count", ctypes.c_size_t)]


class RestoreOptions(ctypes.Structure):
    _fields_ = [("check", CheckOptions), ("target", ctypes.c_int), ("device", ctypes.c_int),
                ("fixed_va", ctypes.c_int), ("load_modules", ctypes.c_int), ("warm_modules", ctypes.c_int),
                ("regions", ctypes.POINTER(ctypes.c_char_p)), ("region_count", ctypes.c_size_t),
                ("host_alloc", ALLOC_FN), ("host_alloc_user", ctypes.c_void_p),
                ("max_host_bytes", ctypes.c_uint64), ("max_output_bytes", ctypes.c_uint64),
                ("device_map", ctypes.c_char_p), ("staging_buffers", ctypes.c_uint32),
                ("staging_buffer_bytes", ctypes.c_uint64), ("verify_on", ctypes.c_int32),
                ("separate_host_buffers", ctypes.c_int)]


class RestoredRegion(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("kind", ctypes.c_int), ("size", ctypes.c_uint64),
                ("host", ctypes.c_void_p), ("device_ptr", ctypes.c_uint64), ("module", ctypes.c_void_p),
                ("device", ctypes.c_int32)]


REGION_READY_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(RestoredRegion))


class StreamOptions(ctypes.Structure):
    _fields_ = [("restore", RestoreOptions), ("order", ctypes.POINTER(ctypes.c_char_p)),
                ("order_count", ctypes.c_size_t), ("on_region", REGION_READY_FN),
                ("on_region_user", ctypes.c_void_p)]


KIND_DEVICE, KIND_HOST, KIND_MODULE, KIND_OTHER = 0, 1, 2, 3
KIND_NAMES = {KIND_DEVICE: "device", KIND_HOST: "host", KIND_MODULE: "module", KIND_OTHER: "other"}
TARGET_HOST, TARGET_CUDA = 0, 1
VERIFY_ON = {"auto": 0, "host": 1, "device": 2}  # vramsnap_verify_on
SNAPSHOT_LABELS = ctypes.c_size_t(-1).value

_P = ctypes.c_void_p
_PP = ctypes.POINTER(ctypes.c_void_p)
_S = ctypes.c_int  # vramsnap_status
_PROTOTYPES = {
    "vramsnap_version": (ctypes.c_char_p, []),
    "vramsnap_last_error": (ctypes.c_char_p, []),
    "vramsnap_key_load": (_S, [ctypes.c_char_p, _PP]),
    "vramsnap_key_load_public": (_S, [ctypes.c_char_p, _PP]),
    "vramsnap_key_resolve": (_S, [ctypes.c_char_p, _PP]),
    "vramsnap_key_id": (None, [_P, ctypes.c_char_p]),
    "vramsnap_key_free": (None, [_P]),
    "vramsnap_capture_options_init": (None, [ctypes.POINTER(CaptureOptions)]),
    "vramsnap_capture_new": (_S, [_PP]),
    "vramsnap_capture_add_host": (_S, [_P, ctypes.POINTER(RegionDesc), _P, ctypes.c_uint64]),
    "vramsnap_capture_add_device": (_S, [_P, ctypes.POINTER(RegionDesc), _P, ctypes.c_uint64]),
    "vramsnap_capture_set_label": (_S, [_P, ctypes.c_char_p, ctypes.c_char_p]),
    "vramsnap_capture_set_region_label": (_S, [_P, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p]),
    "vramsnap_capture_write": (_S, [_P, ctypes.c_char_p, ctypes.POINTER(CaptureOptions), ctypes.c_char_p]),
    "vramsnap_capture_free": (None, [_P]),
    "vramsnap_open": (_S, [ctypes.c_char_p, _PP]),
    "vramsnap_remote_options_init": (None, [ctypes.POINTER(RemoteOptions)]),
    "vramsnap_open_remote": (_S, [ctypes.c_char_p, ctypes.POINTER(RemoteOptions), _PP]),
    "vramsnap_close": (None, [_P]),
    "vramsnap_region_count": (ctypes.c_size_t, [_P]),
    "vramsnap_region_get": (_S, [_P, ctypes.c_size_t, ctypes.POINTER(RegionInfo)]),
    "vramsnap_generation": (ctypes.c_uint64, [_P]),
    "vramsnap_snapshot_id": (ctypes.c_char_p, [_P]),
    "vramsnap_is_sealed": (ctypes.c_int, [_P, ctypes.c_char_p]),
    "vramsnap_seal_algorithm": (ctypes.c_char_p, [_P]),
    "vramsnap_label_count": (ctypes.c_size_t, [_P, ctypes.c_size_t]),
    "vramsnap_label_get": (_S, [_P, ctypes.c_size_t, ctypes.c_size_t, ctypes.POINTER(ctypes.c_char_p),
                                ctypes.POINTER(ctypes.c_char_p)]),
    "vramsnap_check_options_init": (None, [ctypes.POINTER(CheckOptions)]),
    "vramsnap_verify": (_S, [_P, ctypes.POINTER(CheckOptions)]),
    "vramsnap_restore_options_init": (None, [ctypes.POINTER(RestoreOptions)]),
    "vramsnap_restore": (_S, [_P, ctypes.POINTER(RestoreOptions), _PP]),
    "vramsnap_restored_count": (ctypes.c_size_t, [_P]),
    "vramsnap_restored_get": (_S, [_P, ctypes.c_size_t, ctypes.POINTER(RestoredRegion)]),
    "vramsnap_restored_release": (None, [_P]),
    "vramsnap_restored_free": (None, [_P]),
    "vramsnap_stream_options_init": (None, [ctypes.POINTER(StreamOptions)]),
    "vramsnap_restore_stream": (_S, [_P, ctypes.POINTER(StreamOptions)]),
    "vramsnap_free": (None, [_P]),
}


try:
    from . import _paths
except ImportError:  # run from the source tree
    _paths = None


def _candidates():
    env = os.environ.get("VRAMSNAP_LIBRARY")
    if env:
        yield env
        return
    if _paths is not None:
        here = os.path.dirname(os.path.abspath(__file__))
        yield os.path.normpath(os.path.join(here, _paths.LIBRARY_RELPATH))
    yield "libvramsnap.so.0"


def _unusable(lib):
    """Why the package cannot use this library, or None."""
    missing = [name for name in _PROTOTYPES if not hasattr(lib, name)]
    if missing:
        return f"not a libvramsnap this package can use: it lacks {', '.join(missing[:3])}"
    lib.vramsnap_version.restype = ctypes.c_char_p
    lib.vramsnap_version.argtypes = []
    have = lib.vramsnap_version().decode("utf-8", "replace")
    want = getattr(_paths, "VERSION", None)
    if want is not None and have != want:
        return f"libvramsnap {have}, but this package is {want}"
    return None


def _load():
    tried = []
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
            continue
        why = _unusable(lib)
        if why:
            tried.append(f"{path} ({why})")
            continue
        for name, (res, args) in _PROTOTYPES.items():
            fn = getattr(lib, name)
            fn.restype = res
            fn.argtypes = args
        return lib
    raise ImportError("vramsnap: cannot load libvramsnap; set VRAMSNAP_LIBRARY to its path. Tried: "
                      + "; ".join(tried))


lib = _load()


def check(status):
    """Raises the exception of a failed call's status, with the library's message."""
    if status != 0:
        raise errors.from_status(status, lib.vramsnap_last_error().decode("utf-8", "replace"))


def cstr(s, what):
    """s (str, bytes or a path) as a C string. A NUL inside would silently cut
    it short (another region name, another file), so it is refused."""
    b = os.fsencode(s)
    if b"\0" in b:
        raise ValueError(f"vramsnap: {what} {s!r} contains a NUL character")
    return b


def text(b):
    return b.decode("utf-8", "surrogateescape") if b is not None else ""
