"""Key handles from key files. Keys come only from files (or the environment
the library reads: $VRAMSNAP_KEY_FILE, $CREDENTIALS_DIRECTORY): key bytes
never pass through Python strings, argv or logs."""

import ctypes
import os

from ._lib import check, cstr, lib


class Key:
    """A loaded key; freed (and wiped by the library) when closed or collected."""

    _free = lib.vramsnap_key_free

    def __init__(self, handle):
        self._h = handle

    @property
    def handle(self):
        return self._h

    @property
    def key_id(self):
        buf = ctypes.create_string_buffer(17)
        lib.vramsnap_key_id(self._h, buf)
        return buf.value.decode()

    def close(self):
        if self._h:
            self._free(self._h)
            self._h = None

    __del__ = close


def _load(fn, path):
    key = Key(ctypes.c_void_p())  # the call writes into it: the key is wiped whatever is raised after
    check(fn(cstr(path, "key file") if path is not None else None, ctypes.byref(key.handle)))
    return key


def secret(key_file):
    """An HMAC key or Ed25519 private key file (mode 0600, owned by the caller)."""
    return _load(lib.vramsnap_key_load, key_file)


def public(key_file):
    """An Ed25519 public key file."""
    return _load(lib.vramsnap_key_load_public, key_file)


def for_checking(key_file=None, public_key_files=()):
    """The keys a verify or restore is given: key_file, else the environment's
    key when one is configured; plus Ed25519 public keys. Returns (key, [public keys])."""
    key = None
    if key_file is not None:
        key = secret(key_file)
    elif os.environ.get("VRAMSNAP_KEY_FILE") or os.environ.get("CREDENTIALS_DIRECTORY"):
        key = _load(lib.vramsnap_key_resolve, None)
    if isinstance(public_key_files, (str, bytes, os.PathLike)):
        public_key_files = [public_key_files]
    return key, [public(p) for p in public_key_files]


def fill_check(check_opts, key, trusted, allow_unsealed, threads, min_generation=None):
    """Fills a CheckOptions; returns what must stay alive while it is used."""
    check_opts.key = key.handle if key else None
    check_opts.allow_unsealed = 1 if allow_unsealed else 0
    check_opts.threads = threads
    if min_generation is not None:
        check_opts.has_min_generation = 1
        check_opts.min_generation = min_generation
    arr = None
    if trusted:
        arr = (ctypes.c_void_p * len(trusted))(*[k.handle for k in trusted])
        check_opts.trusted_keys = arr
        check_opts.trusted_key_count = len(trusted)
    return arr
