"""dtype names of the format (formats/snapshot-v1.md 7.4) and their numpy and
torch counterparts. Types numpy lacks (bf16, the 8-bit floats) travel
through numpy as unsigned integers of the same width: their raw bits."""

import numpy as np

# format name -> (numpy dtype holding its bits, element size)
NUMPY = {
    "bool": (np.bool_, 1), "u8": (np.uint8, 1), "i8": (np.int8, 1),
    "u16": (np.uint16, 2), "i16": (np.int16, 2), "f16": (np.float16, 2),
    "u32": (np.uint32, 4), "i32": (np.int32, 4), "f32": (np.float32, 4),
    "u64": (np.uint64, 8), "i64": (np.int64, 8), "f64": (np.float64, 8),
    "c64": (np.complex64, 8), "c128": (np.complex128, 16),
    # no numpy type of their own: the raw bits
    "bf16": (np.uint16, 2), "f8_e4m3": (np.uint8, 1), "f8_e5m2": (np.uint8, 1),
}

# numpy dtype -> format name (the ones numpy has)
FROM_NUMPY = {np.dtype(t): name for name, (t, _) in NUMPY.items()
              if name not in ("bf16", "f8_e4m3", "f8_e5m2")}


def numpy_name(dtype):
    dtype = np.dtype(dtype)
    name = FROM_NUMPY.get(dtype)
    if name is None and not dtype.isnative and FROM_NUMPY.get(dtype.newbyteorder("=")):
        raise TypeError(f"vramsnap: numpy dtype {dtype} is big-endian and the format stores little-endian "
                        "values; pass a.astype(a.dtype.newbyteorder('<'))")
    if name is None:
        raise TypeError(f"vramsnap: numpy dtype {np.dtype(dtype)} has no name in the snapshot format")
    return name


def torch_tables(torch):
    """(format name -> torch dtype, torch dtype -> format name) for the torch
    at hand: every dtype it has that holds plain values (quantized types,
    which need a scale and a zero point, are refused)."""
    pairs = [("bool", "bool"), ("u8", "uint8"), ("i8", "int8"), ("i16", "int16"), ("i32", "int32"),
             ("i64", "int64"), ("f16", "float16"), ("bf16", "bfloat16"), ("f32", "float32"), ("f64", "float64"),
             ("c64", "complex64"), ("c128", "complex128"), ("c32", "complex32"),
             ("u16", "uint16"), ("u32", "uint32"), ("u64", "uint64"),
             ("f8_e4m3", "float8_e4m3fn"), ("f8_e5m2", "float8_e5m2")]
    to_torch = {}
    for name, attr in pairs:
        t = getattr(torch, attr, None)
        if isinstance(t, torch.dtype):
            to_torch[name] = t
    return to_torch, {t: n for n, t in to_torch.items()}
