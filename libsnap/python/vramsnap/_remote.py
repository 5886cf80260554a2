"""Settings for snapshots read from http(s):// URLs and oci:// references,
as vramsnap(1)'s --auth-file, --ca-file, --registry-config, --insecure,
--timeout and --retries (vramsnap_remote_options). Credentials are named by
files only: a token or login never passes through Python. An option left at
None keeps the library's default ($VRAMSNAP_AUTH_FILE, $DOCKER_CONFIG, 30 s,
5 tries); a local file ignores them all."""

import ctypes

from ._lib import RemoteOptions, cstr, lib
from .errors import UsageError

# Keyword names every opener takes, with the tool's bounds for the numbers.
NAMES = ("auth_file", "ca_file", "registry_config", "insecure", "timeout", "retries")
_BOUNDS = {"timeout": (1, 3600), "retries": (1, 100)}


def _count(name, value):
    lo, hi = _BOUNDS[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"vramsnap: {name} must be an int, not {type(value).__name__}")
    if not lo <= value <= hi:
        raise UsageError(f"vramsnap: {name} must be {lo}..{hi}, not {value}")
    return value


def options(auth_file=None, ca_file=None, registry_config=None, insecure=False, timeout=None, retries=None):
    """(RemoteOptions, buffers it points into), or (None, None) when every
    setting is the default, so that the plain vramsnap_open is called."""
    if not isinstance(insecure, bool):
        raise UsageError(f"vramsnap: insecure must be True or False, not {insecure!r}")
    files = {"auth_file": auth_file, "ca_file": ca_file, "registry_config": registry_config}
    if all(v is None for v in files.values()) and not insecure and timeout is None and retries is None:
        return None, None
    opts = RemoteOptions()
    lib.vramsnap_remote_options_init(ctypes.byref(opts))
    keep = []
    for name, value in files.items():
        if value is not None:
            b = cstr(value, name)
            if not b:
                raise UsageError(f"vramsnap: {name} is empty")
            keep.append(b)
            setattr(opts, name, b)
    opts.insecure = int(insecure)
    if timeout is not None:
        opts.timeout_s = _count("timeout", timeout)
    if retries is not None:
        opts.retries = _count("retries", retries)
    return opts, keep
