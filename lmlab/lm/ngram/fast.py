"""The compiled n-gram scorer (``lmlab/lm/ngram/_score.c``, built by ``pip install``).

It computes exactly what :meth:`lmlab.lm.ngram.model.NgramLM.log10_stream_numpy` computes, bit for bit, one token
after another in C: a look-up is one probe of the model's hash tables (usually one cache miss) instead of a
binary search, and nothing is sorted or gathered per order. When the extension was not built (no C
compiler at install time) :func:`available` is False and models score on the numpy path, which gives the same
numbers.
"""

from __future__ import annotations

import numpy as np

from lmlab.errors import LmlabError

try:
    from lmlab.lm.ngram import _score
except ImportError:  # pragma: no cover - installed without a C compiler
    _score = None

BUILD_HINT = (
    "build it with `pip install -e .` (or `python setup.py build_ext --inplace`) where a C compiler is available"
)


def available() -> bool:
    """Whether the compiled scorer was built."""
    return _score is not None


def log10_stream(model, ids: np.ndarray) -> np.ndarray:
    """log10 p of every token of an ``</s>``-terminated id stream, as ``model.log10_stream_numpy(ids)``."""
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

    try:
        _score.log10_stream(
            ids,
            out,
            arrays(model.keys[:n], np.int64),
            arrays(model.logp[:n], np.float64),
            arrays(model.bow[:n], np.float64),
            arrays(model.hash_tables()[: n - 1], np.int64),
            V,
            model.tokenizer.bos_id,
            model.tokenizer.eos_id,
            n,
            float(model.missing_context_bow),
        )
    except ValueError as e:
        raise LmlabError(f"{getattr(model, 'source', 'n-gram model')}: {e}") from None
    return out


__all__ = ["BUILD_HINT", "available", "log10_stream"]
