"""safe_open: safetensors' lazy reader, which loaders such as vLLM's iterate
(`for name in f.keys(): f.get_tensor(name)`). Each get_tensor restores that
one region: the seal is checked and the region's chunks verified, and the
tensor owns its memory like load_file's."""

from . import _keys, _restore
from ._snapshot import Snapshot


class SafeOpen:
    def __init__(self, path_or_url, framework="pt", device="cpu", key_file=None, allow_unsealed=False,
                 public_key_files=(), threads=0, device_map=None, verify_on=None, **remote):
        if framework in ("pt", "torch"):
            from . import torch as fw
            self._typed = fw._typed
            self._ordinal = fw._device_ordinal(device)
        elif framework in ("np", "numpy"):
            from . import numpy as fw
            if str(device) != "cpu":
                raise ValueError("vramsnap: numpy arrays live on the CPU")
            self._typed = fw.typed
            self._ordinal = None
        else:
            raise ValueError("vramsnap: framework must be 'pt' or 'np'")
        self._framework = framework
        # Checked now, not at the first get_tensor: a bad value is the caller's mistake, not the tensor's.
        _restore.check_device_options(self._ordinal, device_map, verify_on)
        self._device_map, self._verify_on = device_map, verify_on
        self._snap = Snapshot(path_or_url, **remote)
        self._key, self._trusted = _keys.for_checking(key_file, public_key_files)
        self._allow_unsealed, self._threads = allow_unsealed, threads

    def keys(self):
        return [r.name for r in self._snap.regions]

    def metadata(self):
        return dict(self._snap.labels)

    def get_tensor(self, name):
        [(region, data)] = _restore.restore(self._snap, self._key, self._trusted, self._allow_unsealed,
                                            self._threads, [name], device=self._ordinal,
                                            device_map=self._device_map, verify_on=self._verify_on)
        t = self._typed(region, data)
        if self._ordinal is not None and not t.is_cuda:
            t = t.to(f"cuda:{self._ordinal}")
        return t

    def close(self):
        self._snap.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
