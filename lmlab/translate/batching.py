"""Batches of sentence pairs of similar length, limited by sentences and by tokens.

Pairs are sorted by source length, then target length (ties in an order fixed by the seed), and cut into batches
of at most ``batch_size`` pairs whose padded size, pairs x the longest side, stays within ``max_tokens``::

    lengths (src, tgt)   (3, 4) (3, 3) (5, 6) (6, 5) (9, 9)         batch_size 2, max_tokens 12
    batches              [(3,3) (3,4)]  [(5,6) (6,5)]  [(9,9)]      2 x 4 = 8, 2 x 6 = 12, 1 x 9 = 9 tokens

The batches are made once, so an epoch has a fixed number of updates; each epoch visits them in an order fixed by
(seed, epoch), so a resumed run sees the same batches in the same order. A pair longer than ``max_tokens`` alone
is a batch of its own.

References: Vaswani et al. 2017, section 5.1 ("sentence pairs were batched together by approximate sequence
length"); fairseq's ``--max-tokens``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lmlab.translate.vocab import PAD


def pad_batch(seqs: Sequence[np.ndarray], prefix: int | None = None) -> np.ndarray:
    """Ids (B, T) padded with 0 at the end; with ``prefix``, that id first in every row.

    >>> pad_batch([np.array([5, 9, 3]), np.array([7, 3])]).tolist()
    [[5, 9, 3], [7, 3, 0]]
    >>> pad_batch([np.array([5, 3])], prefix=2).tolist()
    [[2, 5, 3]]
    """
    extra = 0 if prefix is None else 1
    T = max(s.size for s in seqs) + extra
    x = np.full((len(seqs), T), PAD, dtype=np.int64)
    for i, s in enumerate(seqs):
        if prefix is not None:
            x[i, 0] = prefix
        x[i, extra : extra + s.size] = s
    return x


def length_batches(
    src_lengths: np.ndarray, tgt_lengths: np.ndarray, batch_size: int, max_tokens: int | None, seed: int
) -> list[np.ndarray]:
    """Pair indices cut into batches of similar length (see the module docstring).

    >>> b = length_batches(np.array([3, 3, 5, 6, 9]), np.array([4, 3, 6, 5, 9]), 2, 12, seed=0)
    >>> [sorted(x.tolist()) for x in b]
    [[0, 1], [2, 3], [4]]
    """
    n = src_lengths.size
    tie = np.random.default_rng((seed, 1)).permutation(n)  # equal lengths in an order fixed by the seed
    order = np.lexsort((tie, tgt_lengths, src_lengths))
    longest = np.maximum(src_lengths, tgt_lengths)
    batches: list[np.ndarray] = []
    start, widest = 0, 0
    for k, i in enumerate(order):
        wider = max(widest, int(longest[i]))
        size = k - start + 1
        if k > start and (size > batch_size or (max_tokens is not None and wider * size > max_tokens)):
            batches.append(order[start:k])
            start, wider = k, int(longest[i])
        widest = wider
    if n:
        batches.append(order[start:])
    return batches


class EpochOrder:
    """The batches, visited in an order fixed by (seed, epoch)."""

    def __init__(self, batches: list[np.ndarray], seed: int):
        self.batches, self.seed = batches, seed
        self._cache: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.batches)

    def batch(self, step: int) -> np.ndarray:
        """The pair indices of update ``step``."""
        epoch, k = divmod(step, len(self.batches))
        if self._cache is None or self._cache[0] != epoch:
            self._cache = (epoch, np.random.default_rng((self.seed, epoch)).permutation(len(self.batches)))
        return self.batches[int(self._cache[1][k])]


__all__ = ["EpochOrder", "length_batches", "pad_batch"]
