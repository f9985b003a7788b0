"""safetensors_np.py - a minimal safetensors writer and reader in NumPy.

Layout: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON
    {"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...,
     "__metadata__": {"k": "v"}}
(padded with spaces to a multiple of 8), then the data buffer.  Offsets are
relative to the start of the data buffer; tensors are row-major little-endian.

Only the standard library and NumPy are used, so this is independent of the
C engine's own reader.
"""
import json
import struct

import numpy as np

# dtype name -> (little-endian numpy dtype of the stored words, bytes per item)
_STORE = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("u1"),
}


def f32_to_bf16_bits(x):
    """float32 -> bfloat16 bit patterns (uint16): the top 16 bits of the
    float32, rounded to nearest with ties to even; NaN stays a (quiet) NaN."""
    a = np.ascontiguousarray(np.asarray(x, dtype=np.float32))
    u = a.view(np.uint32).astype(np.uint64)
    lsb = (u >> np.uint64(16)) & np.uint64(1)
    r = (u + np.uint64(0x7FFF) + lsb) >> np.uint64(16)
    r = r.astype(np.uint16)
    nan = np.isnan(a)
    if nan.any():
        r[nan] = ((u[nan] >> np.uint64(16)).astype(np.uint16)) | np.uint16(0x0040)
    return r


def bf16_bits_to_f32(bits):
    """bfloat16 bit patterns (uint16) -> float32 (exact)."""
    b = np.asarray(bits, dtype=np.uint16)
    return (b.astype(np.uint32) << np.uint32(16)).view(np.float32)


def round_to_dtype(x, dtype):
    """The values a float array takes once stored as dtype, as float64."""
    x = np.asarray(x)
    if dtype == "F32":
        return x.astype(np.float32).astype(np.float64)
    if dtype == "F16":
        return x.astype(np.float32).astype(np.float16).astype(np.float64)
    if dtype == "BF16":
        return bf16_bits_to_f32(f32_to_bf16_bits(x)).astype(np.float64)
    if dtype == "F64":
        return x.astype(np.float64)
    raise ValueError("round_to_dtype: unsupported dtype %r" % dtype)


def _encode(arr, dtype):
    arr = np.asarray(arr)
    if dtype == "BF16":
        words = f32_to_bf16_bits(arr)
    elif dtype == "F16":
        # via float32, as a float32 checkpoint converted to half would be
        words = arr.astype(np.float32).astype(_STORE[dtype])
    elif dtype in _STORE:
        words = arr.astype(_STORE[dtype])
    else:
        raise ValueError("unsupported dtype %r" % dtype)
    return np.ascontiguousarray(words).astype(_STORE[dtype], copy=False).tobytes()


def save(path, tensors, metadata=None):
    """Write a safetensors file.

    tensors: dict name -> (array, dtype) or name -> array (stored as F32).
    metadata: optional dict of str -> str for "__metadata__".
    Tensors are laid out in the order given."""
    header = {}
    blobs = []
    off = 0
    for name, val in tensors.items():
        if isinstance(val, tuple):
            arr, dtype = val
        else:
            arr, dtype = val, "F32"
        arr = np.asarray(arr)
        blob = _encode(arr, dtype)
        header[name] = {"dtype": dtype, "shape": [int(s) for s in arr.shape],
                        "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((-len(hj)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def load(path, as_float64=True):
    """Read a safetensors file.

    Returns (tensors, metadata, dtypes): tensors maps name -> ndarray (float
    dtypes converted to float64 when as_float64, else to float32 for F16/BF16),
    metadata is the "__metadata__" dict or {}, dtypes maps name -> dtype str.
    The header is checked: offsets in range, contiguous, sized to the shape."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("%s: too short for a safetensors header" % path)
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        raise ValueError("%s: header length %d beyond file size" % (path, n))
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = memoryview(raw)[8 + n:]
    metadata = header.pop("__metadata__", {}) or {}
    tensors, dtypes = {}, {}
    spans = []
    for name, info in header.items():
        dtype = info["dtype"]
        shape = [int(s) for s in info["shape"]]
        b, e = (int(v) for v in info["data_offsets"])
        if dtype not in _STORE:
            raise ValueError("%s: tensor %s: unknown dtype %s" % (path, name, dtype))
        numel = 1
        for s in shape:
            if s < 0:
                raise ValueError("%s: tensor %s: negative dim" % (path, name))
            numel *= s
        if not (0 <= b <= e <= len(data)) or e - b != numel * _STORE[dtype].itemsize:
            raise ValueError("%s: tensor %s: bad data_offsets %r" % (path, name, [b, e]))
        spans.append((b, e))
        words = np.frombuffer(data[b:e], dtype=_STORE[dtype]).reshape(shape)
        if dtype == "BF16":
            arr = bf16_bits_to_f32(words)
        elif dtype == "BOOL":
            arr = words.astype(bool)
        else:
            arr = words.copy()
        if as_float64 and dtype in ("F32", "F16", "BF16", "F64"):
            arr = arr.astype(np.float64)
        elif dtype in ("F16", "BF16"):
            arr = arr.astype(np.float32)
        tensors[name] = arr
        dtypes[name] = dtype
    spans.sort()
    pos = 0
    for b, e in spans:
        if b != pos:
            raise ValueError("%s: data buffer has a gap or overlap at %d" % (path, b))
        pos = e
    if pos != len(data):
        raise ValueError("%s: %d trailing bytes after the last tensor" % (path, len(data) - pos))
    return tensors, metadata, dtypes
