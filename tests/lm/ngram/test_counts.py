"""Vectorised counting equals a plain Python count of padded sentences."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from lmlab.lm.ngram import smoothing as sm
from lmlab.lm.ngram.counts import count_ngrams, pad_stream
from lmlab.tokenizers import BOS_ID, EOS_ID


def brute_counts(sentences, order):
    counts = Counter()
    for s in sentences:
        padded = [BOS_ID, *s, EOS_ID]
        for k in range(1, order + 1):
            for i in range(len(padded) - k + 1):
                counts[tuple(padded[i : i + k])] += 1
    return counts


def as_tuples(c, k):
    V = c.vocab_size
    words = np.arange(V).reshape(-1, 1)
    for j in range(2, k + 1):
        key = c.keys[j - 1]
        words = np.hstack([words[key // V], (key % V).reshape(-1, 1)])
    return [tuple(w) for w in words.tolist()]


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_counts_match_brute_force(order):
    rng = np.random.default_rng(order)
    V = 9
    sentences = [list(rng.integers(3, V, size=rng.integers(0, 8))) for _ in range(40)]
    ids = np.concatenate([np.array([*s, EOS_ID]) for s in sentences])
    c = count_ngrams(ids, order, V, BOS_ID, EOS_ID)
    want = brute_counts(sentences, order)
    for k in range(1, order + 1):
        got = {t: int(n) for t, n in zip(as_tuples(c, k), c.counts[k - 1].tolist()) if n > 0}
        assert got == {t: n for t, n in want.items() if len(t) == k}
        # suffix pointers: the suffix of every n-gram is the n-gram without its first word
        if k > 1:
            tuples_lower = as_tuples(c, k - 1)
            for t, s in zip(as_tuples(c, k), c.suffix[k - 1].tolist()):
                assert tuples_lower[s] == t[1:]


def test_adjusted_counts_are_continuation_counts():
    # "a b" after <s> and after "c": b has 2 distinct left neighbours; <s>-initial n-grams keep raw counts
    sentences = [[3, 4], [5, 4], [3, 4]]
    ids = np.concatenate([np.array([*s, EOS_ID]) for s in sentences])
    c = count_ngrams(ids, 3, 6, BOS_ID, EOS_ID)
    adj = sm.adjusted_counts(c)
    assert adj[0][4] == 2  # . b : {a, c}
    assert adj[0][3] == 1  # . a : {<s>}
    bigrams = dict(zip(as_tuples(c, 2), adj[1].tolist()))
    assert bigrams[(BOS_ID, 3)] == 2  # <s> a: raw count
    assert bigrams[(3, 4)] == 1  # a b: left neighbour <s> only


def test_pad_stream_handles_unterminated_last_line():
    p = pad_stream(np.array([5, 2, 6]), BOS_ID, EOS_ID)
    assert p.tokens.tolist() == [1, 5, 2, 1, 6]
    assert p.is_bos.tolist() == [True, False, False, True, False]
