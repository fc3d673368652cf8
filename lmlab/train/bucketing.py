"""Batches of examples of similar length, for tasks whose examples are sequences of different lengths (texts to
classify, sentences to tag): sorting a pool of batches by length wastes little on padding, and the pools and the
batches are shuffled by (seed, epoch), so a resumed run sees the same batches."""

from __future__ import annotations

import numpy as np

BUCKET_BATCHES = 50  # batches' worth of examples sorted by length together


class BucketedBatches:
    """Batches of examples of similar length, in an order fixed by (seed, epoch).

    >>> sb = BucketedBatches(np.array([1, 9, 2, 8, 3, 7]), batch_size=2, seed=0)
    >>> len(sb), sorted(sorted(int(sb.lengths[i]) for i in b) for b in sb.epoch_batches(0))
    (3, [[1, 2], [3, 7], [8, 9]])
    """

    def __init__(self, lengths: np.ndarray, batch_size: int, seed: int):
        self.lengths, self.batch_size, self.seed = lengths, batch_size, seed
        self._cache: tuple[int, list[np.ndarray]] | None = None

    def __len__(self) -> int:
        return max(1, -(-self.lengths.size // self.batch_size))

    def epoch_batches(self, epoch: int) -> list[np.ndarray]:
        if self._cache is not None and self._cache[0] == epoch:
            return self._cache[1]
        rng = np.random.default_rng((self.seed, epoch))
        order = rng.permutation(self.lengths.size)
        pool = self.batch_size * BUCKET_BATCHES
        batches = []
        for a in range(0, order.size, pool):
            chunk = order[a : a + pool]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            batches += [chunk[b : b + self.batch_size] for b in range(0, chunk.size, self.batch_size)]
        batches = [batches[i] for i in rng.permutation(len(batches))]
        self._cache = (epoch, batches)
        return batches

    def batch(self, step: int) -> np.ndarray:
        """The example indices of update ``step``."""
        return self.epoch_batches(step // len(self))[step % len(self)]


__all__ = ["BUCKET_BATCHES", "BucketedBatches"]
