"""The n-gram model's binary file (``model.ngram`` in a run): its tables laid out to be memory-mapped, not read.

Loading maps the file and checks only its header (O(orders), whatever the model's size), so ``lmlab eval`` starts
scoring at once and a model larger than memory still scores: the pages the look-ups touch are read on demand.

Layout, version 2, little-endian::

    offset  size  field
    0       8     magic b"LMLABNGR"
    8       4     version (uint32) = 2
    12      4     order N (uint32), 1..10
    16      8     vocabulary size V (uint64) = n_1
    24      8     missing_context_bow (float64): log10 weight of a context never seen (stupid backoff, else 0)
    32      80    n_1 .. n_10 (uint64): n-grams per order (0 above N)
    112     4     reserved, 0
    116     4     CRC-32 of bytes 0..115
    120     8     reserved, 0

    then, each array starting at the next multiple of 64 bytes, in this order:
      for k = 1..N:  keys_k  (int64, n_k)      sorted keys, index(w_1..w_{k-1}) * V + w_k (order 1: 0..V-1)
                     logp_k  (float64, n_k)    log10 p of each n-gram
                     bow_k   (float64, n_k)    log10 back-off weight of each n-gram as a context
      for k = 2..N:  slots_k (W_k S_k x 8)     a hash table of the n-grams: S_k = n_k + n_k // 2 + 1 slots (at most
                                               2/3 full) of W_k = 4 fields (key int64, row int64, logp float64,
                                               bow float64) for k < N, and of W_N = 2 (key, logp) for the highest
                                               order, whose n-grams are never a context; key -1 where empty; key q
                                               sits at the first slot from mix(q) mod S_k on (linear probing, see
                                               :func:`hash_slots`)
    the file ends at the end of the last array, rounded up to a multiple of 64 bytes.

Version 1 (still read): S_k the power of two at least 1.5 n_k + 1 (tables 1/3 to 2/3 full) and W_k = 4 for every
order; the PTB 5-gram's file is 229 MiB in version 1, 142 MiB in version 2 (its hash tables 176 MiB, 89 MiB).
Version 2 stores the same numbers, bit for bit; the scorer's page faults and cache misses follow the tables' size.

The sorted arrays serve the numpy path and walks over a context's continuations; the hash tables serve the
compiled scorer, which finds an n-gram with its probability and back-off in about one cache miss instead of a
binary search and two more reads (KenLM's "probing" structure, Heafield 2011).

The header is checked on load (magic, version, checksum, order, sizes, and the file's length against the sizes),
so a truncated or foreign file is refused in one line before anything is mapped. The tables themselves are not
checksummed (that would read the whole file); the compiled scorer checks every row a hash slot gives against its
table and probes at most S_k slots, so a damaged table gives an error or wrong numbers, never a read outside the
file or a hang. The reading side (header, layout, mapping) is :mod:`lmlab.lm.ngram.modelfile`, which imports no
NumPy, so that ``lmlab eval`` starts without it.

References: Heafield 2011, "KenLM: Faster and Smaller Language Model Queries".
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lmlab.io import atomic_open
from lmlab.lm.ngram import counts, workers
from lmlab.lm.ngram.modelfile import (  # the reading side, without NumPy (lmlab eval reads the file through it)
    HEADER,
    MAGIC,
    MAX_ORDER,
    VERSION,
    ModelFile,
    layout,
    read_header,
    slot_count,
    slot_width,
)

assert MAX_ORDER == counts.MAX_ORDER


@dataclass
class BinaryTables:
    """The arrays of a model file (views of its mapping, or of memory when written)."""

    vocab_size: int
    keys: list[np.ndarray]
    logp: list[np.ndarray]
    bow: list[np.ndarray]
    slots: list[np.ndarray] | None  # slots[k-2]: the hash table of order k, k = 2..N (None: made as written)
    missing_context_bow: float = 0.0
    version: int = VERSION  # of the file the tables are mapped from (the slots' layout); files are written in VERSION


#: splitmix64's finaliser constants (Steele et al. 2014): every bit of the key moves every bit of the hash
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def mix(q: np.ndarray) -> np.ndarray:
    """The hash of int64 keys, as uint64 (the compiled scorer computes the same).

    >>> mix(np.array([0, 1, 2])).tolist()
    [0, 6238072747940578789, 15839785061582574730]
    """
    z = q.astype(np.uint64)
    z ^= z >> np.uint64(30)
    z *= _MIX1
    z ^= z >> np.uint64(27)
    z *= _MIX2
    z ^= z >> np.uint64(31)
    return z


def hash_slots(
    keys: np.ndarray, logp: np.ndarray, bow: np.ndarray, width: int = 4, version: int = VERSION
) -> np.ndarray:
    """The hash table of one order's sorted tables, as ``(slot_count(n), width)`` int64: (key, row, logp, bow), or
    for ``width`` 2 (the highest order's) (key, logp), the float64 values stored bit for bit; key -1 marks an empty
    slot. ``version`` 1 gives a version-1 file's table (power-of-two size, ``width`` 4).

    Linear probing, as if the n-grams were inserted one by one in order of home slot ``mix(key) mod S`` (ties: lower
    row first), each at the first free slot from its home on, past the end back to slot 0. In that order the slot
    of the i-th n-gram is ``max(home_i, slot_{i-1} + 1)``, i.e. ``i + cummax(home - i)``, so no loop is needed; the
    few that run past the end take the first free slots from the start. The layout depends only on the keys.

    >>> hash_slots(np.array([3, 7]), np.array([-0.5, -1.0]), np.zeros(2))[:, :2].tolist()
    [[3, 0], [7, 1], [-1, -1], [-1, -1]]
    >>> hash_slots(np.array([3, 7]), np.array([-0.5, -1.0]), np.zeros(2), width=2)[:2].view(np.float64)[:, 1].tolist()
    [-0.5, -1.0]
    """
    n = keys.size
    size = slot_count(n, version)
    slots = np.full((size, 4), -1, dtype=np.int64)
    if n == 0:
        return slots[:, :width].copy()
    home = (mix(keys) % np.uint64(size)).astype(np.int64)
    rows = np.argsort(home, kind="stable")  # by home slot, then row
    i = np.arange(n, dtype=np.int64)
    at = i + np.maximum.accumulate(home[rows] - i)
    past_end = at >= size
    if past_end.any():
        free = np.ones(size, dtype=bool)
        free[at[~past_end]] = False
        at[past_end] = np.flatnonzero(free)[: int(past_end.sum())]
    slots[at, 0] = keys[rows]
    slots[at, 1] = rows
    slots[at, 2] = np.ascontiguousarray(logp, np.float64)[rows].view(np.int64)
    slots[at, 3] = np.ascontiguousarray(bow, np.float64)[rows].view(np.int64)
    return _narrow(slots, width)


def _narrow(slots: np.ndarray, width: int) -> np.ndarray:
    """(key, row, logp, bow) slots as a table of ``width`` fields: all four, or (key, logp)."""
    return slots if width == 4 else np.ascontiguousarray(slots[:, [0, 2]])


#: Bytes the hash table writer holds per n-gram of a region, with the region's slots (1.5 to 3 a key, 32 bytes each)
#: and a counting sort's temporaries: the number of regions follows from the memory given.
HASH_WRITE_BYTES_PER_NGRAM = 200

#: The budget of :func:`write_hash_slots` where none is given (a model estimated in memory)
DEFAULT_HASH_MEMORY = 2**31

#: Rows read at a time from an order's tables while a region's n-grams are picked out.
READ_ROWS = 1 << 20

#: Free slots from slot 0 remembered for the n-grams that probing pushes past the table's end (a run of full slots
#: that long at the end of a table at most 2/3 full does not happen; the writer checks).
WRAP_ROOM = 1 << 20


def read_rows(array: np.ndarray, start: int, stop: int) -> np.ndarray:
    """``array[start:stop]`` in memory; a memory-mapped file's rows are read with a plain read, so that its pages
    are not mapped into the process (they would count as its memory, page by page, until it exits)."""
    if _maps_a_whole_file(array):
        at = array.offset + start * array.dtype.itemsize
        return np.fromfile(array.filename, dtype=array.dtype, count=stop - start, offset=at)
    return np.asarray(array[start:stop])


def _maps_a_whole_file(array: np.ndarray) -> bool:
    """A 1-D np.memmap of its file from ``offset`` to the end (a slice of one keeps the file's name and offset, not
    where the slice starts: its own length tells it apart)."""
    if not isinstance(array, np.memmap) or array.ndim != 1 or getattr(array, "filename", None) is None:
        return False
    try:
        return array.offset + array.nbytes == os.path.getsize(array.filename)
    except OSError:
        return False


def write_hash_slots(
    f,
    keys: np.ndarray,
    logp: np.ndarray,
    bow: np.ndarray,
    width: int = 4,
    *,
    memory: int | None = None,
    block: int | None = None,
) -> None:
    """Write ``hash_slots(keys, logp, bow, width)`` to the file ``f`` at its position: the same bytes, a region of
    slots at a time, within about a sixth of ``memory`` bytes (default 2 GiB) whatever the number of n-grams
    (``block``: slots a region, for tests).

    Slots are assigned in order of home slot, each at ``max(home, previous slot + 1)``, so a region of slots
    [lo, hi) needs only the n-grams whose home lies in it and those the region before pushed past its end: each
    region reads the order's keys once, keeps the n-grams whose home falls in it, places them (compiled,
    ``_count.place_slots``) and is written. Those pushed past the table's end take the first free slots from 0,
    written last, in place (``f`` must be seekable).
    """
    from lmlab.lm.ngram.external import _count  # the compiled sort's module (None without a C compiler)

    n = keys.size
    size = slot_count(n)
    if _count is None or n == 0:  # the whole table in memory
        f.write(memoryview(hash_slots(keys, logp, bow, width)).cast("B"))
        return
    if block is None:  # a sixth of the budget: the run's peak stays that of its estimation
        regions = -(-n * HASH_WRITE_BYTES_PER_NGRAM // max((memory or DEFAULT_HASH_MEMORY) // 6, 2**24))
        block = -(-size // regions)
    base = f.tell()
    carry = [np.zeros(0, dtype=np.int64)] * 5  # home, key, row, logp, bow (float64 bits), in placing order
    prev = -1  # the slot of the last n-gram placed (past the end for those carried)
    free: list[np.ndarray] = []  # free slots from 0, for the n-grams pushed past the end
    n_free = 0
    idx = np.empty(min(READ_ROWS, n), dtype=np.int64)
    home = np.empty_like(idx)
    for lo in range(0, size, block):
        workers.check()  # written beside another order: stop here once that one failed or Ctrl-C was pressed
        hi = min(lo + block, size)
        parts = [carry]
        for start in range(0, n, READ_ROWS):
            stop = min(start + READ_ROWS, n)
            chunk = np.ascontiguousarray(read_rows(keys, start, stop), dtype=np.int64)
            m = _count.slot_homes(chunk, size, lo, hi, idx, home)
            at = idx[:m]
            lp = np.ascontiguousarray(read_rows(logp, start, stop), dtype=np.float64)[at].view(np.int64)
            bw = np.ascontiguousarray(read_rows(bow, start, stop), dtype=np.float64)[at].view(np.int64)
            parts.append([home[:m].copy(), chunk[at], at + start, lp, bw])
        entries = [np.concatenate(column) for column in zip(*parts)]
        del parts
        out = np.empty((hi - lo, 4), dtype=np.int64)
        over = np.empty((entries[0].size, 5), dtype=np.int64)
        prev, n_over = _count.place_slots(*entries, carry[0].size, lo, hi, prev, out, over)
        del entries
        carry = [over[:n_over, j].copy() for j in range(5)]
        del over
        if n_free < WRAP_ROOM:
            free.append(np.flatnonzero(out[:, 0] == -1)[: WRAP_ROOM - n_free] + lo)
            n_free += free[-1].size
        f.write(memoryview(_narrow(out, width)).cast("B"))
        del out
    if carry[0].size:  # pushed past the end: the first free slots from 0, in the same order
        end = f.tell()
        where = np.concatenate(free)
        assert carry[0].size <= where.size, "a run of full slots longer than WRAP_ROOM at the end of a hash table"
        for slot, key, row, lp, bw in zip(where[: carry[0].size].tolist(), *(c.tolist() for c in carry[1:])):
            f.seek(base + 8 * width * slot)
            f.write(np.array([key, row, lp, bw] if width == 4 else [key, lp], dtype=np.int64).tobytes())
        f.seek(end)


def _header(order: int, vocab_size: int, sizes: list[int], missing_context_bow: float) -> bytes:
    padded = list(sizes) + [0] * (MAX_ORDER - order)
    body = HEADER.pack(MAGIC, VERSION, order, vocab_size, missing_context_bow, *padded, 0, 0)
    crc = zlib.crc32(body[:116])
    return HEADER.pack(MAGIC, VERSION, order, vocab_size, missing_context_bow, *padded, 0, crc)


class PositionedWriter:
    """A file-like writer at a position of its own in a file descriptor shared with others (``os.pwrite``): the
    threads writing a model file's hash tables each write their table's part of the one file."""

    def __init__(self, fd: int, position: int):
        self.fd, self.position = fd, position

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        done = 0
        while done < view.nbytes:
            done += os.pwrite(self.fd, view[done:], self.position + done)
        self.position += done
        return done

    def tell(self) -> int:
        return self.position

    def seek(self, position: int) -> int:
        self.position = position
        return position


def write_binary(tables: BinaryTables, path: str | Path, *, memory: int | None = None) -> int:
    """Write the tables as a model file (atomically); returns its size in bytes. Hash tables not given are written
    a region at a time within about ``memory`` bytes (:func:`write_hash_slots`), two orders at once where a budget
    is given and two cores are free (:mod:`lmlab.lm.ngram.workers`, each within half of it), and memory-mapped tables
    are read a part at a time, so that writing holds a bounded amount whatever the model's size. The gaps between
    arrays are zeros."""
    order = len(tables.keys)
    sizes = [int(k.size) for k in tables.keys]
    arrays, length = layout(sizes)

    with atomic_open(path, "wb") as f:
        f.write(_header(order, tables.vocab_size, sizes, tables.missing_context_bow))
        f.flush()
        f.truncate(length)  # the gaps between arrays: zeros
        # two orders at once within a budget, each in half of it; a model estimated in memory (no budget) writes
        # one order at a time, so that saving it does not raise its peak (two small orders' hash tables at once
        # took PTB's from 254 to 444 MB)
        n_workers = workers.workers() if memory is not None else 1
        share = (memory or DEFAULT_HASH_MEMORY) // n_workers
        by_order: dict[int, list] = {}
        for name, offset, count, dtype in arrays:
            by_order.setdefault(int(name.split(".")[1]), []).append((name, offset, count, dtype))

        def write_order(k):
            """An order's arrays, each at its offset (``os.pwrite``: the orders are written at once)."""
            for name, offset, count, dtype in by_order[k]:
                out = PositionedWriter(f.fileno(), offset)
                kind = name.split(".")[0]
                # slots of a version-1 file mapped are laid out otherwise (unless a table has the same size)
                if kind == "slots" and (tables.slots is None or tables.slots[k - 2].size != count):
                    keys, logp, bow = tables.keys[k - 1], tables.logp[k - 1], tables.bow[k - 1]
                    write_hash_slots(out, keys, logp, bow, slot_width(k, order), memory=share)
                    continue
                data = tables.slots[k - 2].reshape(-1) if kind == "slots" else getattr(tables, kind)[k - 1]
                assert data.size == count, name
                for start in range(0, count, READ_ROWS):  # a memory-mapped table is read a part at a time
                    workers.check()
                    part = np.ascontiguousarray(read_rows(data, start, min(start + READ_ROWS, count)), dtype=dtype)
                    out.write(memoryview(part).cast("B"))

        workers.each(write_order, sorted(by_order, key=lambda k: -sizes[k - 1]), n_workers)
    return length


def map_binary(path: str | Path) -> BinaryTables:
    """Map a model file read-only and return its tables as views of the mapping (nothing is copied)."""
    mapped = ModelFile(path)
    view = {
        name: np.frombuffer(mapped.mapping, dtype=dtype, count=count, offset=offset) if count else np.zeros(0, dtype)
        for name, (offset, count, dtype) in mapped.arrays.items()
    }
    order = mapped.order
    return BinaryTables(
        mapped.vocab_size,
        [view[f"keys.{k}"] for k in range(1, order + 1)],
        [view[f"logp.{k}"] for k in range(1, order + 1)],
        [view[f"bow.{k}"] for k in range(1, order + 1)],
        [view[f"slots.{k}"].reshape(-1, slot_width(k, order, mapped.version)) for k in range(2, order + 1)],
        mapped.missing_context_bow,
        mapped.version,
    )


__all__ = [
    "MAGIC",
    "PositionedWriter",
    "VERSION",
    "BinaryTables",
    "hash_slots",
    "layout",
    "map_binary",
    "mix",
    "read_header",
    "slot_count",
    "slot_width",
    "write_binary",
    "write_hash_slots",
]
