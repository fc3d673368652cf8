"""Reading an n-gram model file without NumPy: its header checked, its layout, the file mapped read-only.

The format (version 2; version 1 files are read too) is documented in :mod:`lmlab.lm.ngram.binary`, which writes
it and turns a mapping into NumPy views for the model in Python; ``lmlab eval`` on a run with a model file reads it
through this module alone and hands the mapped arrays (as memoryviews) to the compiled scorer, so that it starts
without importing NumPy.
"""

from __future__ import annotations

import math
import mmap
import os
import struct
import sys
import zlib

from lmlab.errors import LmlabError
from lmlab.runfiles import open_regular

#: A run's model file (runs written before model files hold ``model.safetensors``, read by the model class)
WEIGHTS_FILE = "model.ngram"
MAGIC = b"LMLABNGR"
#: the version written; every version in READ_VERSIONS is read (version 1: power-of-two hash tables 1/3 to 2/3 full,
#: every slot 32 bytes; version 2: tables 2/3 full, the highest order's slots 16 bytes)
VERSION = 2
READ_VERSIONS = (1, 2)
#: the orders a header has room for (n_1 .. n_10)
MAX_ORDER = 10
HEADER = struct.Struct(f"<8sIIQd{MAX_ORDER}QII8x")
HEADER_BYTES = 128
ALIGN = 64
assert HEADER.size == HEADER_BYTES


def slot_count(n: int, version: int = VERSION) -> int:
    """Slots of the hash table of n keys: version 2, ``n + n // 2 + 1`` (at most 2/3 full, at least one empty);
    version 1, a power of two at least 1.5 n + 1 (1/3 to 2/3 full).

    >>> slot_count(0), slot_count(2), slot_count(1000), slot_count(1000, version=1)
    (1, 4, 1501, 2048)
    """
    if version == 1:
        return 1 << max(1, math.ceil(math.log2(1.5 * n + 1)))
    return n + n // 2 + 1


def slot_width(k: int, order: int, version: int = VERSION) -> int:
    """8-byte fields a slot of order k's hash table holds: (key, row, logp, bow), or, in version 2 for the highest
    order, (key, logp): its n-grams are never a context, so neither their row nor their back-off is looked up.

    >>> slot_width(2, 3), slot_width(3, 3), slot_width(3, 3, version=1)
    (4, 2, 4)
    """
    return 2 if version >= 2 and k == order else 4


