"""Sorting record tables larger than memory: sorted runs spilled to a temporary folder, then merged.

A record table is a numpy structured array (e.g. the words ``w0 .. w{k-1}`` of an n-gram and its count ``c``).
:class:`Sorter` takes records in batches, sorts each buffer that fills its share of the memory budget by the key
fields (lexicographically, ``w0`` first), adds up the ``combine`` field of records with equal keys, and writes it as
a sorted run; :meth:`Sorter.result` merges the runs into one sorted file, read back through a memory map in chunks
(:func:`chunks`). Nothing here holds more than the budget's worth of records at once.

A full disk is reported in one line that names the folder and the bytes the write needed, after the temporary
files are removed (:class:`SpillDir`).
"""

from __future__ import annotations

import errno
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from lmlab.errors import LmlabError
from lmlab.tempdirs import OwnedTempDir

try:  # the compiled sort and join (lmlab/lm/ngram/_count.c); without it, the numpy path below, slower
    from lmlab.lm.ngram import _count
except ImportError:  # pragma: no cover - a build without a C compiler
    _count = None

_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_size(text: str) -> int:
    """Bytes in a size such as ``--memory 2G`` (K, M, G, T are powers of 1024).

    >>> parse_size("2G"), parse_size("512M"), parse_size("1.5K"), parse_size("1000")
    (2147483648, 536870912, 1536, 1000)
    """
    s = str(text).strip().upper().removesuffix("IB").removesuffix("B")
    unit = s[-1:] if s[-1:] in _UNITS and s[-1:] else ""
    try:
        value = float(s[: len(s) - len(unit)])
    except ValueError:
        value = -1.0
    if not value > 0 or value != value:
        raise LmlabError(f"memory size must be a positive number of bytes with an optional K, M, G or T, got {text!r}")
    return int(value * _UNITS[unit])


#: the spill folder's name in --temp-dir (or the temporary folder): ``lmlab-ngram-XXXX``
SPILL_PREFIX = "lmlab-ngram-"


class SpillDir:
    """A private temporary folder for sorted runs, removed with everything in it on exit (error or not); one left
    by a killed estimation (kill -9, the out-of-memory killer) is removed by the next one in the same folder
    (:class:`lmlab.tempdirs.OwnedTempDir`)."""

    def __init__(self, parent: str | os.PathLike | None):
        parent = Path(parent) if parent else Path(tempfile.gettempdir())
        if not parent.is_dir():
            raise LmlabError(f"--temp-dir {parent} is not a folder")
        try:
            self._owned = OwnedTempDir(SPILL_PREFIX, parent)
        except OSError as e:
            raise LmlabError(f"--temp-dir {parent}: cannot create a temporary folder there ({e.strerror})") from None
        self.path = self._owned.path
        self.parent = parent
        self.written = 0  # bytes, for the progress report
        self._names = 0
        self._remover: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()  # passes of two orders spill at once (lmlab.lm.ngram.workers)

    def __enter__(self) -> SpillDir:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def remove(self) -> None:
        with self._lock:  # two passes may meet a full disk at once
            remover, self._remover = self._remover, None
        if remover is not None:
            remover.shutdown(wait=True)
        self._owned.cleanup()

    def unlink(self, path: Path) -> None:
        """Remove a file no longer needed, in the background: on a file system that discards freed blocks (ext4
        mounted with ``discard``) removing a large file written back to disk takes a tenth of a second or more."""
        with self._lock:
            if self._remover is None:
                self._remover = ThreadPoolExecutor(1, thread_name_prefix="lmlab-spill-remove")
            self._remover.submit(path.unlink, missing_ok=True)

    def new_file(self, stem: str) -> Path:
        with self._lock:
            self._names += 1
            return self.path / f"{stem}-{self._names}.bin"

    def append(self, path: Path, records: np.ndarray) -> None:
        """Append records to a file; a full disk removes the folder and raises a one-line error."""
        data = memoryview(np.ascontiguousarray(records)).cast("B")
        try:
            with open(path, "ab") as f:
                f.write(data)
        except OSError as e:
            if e.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            self.remove()
            raise LmlabError(
                f"{self.parent}: no space left on the device while spilling n-gram counts: a write of "
                f"{data.nbytes:,} bytes failed after {self.written:,} were written; give --temp-dir a folder with "
                "more free space"
            ) from None
        with self._lock:
            self.written += data.nbytes


