"""Tensors to and from safetensors files: written atomically, checked on reading, never pickled.

The header of each file carries a sha256 of the tensors' bytes, so a file that was cut short, overwritten or
bit-flipped is reported as corrupted instead of loading as wrong numbers. Tensors are written from the CPU and read
onto the CPU, whatever device held them.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from lmlab.errors import LmlabError
from lmlab.io import atomic_open
from lmlab.runfiles import (
    SAFETENSORS_DTYPE_SIZES,
    check_safetensors_shapes,
    read_safetensors_bytes,
    read_safetensors_header,
)

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
DTYPE_SIZES = SAFETENSORS_DTYPE_SIZES


def read_header(path: str | Path) -> dict[str, Any]:
    """The JSON header of a safetensors file, checked against the file's size (no tensor data is read): see
    :func:`lmlab.runfiles.read_safetensors_header`, which also refuses bytes after the last tensor."""
    h = read_safetensors_header(path)
    out: dict[str, Any] = {
        name: {"dtype": dtype, "shape": list(shape), "data_offsets": [begin, end]}
        for name, (dtype, shape, begin, end) in h.tensors.items()
    }
    out["__metadata__"] = dict(h.metadata)
    return out


def tensor_shapes(path: str | Path) -> dict[str, tuple[int, ...]]:
    """Each tensor's shape, from the header alone."""
    return read_safetensors_header(path).shapes()


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file's header (no tensors are read)."""
    return dict(read_safetensors_header(path).metadata)


def check_shapes(path: str | Path, expected: dict[str, tuple[int, ...]]) -> None:
    """An LmlabError naming the first tensor of the file ``path`` that is missing, unexpected or misshapen
    against ``expected`` (name -> shape); reads the header only."""
    check_safetensors_shapes(read_safetensors_header(path), expected)


def load_tensors(path: str | Path, expected: dict[str, tuple[int, ...]] | None = None) -> dict[str, Tensor]:
    """The tensors of a file written by :func:`save_tensors`, on the CPU; a damaged file is an LmlabError.

    The header is checked first (every byte accounted for; with ``expected``, every tensor's shape), so the
    bytes read are bounded by what the caller accepts.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load

    header, data = read_safetensors_bytes(path, expected)
    try:
        tensors = load(data)
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise LmlabError(f"{path}: corrupted or truncated safetensors file ({e})") from None
    checksum = header.metadata.get(_HASH_KEY)
    if checksum is not None and tensors_sha256(tensors) != checksum:
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
