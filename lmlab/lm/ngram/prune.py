"""Pruning as KenLM's lmplz does it: count thresholds per order (``--prune``) and a vocabulary limit
(``--limit-vocab-file``).

An n-gram of order k is *pruned* when its raw count is at most ``thresholds[k-1]``, or when one of its words is
pruned: a word outside the limit vocabulary, or a unigram at or under ``thresholds[0]`` (``<s>``, ``</s>`` and
``<unk>`` never are). Thresholds must not decrease with the order, so an n-gram kept has its prefix and its suffix
kept too (their raw counts are at least its own) and the model stays a back-off trie.

Pruning changes the estimate in one place, each context's interpolation weight; the discounts still come from the
counts of counts of every n-gram, pruned or not (Heafield et al. 2013; lmplz's ``AdjustCounts`` and
``InitialProbabilities``). A pruned n-gram gives its whole adjusted count to its context's weight instead of its
discount, so each context's distribution still sums to one:

    alpha(h w) = (a(h w) - D(a(h w))) / sum_x a(h x)                              for kept h w
    gamma(h)   = (sum_{kept h x} D(a(h x)) + sum_{pruned h x} a(h x)) / sum_x a(h x)

The uniform distribution under the unigrams still spreads over every word of the corpus; the saved model's
vocabulary is then the words kept, so that a pruned word reads as ``<unk>`` when the model scores, as with KenLM.

References: Heafield, Pouzyrevsky, Clark & Koehn 2013, "Scalable Modified Kneser-Ney Language Model Estimation";
KenLM's lmplz ``--prune`` and ``--limit_vocab_file``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lmlab.errors import LmlabError
from lmlab.tokenizers import SPECIALS


def check_thresholds(thresholds: Sequence[int] | None, order: int) -> tuple[int, ...] | None:
    """lmplz's rules for ``--prune``: one value per order from the unigrams up (at most ``order`` values, the last
    one repeated for the orders above), each a count >= 0, never decreasing; all zero is no pruning (None).

    >>> check_thresholds([0, 0, 1], 5), check_thresholds([0], 3)
    ((0, 0, 1, 1, 1), None)
    >>> check_thresholds([0, 2, 1], 3)
    Traceback (most recent call last):
    ...
    lmlab.errors.LmlabError: --prune thresholds must not decrease with the order (a pruned n-gram would leave longer \
ones without their prefix), got 0,2,1
    """
    if thresholds is None:
        return None
    values = list(thresholds)
    shown = ",".join(str(t) for t in values)
    if not values or len(values) > order:
        raise LmlabError(
            f"--prune takes one threshold per order, 1 to {order} values for an order-{order} model (the last one "
            f"applies to the orders above it), got {len(values)}: {shown or 'none'}"
        )
    if any(not isinstance(t, int) or isinstance(t, bool) or t < 0 for t in values):
        raise LmlabError(f"--prune thresholds must be counts >= 0, got {shown}")
    if any(b < a for a, b in zip(values, values[1:])):
        raise LmlabError(
            "--prune thresholds must not decrease with the order (a pruned n-gram would leave longer ones without "
            f"their prefix), got {shown}"
        )
    full = tuple(values + [values[-1]] * (order - len(values)))
    return full if any(full) else None


def read_vocab_file(path: str | Path) -> set[str]:
    """The words of a ``--limit-vocab-file`` (separated by any whitespace); a missing, unreadable or empty file is
    a one-line error."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LmlabError(f"--limit-vocab-file {path}: no such file") from None
    except IsADirectoryError:
        raise LmlabError(f"--limit-vocab-file {path}: is a folder, not a file of words") from None
    except UnicodeDecodeError as e:
        raise LmlabError(f"--limit-vocab-file {path}: not UTF-8 text (byte {e.start})") from None
    except OSError as e:
        raise LmlabError(f"--limit-vocab-file {path}: cannot read it ({e.strerror})") from None
    words = set(text.split())
    if not words:
        raise LmlabError(f"--limit-vocab-file {path}: holds no words (give the words to keep, separated by spaces)")
    return words


