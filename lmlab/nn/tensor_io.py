"""Tensors to and from safetensors files: written atomically, checked on reading, never pickled.

The header of each file carries a sha256 of the tensors' bytes, so a file that was cut short, overwritten or
bit-flipped is reported as corrupted instead of loading as wrong numbers. Tensors are written from the CPU and read
onto the CPU, whatever device held them.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from lmlab.errors import LmlabError
from lmlab.io import atomic_open
from lmlab.runfiles import open_regular, read_bytes

_HASH_KEY = "lmlab_sha256"


def tensors_sha256(tensors: dict[str, Tensor]) -> str:
    """Hash of names, dtypes, shapes and bytes, in name order.

    >>> tensors_sha256({"a": torch.zeros(2)}) == tensors_sha256({"a": torch.zeros(2)})
    True
    >>> tensors_sha256({"a": torch.zeros(2)}) == tensors_sha256({"a": torch.zeros(1, 2)})
    False
    """
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        if t.numel():
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def save_tensors(path: str | Path, tensors: dict[str, Tensor], metadata: dict[str, str] | None = None) -> None:
    """Write ``tensors`` as a safetensors file at ``path``, atomically, with their hash in the header."""
    from safetensors.torch import save

    cpu = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    meta = {**(metadata or {}), _HASH_KEY: tensors_sha256(cpu)}
    data = save(cpu, metadata=meta)
    with atomic_open(path, "wb") as f:
        f.write(data)


#: Bytes per element of each safetensors dtype.
DTYPE_SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2}
DTYPE_SIZES.update({"I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8})
#: Largest header read: names, dtypes, shapes and offsets of tens of thousands of tensors fit in far less.
MAX_HEADER_BYTES = 16 * 2**20


def read_header(path: str | Path) -> dict[str, Any]:
    """The JSON header of a safetensors file, checked against the file's size (no tensor data is read).

    The format: 8 bytes, the header's length n (little-endian); n bytes of JSON mapping each tensor's name to
    its ``dtype``, ``shape`` and ``data_offsets`` [begin, end) in the data that follows, plus ``__metadata__``.
    Each tensor's extent must equal its shape's element count times its dtype's size and lie inside the file,
    so a header that claims a huge tensor is refused here, before anything is allocated for it.
    """
    path = Path(path)
    with open_regular(path, missing=f"{path} not found") as f:
        size = os.fstat(f.fileno()).st_size
        raw = f.read(8)
        n = struct.unpack("<Q", raw)[0] if len(raw) == 8 else -1
        if not 2 <= n <= min(size - 8, MAX_HEADER_BYTES):
            raise LmlabError(f"{path}: corrupted or truncated safetensors file (header length {n}, file {size} bytes)")
        text = f.read(n)
    try:
        header = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise LmlabError(f"{path}: corrupted or truncated safetensors file ({type(e).__name__})") from None
    if not isinstance(header, dict):
        raise LmlabError(f"{path}: corrupted safetensors file (its header is not an object)")
    data_size = size - 8 - n
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise LmlabError(f"{path}: corrupted safetensors file (bad __metadata__)")
            continue
        ok = isinstance(entry, dict) and entry.get("dtype") in DTYPE_SIZES
        shape, offsets = (entry.get("shape"), entry.get("data_offsets")) if ok else (None, None)
        ok = ok and isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)
        ok = ok and isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)
        if not ok or not 0 <= offsets[0] <= offsets[1] <= data_size:
            raise LmlabError(f"{path}: corrupted or truncated safetensors file (tensor {name!r})")
        if offsets[1] - offsets[0] != math.prod(shape) * DTYPE_SIZES[entry["dtype"]]:
            raise LmlabError(f"{path}: corrupted safetensors file (tensor {name!r} has shape {shape}, not its size)")
    return header


def tensor_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Each tensor's shape, from the header alone."""
    return {k: tuple(v["shape"]) for k, v in read_header(path).items() if k != "__metadata__"}


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file's header (no tensors are read)."""
    return dict(read_header(path).get("__metadata__") or {})


def check_shapes(path: str | Path, expected: dict[str, tuple[int, ...]]) -> None:
    """An LmlabError naming the first tensor of the file ``path`` that is missing, unexpected or misshapen
    against ``expected`` (name -> shape); reads the header only."""
    found = tensor_shapes(path)
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    if missing or extra:
        raise LmlabError(
            f"{path}: the weights do not match the configuration "
            f"({'missing ' + ', '.join(missing[:3]) if missing else 'unexpected ' + ', '.join(extra[:3])})"
        )
    for name, shape in expected.items():
        if found[name] != tuple(shape):
            raise LmlabError(f"{path}: {name} has shape {found[name]}, the configuration needs {tuple(shape)}")


def load_tensors(path: str | Path) -> dict[str, Tensor]:
    """The tensors of a file written by :func:`save_tensors`, on the CPU; a damaged file is an LmlabError."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    metadata = read_metadata(path)
    data = read_bytes(path, missing=f"{path} not found")
    try:
        tensors = load(data)
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise LmlabError(f"{path}: corrupted or truncated safetensors file ({e})") from None
    expected = metadata.get(_HASH_KEY)
    if expected is not None and tensors_sha256(tensors) != expected:
        raise LmlabError(f"{path}: corrupted file (its tensors do not match the checksum written with them)")
    return tensors


__all__ = [
    "check_shapes",
    "load_tensors",
    "read_header",
    "read_metadata",
    "save_tensors",
    "tensor_shapes",
    "tensors_sha256",
]
