"""safetensors-shaped API for torch: save_file / load_file of a state_dict.

CPU tensors that load_file returns share the buffers the library restored
into (torch.from_numpy on a view, then a dtype view: no copy), freed when
the last tensor on a buffer goes away. With device="cuda:N" the library
places device regions in GPU memory itself and the tensors are built on it
through __cuda_array_interface__; that memory is freed when the last of them
goes away. Tensors on a GPU are captured from their device pointers and on
the CPU from their data pointers: no staging copy in Python."""

import torch

from . import _capture, _keys, _restore
from ._dtypes import torch_tables
from ._lib import KIND_DEVICE
from ._memory import DeviceBytes

_TO_TORCH, _FROM_TORCH = torch_tables(torch)


def _items(tensors):
    items = []
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise TypeError(f"vramsnap: tensor names must be str, not {type(name).__name__}")
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"vramsnap: {name!r} is a {type(t).__name__}, not a torch.Tensor")
        dtype = _FROM_TORCH.get(t.dtype)
        if dtype is None:
            raise TypeError(f"vramsnap: {name!r} has dtype {t.dtype}, which holds no plain values "
                            "(quantized tensors need their scale and zero point)")
        if t.layout != torch.strided or not t.is_contiguous() or getattr(t, "is_nested", False):
            raise ValueError(f"vramsnap: tensor {name!r} is not contiguous; pass t.contiguous()")
        if t.is_conj() or t.is_neg():
            # The memory holds the values before a lazy conj() or negation: capturing it would store those.
            raise ValueError(f"vramsnap: tensor {name!r} is a lazy conjugate or negative view; pass "
                             "t.resolve_conj().resolve_neg()")
        if t.device.type not in ("cpu", "cuda"):
            # Its data pointer is no host or CUDA address (meta has none at all).
            raise ValueError(f"vramsnap: tensor {name!r} is on device {t.device}; only CPU and CUDA tensors "
                             "can be captured")
        on_gpu = t.device.type == "cuda"
        # Weights are device data wherever they sit now: kind "device", so that
        # a CUDA restore places them on the GPU.
        items.append(_capture.Item(name, dtype, t.shape, t.data_ptr(), t.numel() * t.element_size(), KIND_DEVICE,
                                   t.device.index if on_gpu else -1, on_gpu))
    return items


def save_file(tensors, filename, metadata=None, key_file=None, labels=None, codec="auto", threads=0, **options):
    """Writes a dict of name -> tensor (a state_dict) as a snapshot. Tensors
    must be contiguous; tied tensors are stored once per name."""
    items = _items(tensors)
    all_labels = dict(metadata or {})
    all_labels.update(labels or {})
    for ordinal in sorted({it.device for it in items if it.on_device}):
        torch.cuda.synchronize(ordinal)  # the capture reads device memory on its own streams
    return _capture.write(filename, items, all_labels, key_file, codec, threads=threads, **options)


def _shape(region, count):
    if region.shape:
        return tuple(region.shape)
    if region.labels.get("rank") == "0" and count == 1:
        return ()
    return (count,)


def _typed(region, data):
    """A tensor of the region's type on its bytes (uint8 numpy view or device bytes)."""
    dtype = _TO_TORCH.get(region.dtype)
    if isinstance(data, DeviceBytes):
        t = torch.as_tensor(data)  # on the library's memory, on the GPU that holds it
    else:
        t = torch.from_numpy(data)
    if dtype is None:
        return t
    size = torch.empty((), dtype=dtype).element_size()
    if region.size % size:
        return t
    shape = _shape(region, region.size // size)
    if region.size == 0:
        return torch.empty(shape, dtype=dtype, device=t.device)
    return t.view(dtype).reshape(shape)


def _device_ordinal(device):
    device = torch.device(device)
    if device.type == "cpu":
        return None
    if device.type != "cuda":
        raise ValueError(f"vramsnap: device must be 'cpu' or 'cuda:N', not {device}")
    if device.index is not None:
        return device.index
    return torch.cuda.current_device() if torch.cuda.is_available() else 0


def load_file(filename, device="cpu", key_file=None, allow_unsealed=False, public_key_files=(), regions=None,
              threads=0, max_host_bytes=None, device_map=None, verify_on=None, **remote):
    """Restores a state_dict: name -> tensor on `device` ("cpu" or "cuda:N"),
    every chunk verified under the seal before any tensor exists. With
    "cuda:N": device_map ({recorded GPU: GPU here} or "SRC:DST,...") sends
    each region to its GPU, and verify_on ("auto", "host", "device") says
    where hashes are checked, as vramsnap(1)'s --device-map and --verify-on.
    remote: vramsnap.open's settings for URLs."""
    ordinal = _device_ordinal(device)
    snap, mine = _restore.opened(filename, remote)
    try:
        key, trusted = _keys.for_checking(key_file, public_key_files)
        placed = _restore.restore(snap, key, trusted, allow_unsealed, threads, regions, device=ordinal,
                                  max_host_bytes=max_host_bytes, device_map=device_map, verify_on=verify_on)
        out = {}
        for r, data in placed:
            t = _typed(r, data)
            # Regions the library kept in host memory (not device regions) move over.
            out[r.name] = t if ordinal is None or t.is_cuda else t.to(f"cuda:{ordinal}")
        return out
    finally:
        if mine:
            snap.close()


def load_stream(filename, key_file=None, allow_unsealed=False, public_key_files=(), order=None, regions=None,
                threads=0, max_host_bytes=None, **remote):
    """Yields (name, CPU tensor) as each region is verified and placed, in
    `order` (names or indices; the rest in file order), so a server can start
    on the first layers while the rest arrive."""
    yield from _restore.stream_file(filename, _typed, key_file, allow_unsealed, public_key_files, order, regions,
                                    threads, max_host_bytes, remote)