def key_view(records: np.ndarray, key: Sequence[str]) -> np.ndarray:
    """The key fields of records as fixed-width bytes (each field a big-endian uint32), which numpy sorts and
    searches lexicographically, field by field, several times faster than a structured array; keys of records of
    different layouts compare. Fields hold word ids, so they are non-negative int32.

    >>> r = np.array([(7, 1, 2), (7, 1, 300)], dtype=[("c", "<i8"), ("w0", "<i4"), ("w1", "<i4")])
    >>> k = key_view(r, ["w1", "w0"])
    >>> k.dtype, bool(k[0] < k[1])
    (dtype('S8'), True)
    """
    out = np.empty((records.size, len(key)), dtype=">u4")
    for j, f in enumerate(key):
        out[:, j] = records[f]
    return out.view(f"S{4 * len(key)}").reshape(records.shape)


def _word_prefix(records: np.ndarray, key: Sequence[str]) -> int:
    """k if the key fields are the records' first k fields, 4-byte integers one after another from offset 0 (the
    layout the compiled routines read), else 0."""
    fields = records.dtype.fields or {}
    for j, name in enumerate(key):
        if name not in fields or fields[name][1] != 4 * j or fields[name][0].kind not in "iu":
            return 0
        if fields[name][0].itemsize != 4:
            return 0
    return len(key)


def _writable_own(records: np.ndarray, inplace: bool) -> bool:
    flags = records.flags
    return flags.c_contiguous and flags.writeable and (inplace or flags.owndata)


def sort_records(
    records: np.ndarray, key: Sequence[str], *, compiled: bool = True, inplace: bool = False
) -> np.ndarray:
    """Records sorted by the key fields, first field first, stably (records with equal keys keep their order): the
    compiled radix sort where it applies, else :func:`sort_records_numpy`; the same records either way. An array
    that owns its memory (a buffer made for the sort, as every caller's is), or any contiguous one with
    ``inplace``, is sorted in place and returned, without a copy."""
    if compiled and _count is not None and records.size >= 2 and _word_prefix(records, key):
        own = _writable_own(records, inplace)
        out = records if own else np.ascontiguousarray(records).copy()
        _count.sort_records(out, len(key))
        return out
    return sort_records_numpy(records, key)


def sort_records_numpy(records: np.ndarray, key: Sequence[str]) -> np.ndarray:
    """Records sorted by the key fields, first field first.

    The fields are packed, as many as fit, into uint64 limbs of the bits the largest value needs (a 5-gram of a
    10,000-word vocabulary: 14 bits a word, two limbs), and sorted as integers, the fastest sort numpy has.

    >>> r = np.array([(2, 1), (1, 9), (1, 3)], dtype=[("w0", "<i4"), ("w1", "<i4")])
    >>> sort_records(r, ["w0", "w1"]).tolist()
    [(1, 3), (1, 9), (2, 1)]
    """
    if records.size < 2:
        return records
    bits = max(max(int(records[f].max()) for f in key).bit_length(), 1)
    per_limb = 64 // bits
    limbs = []
    for i in range(0, len(key), per_limb):
        limb = np.zeros(records.size, dtype=np.uint64)
        for f in key[i : i + per_limb]:
            limb = (limb << np.uint64(bits)) | records[f].astype(np.uint64)
        limbs.append(limb)
    # stable, as the compiled sort: a sort by leading key fields keeps the input's order among equal ones
    order = np.argsort(limbs[0], kind="stable") if len(limbs) == 1 else np.lexsort(limbs[::-1])
    return records[order]


def search_sorted(haystack: np.ndarray, needles: np.ndarray, key: Sequence[str], *, compiled: bool = True):
    """For each needle, the first row of the sorted ``haystack`` whose key fields are >= the needle's (numpy's
    ``searchsorted``, side "left", on :func:`key_view`); compiled, a join of sorted records is linear.

    >>> h = np.array([(1, 2), (1, 5), (3, 0)], dtype=[("w0", "<i4"), ("w1", "<i4")])
    >>> search_sorted(h, h[[0, 2]], ["w0", "w1"]).tolist(), search_sorted(h, h[[2, 0]], ["w0"]).tolist()
    ([0, 2], [2, 0])
    """
    k = len(key)
    if compiled and _count is not None and _word_prefix(haystack, key) and _word_prefix(needles, key):
        out = np.empty(needles.size, dtype=np.int64)
        _count.search_sorted(np.ascontiguousarray(haystack), np.ascontiguousarray(needles), out, k)
        return out
    return np.searchsorted(key_view(haystack, key), key_view(needles, key))


