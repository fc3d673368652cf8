"""MNIST's IDX file format, read and written by lmlab (gzip-compressed or not).

An IDX file is a 4-byte magic number, one big-endian 32-bit size per dimension, then the values, big-endian,
row-major::

    00 00 08 03 | 00 00 27 10 | 00 00 00 1c | 00 00 00 1c | 10,000 x 28 x 28 unsigned bytes
    zero  type ndim   10,000          28            28

The type byte is 0x08 (unsigned byte), 0x09 (signed byte), 0x0B (int16), 0x0C (int32), 0x0D (float32) or 0x0E
(float64). A file whose magic is wrong, or whose length is not what its header promises (truncated, or with bytes
after the data), is refused with one line naming the file and the expected size.

References: LeCun, Cortes & Burges, "The MNIST database of handwritten digits" (the format's description).
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

from lmlab.errors import LmlabError

DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}  # fmt: skip
CODES = {np.dtype(v).newbyteorder("="): k for k, v in DTYPES.items()}
MAX_ELEMENTS = 2**31  # far above MNIST's 47 million pixels; a damaged header cannot ask for more
GZIP_MAGIC = b"\x1f\x8b"


def _read_all(path: Path) -> bytes:
    with open(path, "rb") as f:
        head = f.read(2)
    if head == GZIP_MAGIC:
        try:
            with gzip.open(path, "rb") as f:
                return f.read(MAX_ELEMENTS + 64)
        except (OSError, EOFError, zlib.error) as e:
            raise LmlabError(f"{path}: not a valid gzip file ({e})") from None
    return path.read_bytes()


def parse_idx(data: bytes, where: str = "IDX data") -> np.ndarray:
    """The array in the bytes of an IDX file.

    >>> parse_idx(bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6])).tolist()
    [[1, 2, 3], [4, 5, 6]]
    >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]), "labels")
    Traceback (most recent call last):
    ...
    lmlab.errors.LmlabError: labels: truncated IDX file: its header (5 unsigned bytes) needs 13 bytes, found 10
    """
    if len(data) < 4:
        raise LmlabError(f"{where}: not an IDX file ({len(data)} bytes; an IDX file starts with 4 magic bytes)")
    zero, code, ndim = data[:2], data[2], data[3]
    if zero != b"\x00\x00" or code not in DTYPES or not 1 <= ndim <= 4:
        raise LmlabError(
            f"{where}: not an IDX file (magic number {data[:4].hex()}; expected 0000 then a type byte "
            f"08/09/0b/0c/0d/0e and 1 to 4 dimensions, e.g. 00000803 for images, 00000801 for labels)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise LmlabError(f"{where}: truncated IDX file: {len(data)} bytes, shorter than its {header}-byte header")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    count = int(np.prod(dims, dtype=np.int64))
    if count > MAX_ELEMENTS:
        raise LmlabError(f"{where}: the header asks for {count:,} values (dimensions {dims}); at most {MAX_ELEMENTS:,}")
    dtype = DTYPES[code]
    expected = header + count * dtype.itemsize
    if len(data) != expected:
        what = "truncated IDX file" if len(data) < expected else "IDX file with bytes after its data"
        shape = " x ".join(map(str, dims))
        name = {0x08: "unsigned bytes"}.get(code, f"values of {dtype.itemsize} bytes")
        raise LmlabError(f"{where}: {what}: its header ({shape} {name}) needs {expected:,} bytes, found {len(data):,}")
    return np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in an IDX file (gzip-compressed or not)."""
    path = Path(path)
    if not path.is_file():
        raise LmlabError(f"{path}: no such IDX file")
    return parse_idx(_read_all(path), str(path))


def idx_bytes(array: np.ndarray) -> bytes:
    """The bytes of an IDX file holding ``array``.

    >>> idx_bytes(np.array([7, 2], dtype=np.uint8)).hex()
    '00000801000000020702'
    """
    array = np.asarray(array)
    code = CODES.get(array.dtype.newbyteorder("="))
    if code is None or not 1 <= array.ndim <= 4:
        raise LmlabError(f"IDX stores 1 to 4 dimensions of uint8/int8/int16/int32/float32/float64, got {array.dtype} "
                         f"with {array.ndim}")  # fmt: skip
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=DTYPES[code]).tobytes()


def write_idx(path: str | os.PathLike, array: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed when ``compress``, by default when the name ends in .gz)."""
    path = Path(path)
    data = idx_bytes(array)
    if compress if compress is not None else path.suffix == ".gz":
        data = gzip.compress(data, mtime=0)
    from lmlab.io import atomic_open

    with atomic_open(path, "wb") as f:
        f.write(data)
    return path


__all__ = ["idx_bytes", "parse_idx", "read_idx", "write_idx"]
