"""The compiled trainer (``lmlab/word2vec/_fast.c``, built by ``pip install``): one job without the GIL.

It computes exactly what :func:`lmlab.word2vec.updates.train_job_readable` computes, draw for draw, only in C:
several threads can each run a job at once (Hogwild), and a job runs some hundred times faster than the readable
path. When the extension was not built (no C compiler at install time) :func:`available` is False and training
falls back to the readable path, saying so.
"""

from __future__ import annotations

import numpy as np

from lmlab.word2vec.updates import Settings, Tables, Weights

try:
    from lmlab.word2vec import _fast
except ImportError:  # pragma: no cover - installed without a C compiler
    _fast = None

BUILD_HINT = (
    "build it with `pip install -e .` (or `python setup.py build_ext --inplace`) where a C compiler is available"
)


def available() -> bool:
    """Whether the compiled trainer was built."""
    return _fast is not None


def check_tables(tables: Tables, vocab_size: int) -> None:
    """The tables' contents the compiled trainer trusts: alias indices are words, Huffman points inner nodes,
    code offsets index the codes. Checked once per training rather than once per job."""
    assert tables.alias_index.dtype == np.int32 and len(tables.alias_index) == vocab_size, "alias index: (V,) int32"
    assert tables.alias_index.size == 0 or 0 <= tables.alias_index.min() <= tables.alias_index.max() < vocab_size
    offsets = tables.code_offsets
    assert len(offsets) == vocab_size + 1 and offsets[0] == 0 and np.all(np.diff(offsets) >= 0), "code offsets"
    if len(tables.codes):
        assert offsets[-1] == len(tables.codes) == len(tables.points), "one point per code"
        assert tables.points.min() >= 0 and tables.points.max() < vocab_size - 1, "points are inner nodes"


def train_job_fast(
    weights: Weights,
    tables: Tables,
    s: Settings,
    ids: np.ndarray,
    sentence_ends: np.ndarray,
    *,
    alpha0: float,
    alpha_step: float,
    min_alpha: float,
    seed: int,
) -> tuple[float, int, int]:
    """:func:`lmlab.word2vec.updates.train_job_readable`, compiled; the same arguments and result. The tables
    must have passed :func:`check_tables`."""
    if _fast is None:
        raise RuntimeError(f"the compiled word2vec trainer is not built; {BUILD_HINT}")
    assert weights.syn0.dtype == np.float32 and weights.syn0.flags.c_contiguous, "syn0: C-contiguous float32"
    return _fast.train_job(
        weights.syn0,
        weights.syn1neg,
        weights.syn1,
        tables.keep,
        tables.alias_prob,
        tables.alias_index,
        tables.code_offsets,
        tables.codes,
        tables.points,
        np.ascontiguousarray(ids, dtype=np.int32),
        np.ascontiguousarray(sentence_ends, dtype=np.int64),
        s.dim,
        s.window,
        s.negative,
        int(s.hs),
        int(s.cbow),
        int(s.sample),
        float(alpha0),
        float(alpha_step),
        float(min_alpha),
        int(seed),
    )


__all__ = ["BUILD_HINT", "available", "check_tables", "train_job_fast"]
