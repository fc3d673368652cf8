"""Counting n-grams of every order at once, vectorised, as a trie of sorted integer keys.

An n-gram of order k is identified by its index in the order-k table. The table of order 1 is the vocabulary
itself (index = token id). For k >= 2 an n-gram is its prefix's index in the order-(k-1) table and its last
word, packed into one integer key

    key = index(w_1 .. w_{k-1}) * V + w_k

and the order-k table is the sorted array of distinct keys. So every n-gram sharing a context sits in one
contiguous run of its table, a look-up is a binary search, and no Python object exists per n-gram.

Sentences are padded KenLM's way: one ``<s>`` in front (a context only, never predicted) and the ``</s>`` the
stream already carries at each line's end; no n-gram crosses a line end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lmlab.errors import LmlabError

MAX_ORDER = 10


@dataclass
class PaddedStream:
    """A token stream with ``<s>`` put in front of every line."""

    tokens: np.ndarray  # (P,) int64, the padded stream
    is_bos: np.ndarray  # (P,) bool, True at the inserted <s>
    hist: np.ndarray  # (P,) int64, tokens of the same line before this one, <s> included


def pad_stream(ids: np.ndarray, bos_id: int, eos_id: int) -> PaddedStream:
    """Insert ``<s>`` before every line of an ``</s>``-terminated id stream.

    >>> p = pad_stream(np.array([5, 6, 2, 7, 2]), bos_id=1, eos_id=2)
    >>> p.tokens.tolist(), p.hist.tolist()
    ([1, 5, 6, 2, 1, 7, 2], [0, 1, 2, 3, 0, 1, 2])
    """
    ids = np.asarray(ids, dtype=np.int64)
    n = ids.size
    # a last line without its </s> is still a line: it gets an <s> in front
    line_of = np.concatenate(([0], np.cumsum(ids[:-1] == eos_id))) if n else np.zeros(0, np.int64)
    n_lines = int(line_of[-1]) + 1 if n else 0
    new_pos = np.arange(n) + line_of + 1
    tokens = np.full(n + n_lines, bos_id, dtype=np.int64)
    tokens[new_pos] = ids
    is_bos = np.ones(n + n_lines, dtype=bool)
    is_bos[new_pos] = False
    bos_pos = np.flatnonzero(is_bos)
    line_start = np.repeat(bos_pos, np.diff(np.append(bos_pos, tokens.size)))
    return PaddedStream(tokens, is_bos, np.arange(tokens.size) - line_start)


@dataclass
class NgramCounts:
    """Raw counts of every n-gram of orders 1..N, as per-order arrays aligned with the sorted keys."""

    order: int
    vocab_size: int
    keys: list[np.ndarray]  # keys[k-1]: sorted int64 keys of order k (order 1: arange(V))
    counts: list[np.ndarray]  # counts[k-1]: raw count of each n-gram of order k
    suffix: list[np.ndarray]  # suffix[k-1]: index in order k-1 of the n-gram without its first word (k >= 2)
    starts_with_bos: list[np.ndarray]  # the n-gram's first word is <s>
    bos_id: int
    eos_id: int

    def parent(self, k: int) -> np.ndarray:
        """Index in order k-1 of each order-k n-gram's context (its first k-1 words)."""
        return self.keys[k - 1] // self.vocab_size

    def word(self, k: int) -> np.ndarray:
        """Last word of each order-k n-gram."""
        return self.keys[k - 1] % self.vocab_size

    def sizes(self) -> list[int]:
        """Number of distinct n-grams per order (order 1: the tokens seen, <s> included)."""
        return [int((self.counts[0] > 0).sum())] + [int(k.size) for k in self.keys[1:]]


def check_order(order: int) -> None:
    if not isinstance(order, int) or not 1 <= order <= MAX_ORDER:
        raise LmlabError(f"n-gram order must be an integer from 1 to {MAX_ORDER}, got {order!r}")


def check_vocab_size(vocab_size: int, order: int) -> None:
    # keys are index * V + w in int64: index < number of n-grams <= corpus size, so V * corpus must fit
    if vocab_size >= 2**31:
        raise LmlabError(f"vocabulary of {vocab_size} tokens is too large for the n-gram tables")


def count_ngrams(ids: np.ndarray, order: int, vocab_size: int, bos_id: int, eos_id: int) -> NgramCounts:
    """Count all n-grams of orders 1..``order`` in an ``</s>``-terminated id stream.

    >>> c = count_ngrams(np.array([3, 4, 2, 3, 2]), order=2, vocab_size=5, bos_id=1, eos_id=2)   # "a b", "a"
    >>> c.counts[0].tolist()          # <unk> <s> </s> a b
    [0, 2, 2, 2, 1]
    >>> [(int(k // 5), int(k % 5)) for k in c.keys[1]], c.counts[1].tolist()
    ([(1, 3), (3, 2), (3, 4), (4, 2)], [2, 1, 1, 1])
    """
    check_order(order)
    check_vocab_size(vocab_size, order)
    padded = pad_stream(ids, bos_id, eos_id)
    tok = padded.tokens
    if tok.size and int(tok.max()) >= vocab_size:
        raise LmlabError(f"token id {int(tok.max())} is outside the vocabulary of {vocab_size}")
    V = vocab_size
    P = tok.size
    # end[i]: position of the </s> closing position i's line; an n-gram at i of order k fits if i+k-1 <= end[i]
    eos = np.flatnonzero(tok == eos_id)
    end = eos[np.searchsorted(eos, np.arange(P))] if eos.size else np.full(P, P - 1)

    keys = [np.arange(V, dtype=np.int64)]
    counts = [np.bincount(tok, minlength=V).astype(np.int64)]
    suffix = [np.zeros(0, dtype=np.int64)]
    starts_bos = [np.arange(V) == bos_id]
    pos = np.arange(P)  # start positions of order-k n-grams that fit in their line
    idx = tok.copy()  # idx[i]: index (in the current order's table) of the n-gram starting at pos[i]
    for k in range(2, order + 1):
        fits = pos + k - 1 <= end[pos]
        prev_pos, prev_idx = pos, idx
        pos = pos[fits]
        key = prev_idx[fits] * V + tok[pos + k - 1]
        uniq, inverse, cnt = np.unique(key, return_inverse=True, return_counts=True)
        inverse = inverse.reshape(-1)
        # the suffix (w_2 .. w_k) of the n-gram at pos is the order-(k-1) n-gram starting at pos + 1
        where_prev = np.searchsorted(prev_pos, pos + 1)
        suf = np.empty(uniq.size, dtype=np.int64)
        suf[inverse] = prev_idx[where_prev]
        keys.append(uniq)
        counts.append(cnt.astype(np.int64))
        suffix.append(suf)
        starts_bos.append(starts_bos[-1][uniq // V])
        idx = inverse.astype(np.int64)
    return NgramCounts(order, V, keys, counts, suffix, starts_bos, bos_id, eos_id)
