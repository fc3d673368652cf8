"""The compiled n-gram scorer (``lmlab/lm/ngram/_score.c``, built by ``pip install``).

It computes exactly what :meth:`lmlab.lm.ngram.model.NgramLM.log10_stream_numpy` computes, bit for bit, one token
after another in C: a look-up is one probe of the model's hash tables (usually one cache miss) instead of a
binary search, and nothing is sorted or gathered per order. When the extension was not built (no C
compiler at install time) :func:`available` is False and models score on the numpy path, which gives the same
numbers.

:func:`log10_stream_file` scores with the arrays of a mapped model file as they lie in it (memoryviews, no NumPy),
for ``lmlab eval`` (:mod:`lmlab.lm.ngram.lean`); :func:`log10_stream` with a model's arrays. A model file whose hash
tables have more pages than a stream makes look-ups is read with pread instead (:func:`reads_by_pread`); one read
through its mapping asks for 2 MiB pages first (:meth:`ModelFile.prefer_huge_pages`).
"""

from __future__ import annotations

from lmlab.errors import LmlabError
from lmlab.lm.ngram.modelfile import effective_order, layout, slot_width
from lmlab.runfiles import open_regular

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (see lmlab.lazy)
if TYPE_CHECKING:
    import numpy as np

    from lmlab.lm.ngram.modelfile import ModelFile

try:
    from lmlab.lm.ngram import _score
except ImportError:  # pragma: no cover - installed without a C compiler
    _score = None

BUILD_HINT = (
    "build it with `pip install -e .` (or `python setup.py build_ext --inplace`) where a C compiler is available"
)


#: Bytes of a memory page, the least a look-up through a mapping brings into the process
PAGE_BYTES = 4096


def available() -> bool:
    """Whether the compiled scorer was built."""
    return _score is not None


def reads_by_pread(slot_bytes: int, lookups: int) -> bool:
    """Whether the scorer reads a model file's hash tables (``slot_bytes`` of them) with pread rather than through
    the file's mapping, for a stream of about ``lookups`` look-ups: where they are fewer than the tables' pages.

    Through the mapping a look-up faults its page in, and on Linux 6.x a fault maps the whole page-cache folio
    around it (up to 2 MB) into the process: the validation perplexity after ``lmlab train --memory 4G`` on 30M
    tokens, a few thousand look-ups in a 5 GB file, mapped about 3 GB, above the budget. With pread a look-up costs
    a system call and maps nothing. Where most pages are looked up anyway (PTB's test text against its 5-gram:
    330,000 look-ups, 45,000 pages) the mapping is the faster.

    >>> reads_by_pread(3 * 2**30, 4 * 2_000), reads_by_pread(176 * 2**20, 4 * 82_430)
    (True, False)
    """
    return lookups < slot_bytes // PAGE_BYTES


def _pread_offsets(path, sizes: list[int], orders: int, version: int):
    """The model file at ``path`` opened for pread, and the offsets of its hash tables of orders 2..``orders``;
    its length checked again against the header's sizes (the file may have been replaced since it was mapped)."""
    import os

    arrays, length = layout(sizes, version)
    offsets = {name: offset for name, offset, _, _ in arrays}
    f = open_regular(path)
    if os.fstat(f.fileno()).st_size != length:
        f.close()
        raise LmlabError(f"{path}: its length changed since it was loaded (replaced while in use?)")
    return f, tuple(offsets[f"slots.{k}"] for k in range(2, orders + 1))