def prefix_counts(windows: np.ndarray, n_words: int, k: int, sentinel: int, *, compiled: bool = True) -> np.ndarray:
    """The k-grams counted in sorted, combined windows of ``n_words`` words (fields ``w0..``, then a uint32 count
    ``c``; a window that its line's end cuts short holds ``sentinel``, above every word id, in the places past
    it): the windows whose first k words are all words, one record per k-word prefix, their counts added. The
    windows at every position of a text, sorted once, so give the sorted counts of every order up to theirs.

    >>> w = np.array([(3, 4, 2), (3, 9, 1), (4, 3, 1), (4, 9, 1)], dtype=[("w0", "<i4"), ("w1", "<i4"), ("c", "<u4")])
    >>> prefix_counts(w, 2, 1, sentinel=9).tolist(), prefix_counts(w, 2, 2, sentinel=9).tolist()
    ([(3, 3), (4, 2)], [(3, 4, 2), (4, 3, 1)])
    """
    key = [f"w{j}" for j in range(k)]
    dtype = np.dtype([(w, "<i4") for w in key] + [("c", "<u4")])
    if compiled and _count is not None and _word_prefix(windows, key) and windows.dtype.names[n_words] == "c":
        out = np.empty(windows.size, dtype=dtype)
        try:
            m = _count.prefix_counts(np.ascontiguousarray(windows), n_words, k, sentinel, out)
        except OverflowError:
            raise _too_many("c") from None
        return out[:m].copy() if 2 * m < out.size else out[:m]
    whole = windows[windows[key[-1]] != sentinel]
    out = np.empty(whole.size, dtype=dtype)
    for f in dtype.names:
        out[f] = whole[f]
    return combine_sorted_numpy(out, key, "c")


def group_starts(records: np.ndarray, key: Sequence[str]) -> np.ndarray:
    """Rows of sorted records where a new key starts.

    >>> r = np.array([(1, 2), (1, 2), (1, 3), (4, 0)], dtype=[("a", "<i4"), ("b", "<i4")])
    >>> group_starts(r, ["a", "b"]).tolist()
    [0, 2, 3]
    """
    if records.size == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.zeros(records.size, dtype=bool)
    new[0] = True
    for f in key:
        new[1:] |= records[f][1:] != records[f][:-1]
    return np.flatnonzero(new)


def combine_sorted(
    records: np.ndarray, key: Sequence[str], combine: str, *, compiled: bool = True, inplace: bool = False
) -> np.ndarray:
    """Sorted records with equal keys made one, their ``combine`` fields added up: compiled and in place for an
    array that owns its memory (as :func:`sort_records` sorts), else :func:`combine_sorted_numpy`.

    >>> r = np.array([(1, 2), (1, 3), (2, 1)], dtype=[("w0", "<i4"), ("c", "<i8")])
    >>> combine_sorted(r, ["w0"], "c").tolist()
    [(1, 5), (2, 1)]
    """
    own = _writable_own(records, inplace)
    width = _count_width(records, combine)
    if compiled and _count is not None and own and _word_prefix(records, key) and width:
        try:
            n = _count.combine_sorted(records, len(key), records.dtype.fields[combine][1], width)
        except OverflowError:
            raise _too_many(combine) from None
        return records[:n]
    return combine_sorted_numpy(records, key, combine)


def combine_sorted_numpy(records: np.ndarray, key: Sequence[str], combine: str) -> np.ndarray:
    """Sorted records with equal keys made one, their ``combine`` fields added up."""
    starts = group_starts(records, key)
    if starts.size == records.size:
        return records
    out = records[starts]
    total = np.add.reduceat(records[combine].astype(np.int64), starts)
    if total.size and int(total.max()) > np.iinfo(out.dtype[combine]).max:
        raise _too_many(combine)
    out[combine] = total
    return out


#: The largest count an n-gram record holds (its count is a uint32: 4 bytes a record less to sort and spill).
MAX_COUNT = 2**32 - 1


