"""Tensors to and from safetensors files: written atomically, checked on reading, never pickled.

The header of each file carries a sha256 of the tensors' bytes, so a file that was cut short, overwritten or
bit-flipped is reported as corrupted instead of loading as wrong numbers. Tensors are written from the CPU and read
onto the CPU, whatever device held them.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import torch
from torch import Tensor

from lmlab.errors import LmlabError
from lmlab.io import atomic_open

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


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file's header (no tensors are read)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
    except FileNotFoundError:
        raise LmlabError(f"{path} not found") from None
    except (struct.error, ValueError, UnicodeDecodeError, MemoryError, OverflowError) as e:
        raise LmlabError(f"{path}: corrupted or truncated safetensors file ({type(e).__name__})") from None
    return dict(header.get("__metadata__") or {})


def load_tensors(path: str | Path) -> dict[str, Tensor]:
    """The tensors of a file written by :func:`save_tensors`, on the CPU; a damaged file is an LmlabError."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LmlabError(f"{path} not found") from None
    try:
        tensors = load(data)
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise LmlabError(f"{path}: corrupted or truncated safetensors file ({e})") from None
    expected = read_metadata(path).get(_HASH_KEY)
    if expected is not None and tensors_sha256(tensors) != expected:
        raise LmlabError(f"{path}: corrupted file (its tensors do not match the checksum written with them)")
    return tensors


__all__ = ["load_tensors", "read_metadata", "save_tensors", "tensors_sha256"]