def log10_stream(model, ids: np.ndarray) -> np.ndarray:
    """log10 p of every token of an ``</s>``-terminated id stream, as ``model.log10_stream_numpy(ids)``."""
    import numpy as np

    if _score is None:
        raise RuntimeError(f"the compiled n-gram scorer is not built; {BUILD_HINT}")
    ids = np.asarray(ids)
    V = model.vocab_size
    # int32 ids are checked in C; wider ones here first, since narrowing them could wrap a bad id into range
    if ids.dtype != np.int32 and ids.size and (int(ids.min()) < 0 or int(ids.max()) >= V):
        bad = int(ids.max()) if int(ids.max()) >= V else int(ids.min())
        raise LmlabError(f"token ids must be in [0, {V}), got {bad}")
    ids = np.ascontiguousarray(ids, dtype=np.int32)
    out = np.empty(ids.size, dtype=np.float64)
    n = model.effective_order

    def arrays(tables, dtype):
        return tuple(np.ascontiguousarray(a, dtype=dtype) for a in tables)

    slots = arrays(model.hash_tables()[: n - 1], np.int64)
    # a model mapped from a model file has its version (one read from an ARPA file has a source, but no tables in it)
    version = getattr(model, "source_version", None)
    pread = version is not None and reads_by_pread(sum(s.nbytes for s in slots), ids.size * (n - 1))
    f, offsets = _pread_offsets(model.source, [int(k.size) for k in model.keys], n, version) if pread else (None, ())
    try:
        _score.log10_stream(
            ids,
            out,
            arrays(model.keys[:n], np.int64),
            arrays(model.logp[:n], np.float64),
            arrays(model.bow[:n], np.float64),
            slots,
            tuple(s.shape[1] for s in slots),
            V,
            model.tokenizer.bos_id,
            model.tokenizer.eos_id,
            n,
            float(model.missing_context_bow),
            *((f.fileno(), offsets) if f else ()),
        )
    except ValueError as e:
        raise LmlabError(f"{getattr(model, 'source', 'n-gram model')}: {e}") from None
    finally:
        if f:
            f.close()
    return out


def log10_stream_file(mapped: ModelFile, ids, bos_id: int, eos_id: int) -> bytearray:
    """log10 p of every token of an ``</s>``-terminated stream of int32 ``ids`` (any buffer), as float64 bytes:
    :func:`log10_stream` with the arrays of the mapped model file, read in place."""
    if _score is None:
        raise RuntimeError(f"the compiled n-gram scorer is not built; {BUILD_HINT}")
    n = effective_order(mapped.sizes)
    orders = range(1, n + 1)
    out = bytearray(2 * memoryview(ids).nbytes)  # 8 bytes of float64 per 4-byte id
    slot_bytes = sum(8 * mapped.arrays[f"slots.{k}"][1] for k in orders[1:])
    pread = reads_by_pread(slot_bytes, len(out) // 8 * (n - 1))
    if not pread:  # most of the tables' pages will be read: in 2 MiB pieces, mapped 2 MiB at a time
        mapped.prefer_huge_pages()
    f, offsets = _pread_offsets(mapped.path, mapped.sizes, n, mapped.version) if pread else (None, ())
    try:
        _score.log10_stream(
            ids,
            out,
            tuple(mapped.view(f"keys.{k}") for k in orders),
            tuple(mapped.view(f"logp.{k}") for k in orders),
            tuple(mapped.view(f"bow.{k}") for k in orders),
            tuple(mapped.view(f"slots.{k}") for k in orders[1:]),
            tuple(slot_width(k, mapped.order, mapped.version) for k in orders[1:]),
            mapped.vocab_size,
            bos_id,
            eos_id,
            n,
            mapped.missing_context_bow,
            *((f.fileno(), offsets) if f else ()),
        )
    except ValueError as e:
        raise LmlabError(f"{mapped.path}: {e}") from None
    finally:
        if f:
            f.close()
    return out


def ln_total(log10_p: bytearray, ln10: float) -> tuple[float, int, int]:
    """The natural-log total of float64 log10 probabilities, added up as ``np.sum(ln10 * values)`` adds them, the
    number that are not finite and the first one's index (-1: none)."""
    if _score is None:
        raise RuntimeError(f"the compiled n-gram scorer is not built; {BUILD_HINT}")
    return _score.ln_total(log10_p, ln10)


__all__ = ["BUILD_HINT", "available", "ln_total", "log10_stream", "log10_stream_file"]