@dataclass
class Pruning:
    """What to prune: per-order count thresholds (None: none) and the words outside the limit vocabulary."""

    thresholds: tuple[int, ...] | None
    outside_vocab: np.ndarray | None  # (V,) bool, True for a word not in the limit vocabulary; None: no limit
    special: np.ndarray  # (V,) bool, True at <s>, </s> and <unk>, never pruned

    def dropped_words(self, raw_unigram_counts: np.ndarray) -> np.ndarray:
        """(V,) bool: the words pruned as unigrams (outside the vocabulary, or seen at most ``thresholds[0]``
        times), never a special token."""
        drop = np.zeros(raw_unigram_counts.size, dtype=bool)
        if self.outside_vocab is not None:
            drop |= self.outside_vocab
        if self.thresholds is not None and self.thresholds[0] > 0:
            drop |= raw_unigram_counts <= self.thresholds[0]
        return drop & ~self.special

    def threshold(self, k: int) -> int:
        return 0 if self.thresholds is None else self.thresholds[k - 1]


def make_pruning(thresholds, limit_vocab_file, tokenizer, order: int) -> Pruning | None:
    """The :class:`Pruning` of a configuration's ``prune`` and ``limit_vocab_file`` over ``tokenizer``'s ids, or
    None when neither prunes anything."""
    full = check_thresholds(thresholds, order)
    outside = None
    if limit_vocab_file:
        keep = read_vocab_file(limit_vocab_file)
        outside = np.array([t not in keep for t in tokenizer.tokens()], dtype=bool)
    if full is None and outside is None:
        return None
    special = np.zeros(tokenizer.vocab_size, dtype=bool)
    special[[tokenizer.token_to_id(t) for t in SPECIALS]] = True
    return Pruning(full, outside, special)


def kept_ngrams(keys: list[np.ndarray], raw: list[np.ndarray], vocab_size: int, pruning: Pruning):
    """(the dropped words, the kept mask of each order's table) for per-order sorted key tables (order 1 the
    vocabulary) and their raw counts. An n-gram contains a dropped word if its prefix does or its last word is one.

    >>> p = Pruning((0, 1), None, np.array([True, True, True, False, False]))
    >>> keys = [np.arange(5), np.array([1 * 5 + 3, 3 * 5 + 4, 4 * 5 + 2])]     # "<s> a", "a b", "b </s>"
    >>> kept_ngrams(keys, [np.array([0, 2, 2, 2, 1]), np.array([2, 1, 1])], 5, p)[1][1].tolist()
    [True, False, False]
    """
    dropped = pruning.dropped_words(raw[0])
    keep, contains = [~dropped], dropped
    for k in range(2, len(keys) + 1):
        parent, word = keys[k - 1] // vocab_size, keys[k - 1] % vocab_size
        contains = contains[parent] | dropped[word]
        keep.append(~contains & (raw[k - 1] > pruning.threshold(k)))
    return dropped, keep


def prune_tables(tokenizer, keys, logp, bow, keep: list[np.ndarray], dropped: np.ndarray):
    """(tokenizer, keys, logp, bow) of the n-grams kept, over the vocabulary of the words kept."""
    V = tokenizer.vocab_size
    if dropped.any():
        tokenizer, new_id = kept_vocabulary(tokenizer, dropped)
    else:
        new_id = np.arange(V)
    V2 = tokenizer.vocab_size
    out_keys, out_logp, out_bow = [np.arange(V2, dtype=np.int64)], [logp[0][~dropped]], [bow[0][~dropped]]
    row = new_id  # the new row of each old row of the order below
    for k in range(2, len(keys) + 1):
        kept = keys[k - 1][keep[k - 1]]
        out_keys.append(row[kept // V] * V2 + new_id[kept % V])
        out_logp.append(logp[k - 1][keep[k - 1]])
        out_bow.append(bow[k - 1][keep[k - 1]])
        row = np.cumsum(keep[k - 1]) - 1
    return tokenizer, out_keys, out_logp, out_bow


def kept_vocabulary(tokenizer, dropped: np.ndarray):
    """(the tokenizer of the words kept, ``new_id[old_id]``, -1 for a dropped word): kept ids keep their order, so
    sorted key tables stay sorted once renumbered."""
    if tokenizer.kind not in ("word", "char"):
        raise LmlabError(
            f"pruning words (--limit-vocab-file, or a unigram --prune threshold) needs a word or character "
            f"tokenizer, not {tokenizer.kind!r}: its tokens are not independent words"
        )
    new_id = np.cumsum(~dropped) - 1
    new_id[dropped] = -1
    tokens = [t for t, d in zip(tokenizer.tokens(), dropped.tolist()) if not d]
    return type(tokenizer).from_dict({**tokenizer.to_dict(), "tokens": tokens}), new_id


__all__ = [
    "Pruning",
    "check_thresholds",
    "kept_ngrams",
    "kept_vocabulary",
    "make_pruning",
    "prune_tables",
    "read_vocab_file",
]
