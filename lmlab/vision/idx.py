"""MNIST's IDX file format, read and written by lmlab (gzip-compressed or not).

An IDX file is a 4-byte magic number, one big-endian 32-bit size per dimension, then the values, big-endian,
row-major::

    00 00 08 03 | 00 00 27 10 | 00 00 00 1c | 00 00 00 1c | 10,000 x 28 x 28 unsigned bytes
    zero  type ndim   10,000          28            28

The type byte is 0x08 (unsigned byte), 0x09 (signed byte), 0x0B (int16), 0x0C (int32), 0x0D (float32) or 0x0E
(float64). A file whose magic is wrong, or whose length is not what its header promises (truncated, or with bytes
after the data), is refused with one line naming the file and the expected size. The file is untrusted: its
header is checked against a limit (:data:`MAX_DATA_BYTES`) before anything is allocated, and a gzip stream is
decompressed only up to the size its header promises, so a small file that expands to gigabytes costs no more.

References: LeCun, Cortes & Burges, "The MNIST database of handwritten digits" (the format's description).
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from lmlab.errors import LmlabError
from lmlab.runfiles import open_regular

DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
          0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}  # fmt: skip
CODES = {np.dtype(v).newbyteorder("="): k for k, v in DTYPES.items()}
MAX_ELEMENTS = 2**31  # far above MNIST's 47 million pixels; a damaged header cannot ask for more
MAX_DATA_BYTES = 2**30  # of values: 20 times MNIST's 47 MB of training images, EMNIST's 550 MB fits
GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 20  # bytes decompressed at a time


@dataclass(frozen=True)
class IdxHeader:
    """What an IDX header says: the values' type, the dimensions, and the bytes of header and data."""

    dtype: np.dtype
    dims: tuple[int, ...]
    size: int  # bytes of the header itself: 4 + 4 ndim

    @property
    def data_bytes(self) -> int:
        return math.prod(self.dims) * self.dtype.itemsize

    def describe(self) -> str:
        """``3 x 28 x 28 unsigned bytes``, for messages."""
        name = "unsigned bytes" if self.dtype == DTYPES[0x08] else f"values of {self.dtype.itemsize} bytes"
        return f"{' x '.join(map(str, self.dims))} {name}"


