"""The vocabulary of word2vec: the words kept, their counts, and how often each is dropped by subsampling.

Words are ordered by count, most frequent first, and among equal counts the word that appeared first comes last,
exactly as gensim orders them, so ``restrict_vocab=30000`` picks the same words in lmlab and in gensim.

References: Mikolov et al. 2013b, "Distributed Representations of Words and Phrases and their Compositionality"
(subsampling of frequent words, section 2.3; the C tool's formula, which differs from the paper's).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from lmlab.errors import LmlabError


def keep_probability(count: int, total: int, sample: float) -> float:
    """The probability that one occurrence of a word seen ``count`` times out of ``total`` survives subsampling.

    The C tool's formula (gensim's too), with threshold t = sample * total:

        P(keep) = (sqrt(count / t) + 1) * t / count,   capped at 1,

    which keeps every word whose frequency is below about 2.6 t and thins the frequent ones; the paper's
    ``1 - sqrt(t / f)`` is the same idea. ``sample = 0`` keeps everything.

    >>> round(keep_probability(50_000, 1_000_000, 1e-3), 4)   # a word of frequency 5%: about 1 in 6 kept
    0.1614
    >>> keep_probability(100, 1_000_000, 1e-3)                # a rare word: always kept
    1.0
    """
    if sample <= 0 or count <= 0:
        return 1.0
    threshold = sample * total
    return min(1.0, (math.sqrt(count / threshold) + 1) * threshold / count)


def keep_thresholds(counts: np.ndarray, sample: float) -> np.ndarray:
    """Each word's :func:`keep_probability` as a 32-bit threshold: a word is kept when a draw ``u32 <
    threshold`` (``2^32`` keeps it always). The total is the count of the vocabulary's words, as in the C tool.

    >>> keep_thresholds(np.array([50_000, 100]), 1e-3).tolist()   # 0.0327 * 2^32, and always
    [140258099, 4294967296]
    """
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    p = np.array([keep_probability(int(c), total, sample) for c in counts], dtype=np.float64)
    return np.minimum(np.round(p * 2.0**32), 2.0**32).astype(np.uint64)


@dataclass
class Vocabulary:
    """The words word2vec learns vectors for (most frequent first) and their counts in the training corpus."""

    words: list[str]
    counts: np.ndarray  # (V,) int64
    corpus_words: int = 0  # every token of the corpus, the words below min_count included
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.counts = np.asarray(self.counts, dtype=np.int64)
        assert len(self.words) == len(self.counts), "one count per word"
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    @property
    def total(self) -> int:
        """Occurrences of the vocabulary's words in the corpus: the words of one epoch."""
        return int(self.counts.sum())


def build_vocabulary(
    counts: Counter, *, min_count: int, max_vocab: int | None = None, corpus_words: int | None = None, where: str = ""
) -> Vocabulary:
    """The words seen at least ``min_count`` times, most frequent first (ties: first seen last, as gensim), at
    most ``max_vocab`` of them.

    ``counts`` must list words in the order they were first seen (a ``Counter`` filled while reading does).

    >>> v = build_vocabulary(Counter("the cat saw the dog and the cat".split()), min_count=1)
    >>> v.words, v.counts.tolist()
    (['the', 'cat', 'and', 'dog', 'saw'], [3, 2, 1, 1, 1])
    """
    kept = [(w, c) for w, c in counts.items() if c >= min_count]
    if not kept:
        if not counts:
            raise LmlabError(f"{where or 'the corpus'} has no words")
        word, best = max(counts.items(), key=lambda wc: wc[1])
        raise LmlabError(
            f"{where or 'the corpus'}: no word occurs --min-count {min_count} times (the most frequent, {word!r}, "
            f"occurs {best:,} time{'s' if best != 1 else ''}); lower --min-count"
        )
    kept.reverse()  # a stable sort of the reversed list: equal counts, the word first seen last (gensim's order)
    kept.sort(key=lambda wc: -wc[1])
    if max_vocab is not None:
        kept = kept[:max_vocab]
    total = sum(counts.values()) if corpus_words is None else corpus_words
    return Vocabulary([w for w, _ in kept], np.array([c for _, c in kept], dtype=np.int64), corpus_words=total)


__all__ = ["Vocabulary", "build_vocabulary", "keep_probability", "keep_thresholds"]