def _too_many(field: str) -> LmlabError:
    return LmlabError(
        f"an n-gram is counted more than {MAX_COUNT:,} times (field {field!r}), more than the 4-byte counts of "
        "--memory estimation hold; estimate on a part of the corpus, or in memory"
    )


def _count_width(records: np.ndarray, field: str) -> int:
    """The byte width of a count field the compiled routines add up (int64 or uint32), else 0."""
    dtype = records.dtype.fields[field][0]
    return {np.dtype("<i8"): 8, np.dtype("<u4"): 4}.get(dtype, 0)


class RecordFile:
    """A file of records, read a slice at a time (``records[a:b]`` reads just those), so that only what is asked
    for is in memory: a memory map would keep every page it read resident, and counted as the process's memory."""

    def __init__(self, path: Path, dtype):
        self.path, self.dtype = path, np.dtype(dtype)
        self.size = path.stat().st_size // self.dtype.itemsize if path.exists() else 0

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, rows: slice) -> np.ndarray:
        start, stop, step = rows.indices(self.size)
        assert step == 1, "contiguous slices only"
        if stop <= start:
            return np.zeros(0, dtype=self.dtype)
        return np.fromfile(self.path, dtype=self.dtype, count=stop - start, offset=start * self.dtype.itemsize)

    def read_into(self, start: int, out: np.ndarray) -> int:
        """Read the records from row ``start`` on into ``out`` (as many as it holds, or to the end); how many."""
        count = max(min(out.size, self.size - start), 0)
        if count:
            with open(self.path, "rb") as f:
                f.seek(start * self.dtype.itemsize)
                got = f.readinto(memoryview(out[:count]).cast("B"))
            assert got == count * self.dtype.itemsize, f"{self.path}: read {got} bytes of {count} records"
        return count


def read(path: Path, dtype) -> RecordFile:
    """A record file written by :meth:`SpillDir.append`."""
    return RecordFile(path, dtype)


