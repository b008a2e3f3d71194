"""The .safetensors format, read and written with NumPy alone (so a lesson's weights load
without any extra installed): 8 bytes, the little-endian length of a JSON header; the header,
{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}};
then the tensors' bytes, little-endian, C order. Every offset and size is checked before a
tensor is read; no code is ever run (unlike a pickled .pt file).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..atomic import write_atomically
from .graph import InteropError

DTYPES = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}
NAMES = {np.dtype(v): k for k, v in DTYPES.items()}
MAX_HEADER_BYTES = 100 * 2**20  # the format's own limit


def dumps(tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> bytes:
    header: dict = {"__metadata__": dict(metadata)} if metadata else {}
    chunks, offset = [], 0
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        if dtype not in NAMES:
            raise InteropError(f"{name}: {array.dtype} cannot be written to .safetensors")
        data = array.astype(dtype).tobytes()
        header[name] = {
            "dtype": NAMES[dtype],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the tensors start 8-byte aligned
    return len(text).to_bytes(8, "little") + text + b"".join(chunks)


def save(path: Path, tensors: dict[str, np.ndarray], metadata: dict | None = None) -> Path:
    data = dumps(tensors, metadata)
    return write_atomically(path, lambda handle: handle.write(data))


def loads(data: bytes, where: str = "the file") -> dict[str, np.ndarray]:
    """The tensors of a .safetensors file's bytes, every entry checked."""
    if len(data) < 8:
        raise InteropError(f"{where}: too short to be a .safetensors file")
    size = int.from_bytes(data[:8], "little")
    if size > min(MAX_HEADER_BYTES, len(data) - 8):
        raise InteropError(f"{where}: its header claims {size:,} bytes; the file is shorter")
    try:
        header = json.loads(data[8 : 8 + size])
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InteropError(f"{where}: its header is not JSON: {err}") from None
    if not isinstance(header, dict):
        raise InteropError(f"{where}: its header is not a table of tensors")
    body = memoryview(data)[8 + size :]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        tensors[name] = _tensor(body, name, entry, where)
    return tensors


def _tensor(body: memoryview, name: str, entry, where: str) -> np.ndarray:
    try:
        dtype = np.dtype(DTYPES[entry["dtype"]])
        shape = tuple(int(s) for s in entry["shape"])
        begin, end = (int(v) for v in entry["data_offsets"])
    except (KeyError, TypeError, ValueError):
        raise InteropError(
            f"{where}: {name!r} is not an entry of dtype, shape and data_offsets "
            f"(dtypes: {', '.join(DTYPES)})"
        ) from None
    if any(s < 0 for s in shape) or not 0 <= begin <= end <= len(body):
        raise InteropError(f"{where}: {name!r} points outside the file")
    if (end - begin) != math.prod(shape) * dtype.itemsize:
        raise InteropError(f"{where}: {name!r} has {end - begin} bytes for {dtype} {shape}")
    return (
        np.frombuffer(body[begin:end], dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
    )