def _align(offset: int) -> int:
    return -(-offset // ALIGN) * ALIGN


def layout(sizes: list[int], version: int = VERSION) -> tuple[list[tuple[str, int, int, str]], int]:
    """(name, offset, count, dtype) of every array, and the file's length, from the n-gram counts.

    >>> arrays, length = layout([5, 3])
    >>> [f"{name}@{offset}" for name, offset, _, _ in arrays]
    ['keys.1@128', 'logp.1@192', 'bow.1@256', 'keys.2@320', 'logp.2@384', 'bow.2@448', 'slots.2@512']
    >>> length  # slots.2: slot_count(3) = 5 slots of 16 bytes (the highest order's), 80 bytes padded to 128
    640
    >>> layout([5, 3], version=1)[1]  # slots.2: 8 slots of 32 bytes
    768
    """
    arrays = []
    offset = HEADER_BYTES
    for k, n in enumerate(sizes, start=1):
        for name, dtype in (("keys", "<i8"), ("logp", "<f8"), ("bow", "<f8")):
            offset = _align(offset)
            arrays.append((f"{name}.{k}", offset, n, dtype))
            offset += 8 * n
    for k in range(2, len(sizes) + 1):
        offset = _align(offset)
        count = slot_width(k, len(sizes), version) * slot_count(sizes[k - 1], version)
        arrays.append((f"slots.{k}", offset, count, "<i8"))
        offset += 8 * count
    return arrays, _align(offset)


def read_header(path: str | os.PathLike, data: bytes, file_size: int) -> tuple[int, int, int, list[int], float]:
    """Check a model file's header against its length; returns version, order, vocabulary size, sizes,
    missing-context weight. Every refusal is one LmlabError naming the file.

    >>> read_header("m.ngram", b"LMLABNGR" + bytes(120), 128)
    Traceback (most recent call last):
    ...
    lmlab.errors.LmlabError: m.ngram: n-gram model file version 0; this lmlab reads versions 1 and 2
    """
    if len(data) < HEADER_BYTES:
        raise LmlabError(f"{path}: {file_size} bytes is shorter than an n-gram model file's {HEADER_BYTES}-byte header")
    magic, version, order, vocab_size, mcb, *rest = HEADER.unpack(data[:HEADER_BYTES])
    sizes, crc = list(rest[:MAX_ORDER]), rest[MAX_ORDER + 1]
    if magic != MAGIC:
        raise LmlabError(f"{path}: not an lmlab n-gram model file (no {MAGIC.decode()} header)")
    if version not in READ_VERSIONS:
        versions = " and ".join(map(str, READ_VERSIONS))
        hint = "; a newer lmlab wrote it" if version > VERSION else ""
        raise LmlabError(f"{path}: n-gram model file version {version}; this lmlab reads versions {versions}{hint}")
    if zlib.crc32(data[:116]) != crc:
        raise LmlabError(f"{path}: header checksum does not match (the file is damaged)")
    if not 1 <= order <= MAX_ORDER or sizes[0] != vocab_size or any(sizes[order:]):
        raise LmlabError(f"{path}: header holds an impossible order {order} or sizes {sizes}")
    if not math.isfinite(mcb):
        raise LmlabError(f"{path}: header holds a missing-context weight {mcb} that is not finite")
    sizes = sizes[:order]
    if any(n > file_size // 8 for n in sizes):  # also keeps the layout's arithmetic small
        raise LmlabError(
            f"{path}: {file_size:,} bytes, too short for the {max(sizes):,} n-grams its header declares (truncated)"
        )
    _, length = layout(sizes, version)
    if length != file_size:
        what = "truncated" if file_size < length else "longer than its tables"
        raise LmlabError(f"{path}: {file_size:,} bytes, but its header declares {length:,} ({what})")
    return version, order, vocab_size, sizes, mcb


def effective_order(sizes: list[int]) -> int:
    """The highest order up to which every table holds n-grams (see :func:`lmlab.lm.ngram.model.effective_order`,
    the same from the tables themselves).

    >>> effective_order([4, 2, 1, 0])
    3
    """
    for k, n in enumerate(sizes[1:], start=2):
        if n == 0:  # an n-gram's prefix is stored one order down, so every order above is empty too
            return k - 1
    return len(sizes)


def lower_order_note(order: int, effective: int) -> str:
    """The warning for a model whose highest orders are empty."""
    return (
        f"the order-{order} n-gram model has no n-grams of order {effective + 1} or more (no line is that long, "
        f"counting <s> and </s>): it scores as an order-{effective} model"
    )


class ModelFile:
    """A model file mapped read-only, its header checked against its length (nothing else is read).

    ``arrays`` gives each array's (offset, count, dtype) by name (``keys.1``, ``logp.1``, ..., ``slots.N``), as
    :func:`layout` lays them out; :meth:`view` is an array's bytes as a memoryview of the mapping.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = path
        if sys.byteorder != "little":  # pragma: no cover - every platform lmlab runs on is little-endian
            raise LmlabError(f"{self.path}: n-gram model files are little-endian; this machine is not")
        with open_regular(self.path, missing=f"{self.path} not found") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(HEADER_BYTES)
            self.version, self.order, self.vocab_size, self.sizes, self.missing_context_bow = read_header(
                self.path, head, size
            )
            self.mapping = mmap.mmap(f.fileno(), size, access=mmap.ACCESS_READ)
        arrays, _ = layout(self.sizes, self.version)
        self.arrays = {name: (offset, count, dtype) for name, offset, count, dtype in arrays}

    def prefer_huge_pages(self) -> None:
        """Ask for the mapping in 2 MiB pages (Linux's ``MADV_HUGEPAGE``; where it has none, or transparent huge
        pages are off, nothing changes), before most of it is read at random (scoring a text through it).

        Where the file is not in the page cache yet, each fault then reads 2 MiB of it, in one 2 MiB page, and
        maps it whole: PTB's 5-gram file (148 MB) scored its test text in 55 ms from a cold cache instead of 120.
        The pages stay in the cache as they were read, so later runs map them 2 MiB at a time as well: scoring
        then took 12 ms instead of 21, and unmapping 0.05 ms instead of 8 (a 2 MiB entry for 512 small ones,
        fewer TLB misses). A file just written is mostly in such pages already."""
        advice = getattr(mmap, "MADV_HUGEPAGE", None)
        if advice is None:  # pragma: no cover - not Linux
            return
        try:
            self.mapping.madvise(advice)
        except OSError:  # pragma: no cover - a kernel without transparent huge pages (EINVAL): small pages
            return

    def view(self, name: str) -> memoryview:
        """The bytes of array ``name`` (``count * 8`` of them), a view of the mapping."""
        offset, count, _ = self.arrays[name]
        return memoryview(self.mapping)[offset : offset + 8 * count]


def check_model_file(
    path: str | os.PathLike, order: int, vocab_size: int, expected_order: int, expected_vocab: int
) -> None:
    """The file's order and vocabulary size against the run's ``config.json`` and tokenizer: one LmlabError line
    otherwise."""
    if order != expected_order:
        raise LmlabError(f"{path}: holds an order-{order} model, config.json says {expected_order}")
    if vocab_size != expected_vocab:
        raise LmlabError(f"{path}: holds a vocabulary of {vocab_size:,}, the run's tokenizer has {expected_vocab:,}")


def check_bos_unigram(path: str | os.PathLike, log10_p: float) -> None:
    """``<s>`` is a context, never predicted: a model file stores log10 p = -inf for it, and one that does not is
    damaged (a model in memory sets it; a mapped file is read-only)."""
    if log10_p != -math.inf:
        raise LmlabError(f"{path}: the unigram <s> has log10 p {log10_p}, not -inf (the file is damaged)")


__all__ = [
    "ALIGN",
    "HEADER",
    "HEADER_BYTES",
    "MAGIC",
    "MAX_ORDER",
    "READ_VERSIONS",
    "VERSION",
    "WEIGHTS_FILE",
    "ModelFile",
    "check_bos_unigram",
    "check_model_file",
    "effective_order",
    "layout",
    "lower_order_note",
    "read_header",
    "slot_count",
    "slot_width",
]