def parse_header(head: bytes, where: str, *, limit: int = MAX_DATA_BYTES) -> IdxHeader:
    """The header at the start of ``head`` (the magic number, then one size per dimension), checked against the
    format and against ``limit`` bytes of data, before anything is allocated.

    >>> parse_header(bytes.fromhex("00000803" "00002710" "0000001c" "0000001c"), "t10k-images").dims
    (10000, 28, 28)
    >>> parse_header(bytes.fromhex("00000803" "0000ea60" "0000ea60" "0000ea60"), "x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lmlab.errors.LmlabError: x: the header asks for 216,000,000,000,000 values (dimensions (60000, 60000, 60000)); ...
    """
    if len(head) < 4:
        raise LmlabError(f"{where}: not an IDX file ({len(head)} bytes; an IDX file starts with 4 magic bytes)")
    zero, code, ndim = head[:2], head[2], head[3]
    if zero != b"\x00\x00" or code not in DTYPES or not 1 <= ndim <= 4:
        raise LmlabError(
            f"{where}: not an IDX file (magic number {head[:4].hex()}; expected 0000 then a type byte "
            f"08/09/0b/0c/0d/0e and 1 to 4 dimensions, e.g. 00000803 for images, 00000801 for labels)"
        )
    size = 4 + 4 * ndim
    if len(head) < size:
        raise LmlabError(f"{where}: truncated IDX file: {len(head)} bytes, shorter than its {size}-byte header")
    dims = tuple(int.from_bytes(head[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    header = IdxHeader(DTYPES[code], dims, size)
    count = math.prod(dims)
    if count > MAX_ELEMENTS or header.data_bytes > limit:
        raise LmlabError(
            f"{where}: the header asks for {count:,} values (dimensions {dims}); at most {MAX_ELEMENTS:,} values "
            f"and {limit:,} bytes are read"
        )
    return header


def _length_error(where: str, header: IdxHeader, found: int | None) -> LmlabError:
    """The file holds ``found`` bytes (header included; None: more than its header needs, as a stream that goes
    on is found to) where its header needs another number."""
    expected = header.size + header.data_bytes
    if found is not None and found < expected:
        what, shown = "truncated IDX file", f"{found:,}"
    else:
        what, shown = "IDX file with bytes after its data", "more" if found is None else f"{found:,}"
    return LmlabError(f"{where}: {what}: its header ({header.describe()}) needs {expected:,} bytes, found {shown}")


def parse_idx(data: bytes, where: str = "IDX data") -> np.ndarray:
    """The array in the bytes of an IDX file.

    >>> parse_idx(bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6])).tolist()
    [[1, 2, 3], [4, 5, 6]]
    >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]), "labels")
    Traceback (most recent call last):
    ...
    lmlab.errors.LmlabError: labels: truncated IDX file: its header (5 unsigned bytes) needs 13 bytes, found 10
    """
    header = parse_header(data[:20], where)
    if len(data) != header.size + header.data_bytes:
        raise _length_error(where, header, len(data))
    return _array(data[header.size :], header)


def _array(data: bytes | np.ndarray, header: IdxHeader) -> np.ndarray:
    """The values (big-endian in the file) in native byte order, shaped by the header."""
    values = np.frombuffer(data, dtype=header.dtype).reshape(header.dims)
    return values.astype(header.dtype.newbyteorder("="), copy=False)  # bytes need no copy; wider types do


def _read_exactly(stream: BinaryIO, header: IdxHeader, where: str) -> np.ndarray:
    """The header's data bytes from ``stream`` (after the header), read in chunks, and nothing more after them.

    The buffer is only reserved (``np.empty``): memory is used as values actually arrive, never more than the
    header's byte count (checked against a limit already), and one byte beyond it proves the stream longer, so a
    gzip bomb is stopped as soon as it expands past what its header promised.
    """
    data = np.empty(header.data_bytes, dtype=np.uint8)
    view = memoryview(data)
    got = 0
    while got < len(data):
        n = stream.readinto(view[got : got + CHUNK])
        if not n:
            raise _length_error(where, header, header.size + got)
        got += n
    if stream.read(1):
        raise _length_error(where, header, None)
    return data


def read_idx(path: str | os.PathLike, *, limit: int = MAX_DATA_BYTES) -> np.ndarray:
    """The array stored in an IDX file (gzip-compressed or not), at most ``limit`` bytes of values.

    The file is untrusted: it must be a regular file (a FIFO or a device is refused without blocking), its
    header is read first and checked against ``limit`` and, for a plain file, against the file's size; a gzip
    stream is decompressed in chunks up to exactly the size its header promises, so a small file that expands
    to gigabytes is refused after reading no more than that.
    """
    path = Path(path)
    with open_regular(path, missing=f"{path}: no such IDX file") as f:
        if f.read(2) == GZIP_MAGIC:
            f.seek(0)
            try:
                with gzip.GzipFile(fileobj=f, mode="rb") as stream:
                    return _read_stream(stream, str(path), limit, file_size=None)
            except (OSError, EOFError, zlib.error) as e:
                raise LmlabError(f"{path}: not a valid gzip file ({e})") from None
        f.seek(0)
        return _read_stream(f, str(path), limit, file_size=os.fstat(f.fileno()).st_size)


def _read_stream(stream: BinaryIO, where: str, limit: int, file_size: int | None) -> np.ndarray:
    head = stream.read(4)
    if len(head) == 4 and 1 <= head[3] <= 4:
        head += stream.read(4 * head[3])
    header = parse_header(head, where, limit=limit)
    if file_size is not None and file_size != header.size + header.data_bytes:
        raise _length_error(where, header, file_size)  # a plain file's size is known before anything is read
    return _array(_read_exactly(stream, header, where), header)


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


__all__ = ["IdxHeader", "idx_bytes", "parse_header", "parse_idx", "read_idx", "write_idx"]