class Sorter:
    """Sort records by ``key`` (adding up ``combine`` for equal keys) within ``budget_rows`` records in memory.

    ``sort_key``: leading fields of ``key`` that suffice, because the records come in an order in which a stable
    sort by them alone gives the order by ``key`` (records sorted by ``w0, w1, w2`` and rotated to ``w1, w2, w0``
    need a sort by ``w1, w2`` only): a radix sort then makes that many passes, not one per key field.
    """

    def __init__(
        self,
        spill: SpillDir,
        dtype,
        key: Sequence[str],
        *,
        budget_rows: int,
        combine: str | None = None,
        sort_key: Sequence[str] | None = None,
    ):
        self.spill, self.dtype, self.key, self.combine = spill, np.dtype(dtype), list(key), combine
        self.sort_key = list(key if sort_key is None else sort_key)
        assert self.sort_key == self.key[: len(self.sort_key)], "sort_key: leading fields of the key"
        self.budget_rows = max(int(budget_rows), 1)
        # records are copied into one buffer, sorted there in place: no list of pieces and its concatenation beside
        # it (its pages are taken as they are written: a small input costs little)
        self._buffer: np.ndarray | None = None
        self.buffered = 0
        self._pieces: list[np.ndarray] = []  # batches added sorted: merged, never sorted again
        self.runs: list[Path] = []
        self._reserved: np.ndarray | None = None  # rows reserved beyond a buffer's size, added at the next call

    def add(self, records: np.ndarray, *, presorted: bool = False) -> None:
        """Take records; ``presorted``: they are sorted (and combined) already, so they are held as they are and
        merged with the others (in one pass, compiled) when the budget's worth is spilled."""
        self._add_reserved()
        if presorted:
            held = sum(p.size for p in self._pieces)
            if held and held + records.size > self.budget_rows:
                self._flush()
            self._pieces.append(records)
            if held + records.size >= self.budget_rows:
                self._flush()
            return
        while records.size:  # fill the buffer, spill it once full, go on with the rest
            if self._buffer is None:
                self._buffer = np.empty(self.budget_rows, dtype=self.dtype)
            take = min(records.size, self.budget_rows - self.buffered)
            self._buffer[self.buffered : self.buffered + take] = records[:take]
            self.buffered += take
            records = records[take:]
            if self.buffered == self.budget_rows:
                self._flush()

    def reserve(self, n: int) -> np.ndarray:
        """``n`` rows of the sorter's buffer for the caller to fill, taken as added (the buffer spilled first if it
        has no room for them): records made in place instead of made and then copied in. They must be filled
        before the next call to the sorter. More rows than a buffer holds (a chunk that keeps a large group whole)
        are made apart and added at that next call."""
        self._add_reserved()
        assert not self._pieces, "reserve: for unsorted records only"
        if n > self.budget_rows:
            self._reserved = np.empty(n, dtype=self.dtype)
            return self._reserved
        if self._buffer is None:
            self._buffer = np.empty(self.budget_rows, dtype=self.dtype)
        if self.buffered + n > self.budget_rows:
            self._flush()
        rows = self._buffer[self.buffered : self.buffered + n]
        self.buffered += n
        return rows

    def _add_reserved(self) -> None:
        reserved, self._reserved = self._reserved, None
        if reserved is not None:
            self.add(reserved)

    def _sorted(self) -> list[np.ndarray]:
        """What is held, as sorted (and combined) pieces, let go of."""
        pieces, self._pieces = self._pieces, []
        if self.buffered:
            records = sort_records(self._buffer[: self.buffered], self.sort_key, inplace=True)
            if self.combine:
                records = combine_sorted(records, self.key, self.combine, inplace=True)
            pieces.append(records)
            self.buffered = 0
        return pieces

    def _flush(self) -> None:
        pieces = self._sorted()
        if not pieces:
            return
        path = self.spill.new_file("run")
        if len(pieces) == 1:
            self.spill.append(path, pieces[0])
        else:
            for records in self._merged(pieces):
                self.spill.append(path, records)
        self.runs.append(path)

    def result(self, *, once: bool = False) -> np.ndarray | RecordFile | MergedRuns:
        """All records added, sorted (and combined): in memory if they fit in one buffer, else one file; ``once``:
        records to be read once, from first to last, are merged from the runs as they are read
        (:class:`MergedRuns`), not written to a file and read back."""
        self._add_reserved()
        if not self.runs:  # everything fits in one buffer: sorted in memory, no file
            pieces = self._sorted()
            self._buffer = None  # the result holds the part it needs
            if len(pieces) < 2:
                return pieces[0] if pieces else np.zeros(0, self.dtype)
            return np.concatenate([records.copy() for records in self._merged(pieces)])
        self._flush()
        self._buffer = None
        runs = self.runs
        # at least 256 records of each run in memory at once: merge in groups if the budget is short of that
        fan_in = max(2, self.budget_rows // 256)
        while len(runs) > (max(2, fan_in // 8) if once else 1):  # merged as read: an eighth of the budget
            runs = [self._merge(runs[i : i + fan_in]) for i in range(0, len(runs), fan_in)]
        return MergedRuns(self, runs) if once and len(runs) > 1 else read(runs[0], self.dtype)

    def _merge(self, paths: list[Path]) -> Path:
        """Merge sorted run files into one."""
        if len(paths) == 1:
            return paths[0]
        path = self.spill.new_file("merged")
        for records in self._merged([read(p, self.dtype) for p in paths]):
            self.spill.append(path, records)
        for p in paths:
            self.spill.unlink(p)
        return path

    def _merged(self, runs: list, buffer_rows: int | None = None) -> Iterator[np.ndarray]:
        """Merge sorted runs (arrays, or files read a chunk at a time), yielding the result in sorted chunks (each
        valid until the next is asked for): compiled (``_count.merge_runs``, a heap of the runs' heads, equal keys
        combined as they meet), else :meth:`_merged_numpy`. The runs' buffers and the output's hold ``buffer_rows``
        records in all (default: the sorter's budget)."""
        record = np.zeros(1, self.dtype)
        offset, width = -1, 8
        if self.combine:
            offset, width = self.dtype.fields[self.combine][1], _count_width(record, self.combine)
        if _count is None or not _word_prefix(record, self.key) or (self.combine and not width):
            yield from self._merged_numpy(runs, buffer_rows)
            return
        chunk = max((buffer_rows or self.budget_rows) // (len(runs) + 1), 1)  # each run's buffer, and the output's
        buffers = [np.ascontiguousarray(run[0:chunk]) for run in runs]
        read_to = [b.size for b in buffers]
        pos = np.zeros(len(runs), dtype=np.int64)
        more = np.array([read_to[i] < run.size for i, run in enumerate(runs)], dtype=np.uint8)
        out = np.empty(max(chunk, 2), dtype=self.dtype)
        n_out = 0
        while True:
            try:
                n_out = _count.merge_runs(tuple(buffers), pos, more, out, n_out, len(self.key), offset, width)
            except OverflowError:
                raise _too_many(self.combine) from None
            if n_out == out.size:  # full: handed on but for its last record, which a later one may add to
                keep = 1 if self.combine else 0
                yield out[: n_out - keep]
                out[:keep] = out[n_out - keep : n_out]
                n_out = keep
            for i, run in enumerate(runs):
                if pos[i] == buffers[i].size and more[i]:
                    buffers[i] = np.ascontiguousarray(run[read_to[i] : read_to[i] + chunk])
                    read_to[i] += buffers[i].size
                    pos[i], more[i] = 0, read_to[i] < run.size
            if all(pos[i] == b.size for i, b in enumerate(buffers)) and not more.any():
                break
        yield out[:n_out]

    def _merged_numpy(self, runs: list, buffer_rows: int | None = None) -> Iterator[np.ndarray]:
        """The readable merge: each round takes every record up to the smallest of the buffers' last keys (all
        the records up to there are in the buffers), and sorts and combines those."""
        at = [0] * len(runs)
        chunk = max((buffer_rows or self.budget_rows) // (len(runs) + 1), 1)
        while True:
            live = [i for i, r in enumerate(runs) if at[i] < r.size]
            if not live:
                break
            buffers = {i: np.array(runs[i][at[i] : at[i] + chunk]) for i in live}
            lasts = np.concatenate([key_view(b[-1:], self.key) for b in buffers.values()])
            bound = np.sort(lasts)[:1]
            taken = []
            for i, b in buffers.items():
                n = int(np.searchsorted(key_view(b, self.key), bound, side="right")[0])
                taken.append(b[:n])
                at[i] += n
            merged = sort_records(np.concatenate(taken), self.key)
            if self.combine:
                merged = combine_sorted(merged, self.key, self.combine)
            yield merged


class MergedRuns:
    """A sorter's runs merged as they are read, forward only: ``records[a:b]`` with ``a`` the rows read so far (as
    :func:`chunks` and :class:`SortedReader` read). ``size`` is the runs' rows, fewer when equal keys are combined
    (a read past the last record gives no rows). The runs' files are removed once the merge is read through."""

    def __init__(self, sorter: Sorter, paths: list[Path]):
        self.dtype, self.spill, self._paths = sorter.dtype, sorter.spill, paths
        runs = [read(p, self.dtype) for p in paths]
        self.size = sum(run.size for run in runs)
        # an eighth of the sorter's budget: its reader holds its chunks, and often fills another sorter beside it
        self._merge = sorter._merged(runs, max(sorter.budget_rows // 8, 2 * len(runs)))
        self._held = np.zeros(0, self.dtype)  # merged rows not yet read
        self._at = 0

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, rows: slice) -> np.ndarray:
        start, stop = rows.start, min(rows.stop, self.size)
        assert rows.step is None and start == self._at, "merged runs are read forward, once"
        want = max(stop - start, 0)
        if self._held.size >= want:  # enough merged rows held already
            out, self._held = self._held[:want], self._held[want:]
            self._at += out.size
            return out
        out = np.empty(want, dtype=self.dtype)  # each merged row copied once, into the rows handed out
        filled = self._held.size
        out[:filled] = self._held
        self._held = np.zeros(0, self.dtype)
        while filled < want and self._merge is not None:
            part = next(self._merge, None)
            if part is None:
                self._merge = None
                for p in self._paths:
                    self.spill.unlink(p)
                break
            take = min(part.size, want - filled)
            out[filled : filled + take] = part[:take]
            filled += take
            if take < part.size:  # the merge reuses its output buffer: keep a copy of the rest
                self._held = part[take:].copy()
        out = out[:filled]
        self._at += out.size
        return out


def chunks(records, rows: int, group: Sequence[str] = ()) -> Iterator[tuple[int, np.ndarray]]:
    """(first row, chunk) of records (an array or a :class:`RecordFile`), about ``rows`` records each; with
    ``group`` key fields, a chunk never splits records with equal group keys (a group larger than ``rows`` is one
    chunk). A file's records are read once: the rows past a chunk's end that were read to find it are the start of
    the next chunk."""
    rows = max(int(rows), 1)
    start, n = 0, records.size
    pending = None  # rows read from `start` on, not yet handed out (a file's; an array's rows are views)
    while start < n:
        chunk = _rows_from(records, start, min(start + rows, n), pending)
        pending = None
        if not chunk.size:  # merged runs whose equal keys were combined: fewer rows than their size
            return
        end = start + chunk.size
        if group and end < n:
            # the last group may go on past the chunk: hand out the rows before it, and keep it for the next chunk
            cut = _first_of_last_group(chunk, group)
            if cut:
                chunk, pending = chunk[:cut], chunk[cut:]
            else:  # one group fills the chunk: read on to its end
                last, parts = key_view(chunk[-1:], group), [chunk]
                while end < n:
                    ahead = records[end : min(end + rows, n)]
                    if not ahead.size:
                        break
                    same = int(np.searchsorted(key_view(ahead, group), last, side="right")[0])
                    parts.append(ahead[:same])
                    end += same
                    if same < ahead.size:
                        pending = ahead[same:]
                        break
                chunk = np.concatenate(parts)
            if isinstance(records, np.ndarray):
                pending = None
        yield start, chunk  # a file's rows are read afresh, an array's are a view
        start += chunk.size


def _rows_from(records, start: int, stop: int, pending: np.ndarray | None) -> np.ndarray:
    """``records[start:stop]``, whose first rows are ``pending`` when a file's rows were read already."""
    if pending is None or not pending.size:
        return records[start:stop]
    if isinstance(records, RecordFile):  # read on after them, in place: no copy of the rows read
        out = np.empty(max(stop - start, pending.size), dtype=records.dtype)
        out[: pending.size] = pending
        return out[: pending.size + records.read_into(start + pending.size, out[pending.size :])]
    rest = records[start + pending.size : stop]
    return np.concatenate([pending, rest]) if rest.size else pending


def _first_of_last_group(chunk: np.ndarray, group: Sequence[str]) -> int:
    """The row where the sorted chunk's last group (of equal ``group`` fields) starts."""
    return int(search_sorted(chunk, chunk[-1:], group)[0])


class SortedReader:
    """Reads a sorted record file forward, handing out the records whose key is at most a given bound; each row is
    read once (the rows read past a bound are kept for the next)."""

    def __init__(self, records, key: Sequence[str], rows: int):
        self.records, self.key, self.rows = records, list(key), max(int(rows), 1)
        self.at = 0
        self._pending: np.ndarray | None = None  # a file's rows read from `at` on, not yet handed out

    def upto(self, bound: np.ndarray) -> tuple[int, np.ndarray]:
        """(first row, records) from the current position up to and including the key of ``bound`` (one record
        whose fields include the reader's key fields)."""
        start, n = self.at, self.records.size
        end, got = start, []
        block, self._pending = self._pending, None
        while end < n:
            if block is None:
                block = self.records[end : min(end + self.rows, n)]
                if not block.size:
                    break
            k = _rows_upto(block, bound, self.key)
            got.append(block[:k])
            end += k
            if k < block.size:
                if not isinstance(self.records, np.ndarray):
                    self._pending = block[k:]
                break
            block = None
        self.at = end
        if len(got) == 1:
            return start, got[0]
        return start, np.concatenate(got) if got else np.zeros(0, self.records.dtype)


def _rows_upto(block: np.ndarray, bound: np.ndarray, key: Sequence[str]) -> int:
    """How many rows of the sorted block have a key at most ``bound``'s."""
    at = int(search_sorted(block, bound, key)[0])  # the first row >= bound, then past the rows equal to it
    packed = key_view(bound, key)
    if at < block.size and key_view(block[at : at + 1], key)[0] == packed[0]:
        at += 1  # one row equal to the bound (keys are distinct in the files read so), or a run of them:
        if at < block.size and key_view(block[at : at + 1], key)[0] == packed[0]:
            at += int(np.searchsorted(key_view(block[at:], key), packed, side="right")[0])
    return at


__all__ = [
    "MergedRuns",
    "SortedReader",
    "RecordFile",
    "Sorter",
    "SpillDir",
    "chunks",
    "combine_sorted",
    "combine_sorted_numpy",
    "group_starts",
    "key_view",
    "parse_size",
    "prefix_counts",
    "read",
    "search_sorted",
    "sort_records",
    "sort_records_numpy",
]
