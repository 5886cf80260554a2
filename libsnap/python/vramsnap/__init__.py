"""vramsnap: verified snapshots of GPU workloads, from Python.

    import vramsnap.torch
    vramsnap.torch.save_file(model.state_dict(), "model.snap", key_file="snap.key")
    state = vramsnap.torch.load_file("model.snap", device="cuda:0", key_file="snap.key")

vramsnap.numpy and vramsnap.torch follow safetensors' save_file/load_file;
vramsnap.open() lists a snapshot's regions, labels and seal; verify() checks
it; restore_stream() hands regions over as soon as each is verified. Every
failure raises a vramsnap.Error subclass carrying vramsnap(1)'s exit code."""

from . import errors
from ._lib import lib as _cdll
from ._memory import live_buffers
from ._snapshot import Region, Snapshot
from .errors import (CompatError, Error, FormatError, IntegrityError, Interrupted, IoError, ResourceError,
                     UsageError)

__all__ = ["open", "safe_open", "verify", "restore_stream", "Snapshot", "Region", "Error", "IntegrityError", "UsageError",
           "FormatError", "IoError", "ResourceError", "CompatError", "Interrupted", "live_buffers", "version"]


def version():
    return _cdll.vramsnap_version().decode()


def open(path_or_url, auth_file=None, ca_file=None, registry_config=None, insecure=False, timeout=None,  # noqa: A001
         retries=None):
    """Opens a snapshot (its structure is checked; no chunk is read): a file,
    an http(s):// URL or an oci://REGISTRY/REPO:TAG|@sha256:DIGEST reference.
    For URLs, as vramsnap(1)'s flags of the same names: auth_file (a bearer
    token file, mode 0600; default $VRAMSNAP_AUTH_FILE), ca_file (extra CA
    certificates, PEM), registry_config (docker config.json; default
    $DOCKER_CONFIG), insecure (plain HTTP to hosts other than loopback),
    timeout (seconds, 1-3600; default 30), retries (tries per request,
    1-100; default 5). The loaders and verify take the same keywords."""
    return Snapshot(path_or_url, auth_file=auth_file, ca_file=ca_file, registry_config=registry_config,
                    insecure=insecure, timeout=timeout, retries=retries)


def safe_open(path_or_url, framework="pt", device="cpu", key_file=None, allow_unsealed=False,
              public_key_files=(), threads=0, device_map=None, verify_on=None, **remote):
    """safetensors' safe_open: keys(), metadata(), get_tensor(name), each
    tensor restored and verified on its own when asked for. device_map and
    verify_on as vramsnap.torch.load_file's; remote as vramsnap.open's."""
    from ._safe_open import SafeOpen
    return SafeOpen(path_or_url, framework, device, key_file, allow_unsealed, public_key_files, threads,
                    device_map, verify_on, **remote)


def verify(path_or_snapshot, key_file=None, public_key_files=(), allow_unsealed=False, threads=0,
           min_generation=None, **remote):
    """Checks the seal and every chunk; True, or raises (IntegrityError, FormatError, ...).
    remote: vramsnap.open's settings for URLs."""
    from ._restore import opened
    snap, mine = opened(path_or_snapshot, remote)
    try:
        return snap.verify(key_file, public_key_files, allow_unsealed, threads, min_generation)
    finally:
        if mine:
            snap.close()


def restore_stream(path_or_snapshot, key_file=None, allow_unsealed=False, public_key_files=(), order=None,
                   regions=None, framework="numpy", threads=0, max_host_bytes=None, **remote):
    """Iterator of (name, array) in `order` (names or indices), each yielded as
    soon as it and everything before it are verified and placed. Arrays own
    their memory. Stopping early (break) cancels the rest; a failure later in
    the file raises from the iterator after the regions already yielded."""
    if framework == "numpy":
        from .numpy import load_stream
    elif framework == "torch":
        from .torch import load_stream
    else:
        raise ValueError("vramsnap: framework must be 'numpy' or 'torch'")
    return load_stream(path_or_snapshot, key_file=key_file, allow_unsealed=allow_unsealed,
                       public_key_files=public_key_files, order=order, regions=regions, threads=threads,
                       max_host_bytes=max_host_bytes, **remote)
