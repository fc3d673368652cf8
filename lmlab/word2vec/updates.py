"""The readable word2vec: the per-pair updates as small functions, and a trainer for one job built from them.

Notation (Mikolov et al. 2013a, 2013b; Rong 2014). Each word w has an input vector v_w (a row of ``syn0``, the
word vectors one keeps) and output vectors: v'_w for negative sampling (a row of ``syn1neg``) and, for
hierarchical softmax, one v'_n per inner node n of the Huffman tree (rows of ``syn1``).

One binary logistic prediction of a label t in {0, 1} from an input h against an output vector u is

    f = sigma(h . u),   g = alpha (t - f),   loss = -log sigma(+-(h . u))   (+ for t = 1, - for t = 0)
    e <- e + g u        (the step for h, applied once all predictions of h are made)
    u <- u + g h

which is a step of size alpha along the gradient of log sigma(+-(h . u)) (:func:`logistic_step`). A target word
w is predicted from h by the binary decisions on its Huffman path (hierarchical softmax, t = 1 - code) and/or by
telling w (t = 1) from ``negative`` noise words drawn from the unigram distribution to the 3/4 (t = 0), skipping
a noise word equal to w (:func:`predict_word`).

- Skip-gram: for each center word w and each context word c within the window, h = v_c predicts w, then
  v_c <- v_c + e (the C tool's order: the context's input vector predicts the center word, which is the same
  objective over all pairs; :func:`skipgram_pair`).
- CBOW: h = the mean of the context's input vectors predicts w, then every context vector gets v_c <- v_c + e
  (the whole step, not e divided by the context size: the C tool's and gensim's rule with ``cbow_mean=1``;
  :func:`cbow_window`).

Each word of a sentence draws its own window span, ``window - b`` with b uniform in 0..window-1 (closer words are
used more often), and the sentence is first thinned by subsampling (:func:`lmlab.word2vec.vocab.keep_probability`).
The draws follow :mod:`lmlab.word2vec.sampling` exactly, so :func:`train_job_readable` and the compiled
``train_job`` (lmlab/word2vec/_fast.c) update a model identically from the same job and seed.

References: Mikolov et al. 2013a, "Efficient Estimation of Word Representations in Vector Space"; Mikolov et al.
2013b, "Distributed Representations of Words and Phrases and their Compositionality"; Rong 2014, "word2vec
Parameter Learning Explained"; the word2vec C tool (word2vec.c).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lmlab.word2vec.sampling import draw_noise, lcg_next, top32


def sigmoid(x: float) -> float:
    """sigma(x) = 1 / (1 + exp(-x)), without overflow for large |x|.

    >>> sigmoid(0.0), round(sigmoid(2.0), 4), sigmoid(-1000.0)
    (0.5, 0.8808, 0.0)
    """
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def log_sigmoid_loss(x: float, label: int) -> float:
    """-log P(label | x) for a logistic unit: -log sigma(x) when label is 1, -log sigma(-x) = -log(1 - sigma(x))
    when it is 0, computed as softplus(-z) = max(-z, 0) + log(1 + exp(-|z|)) with z = +-x, exact at any x.

    >>> round(log_sigmoid_loss(0.0, 1), 4), round(log_sigmoid_loss(2.0, 0), 4), log_sigmoid_loss(-100.0, 1)
    (0.6931, 2.1269, 100.0)
    """
    z = x if label else -x
    return max(-z, 0.0) + math.log1p(math.exp(-abs(z)))


def logistic_step(h: np.ndarray, u: np.ndarray, label: int, alpha: float) -> tuple[np.ndarray, np.ndarray, float]:
    """One binary prediction of ``label`` from input ``h`` against output vector ``u``: returns
    ``(e, du, loss)``, the step for h (g u), the step for u (g h) and the loss, with g = alpha (label - sigma(h . u)).

    >>> h, u = np.array([1.0, 0.0], np.float32), np.array([0.0, 0.5], np.float32)
    >>> e, du, loss = logistic_step(h, u, 1, alpha=0.1)   # h . u = 0: f = 0.5, g = 0.1 * (1 - 0.5) = 0.05
    >>> e.tolist(), du.tolist(), round(loss, 4)
    ([0.0, 0.02500000037252903], [0.05000000074505806, 0.0], 0.6931)
    """
    x = float(np.dot(h, u))
    g = np.float32(alpha * (label - sigmoid(x)))
    return g * u, g * h, log_sigmoid_loss(x, label)


@dataclass
class Weights:
    """The trained arrays: ``syn0`` (V, D) word vectors, ``syn1neg`` (V, D) negative-sampling output vectors,
    ``syn1`` (V - 1, D) hierarchical-softmax inner-node vectors (empty arrays when unused)."""

    syn0: np.ndarray
    syn1neg: np.ndarray
    syn1: np.ndarray


@dataclass
class Tables:
    """What the draws and the tree read: subsampling thresholds, the noise alias table, the Huffman paths."""

    keep: np.ndarray  # (V,) uint64
    alias_prob: np.ndarray  # (V,) uint64
    alias_index: np.ndarray  # (V,) int32
    code_offsets: np.ndarray  # (V + 1,) int64
    codes: np.ndarray  # uint8
    points: np.ndarray  # int32


@dataclass(frozen=True)
class Settings:
    """What a job needs of the configuration."""

    dim: int
    window: int
    negative: int
    hs: bool
    cbow: bool
    sample: bool  # subsampling on (a draw per word)


def predict_word(
    h: np.ndarray, w: int, weights: Weights, tables: Tables, s: Settings, alpha: float, state: int
) -> tuple[np.ndarray, float, int]:
    """Every prediction of target word ``w`` from input ``h``: its Huffman path (t = 1 - code at each node), then
    w itself (t = 1) and ``negative`` noise words (t = 0; a draw equal to w is skipped). Output vectors are
    updated as each prediction is made; returns the accumulated step ``e`` for h, the loss and the new state.

    >>> weights = Weights(np.zeros((2, 2), np.float32), np.array([[0, 0], [1, 1]], np.float32), np.zeros((0, 2)))
    >>> tables = Tables(np.zeros(2, np.uint64), *alias_uniform(2), np.zeros(3, np.int64), np.zeros(0, np.uint8),
    ...                 np.zeros(0, np.int32))
    >>> s = Settings(dim=2, window=1, negative=1, hs=False, cbow=False, sample=False)
    >>> e, loss, state = predict_word(np.array([1, 0], np.float32), 0, weights, tables, s, 0.1, state=1)
    >>> e.tolist(), round(loss, 4), weights.syn1neg.tolist()   # the noise draw was word 0 itself: skipped
    ([0.0, 0.0], 0.6931, [[0.05000000074505806, 0.0], [1.0, 1.0]])
    """
    e = np.zeros(s.dim, dtype=np.float32)
    loss = 0.0
    if s.hs:
        for c in range(int(tables.code_offsets[w]), int(tables.code_offsets[w + 1])):
            node = int(tables.points[c])
            de, du, term = logistic_step(h, weights.syn1[node], 1 - int(tables.codes[c]), alpha)
            weights.syn1[node] += du
            e += de
            loss += term
    if s.negative:
        de, du, term = logistic_step(h, weights.syn1neg[w], 1, alpha)
        weights.syn1neg[w] += du
        e += de
        loss += term
        for _ in range(s.negative):
            target, state = draw_noise(state, tables.alias_prob, tables.alias_index)
            if target == w:
                continue
            de, du, term = logistic_step(h, weights.syn1neg[target], 0, alpha)
            weights.syn1neg[target] += du
            e += de
            loss += term
    return e, loss, state


def alias_uniform(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The alias table of the uniform distribution (every column keeps its own word): for examples and tests.

    >>> alias_uniform(2)
    (array([4294967296, 4294967296], dtype=uint64), array([0, 1], dtype=int32))
    """
    return np.full(size, 2**32, dtype=np.uint64), np.arange(size, dtype=np.int32)


def skipgram_pair(
    center: int, context: int, weights: Weights, tables: Tables, s: Settings, alpha: float, state: int
) -> tuple[float, int]:
    """Skip-gram on one (center, context) pair: v_context predicts the center word, then takes its step.
    Returns the loss and the new state."""
    h = weights.syn0[context]
    e, loss, state = predict_word(h, center, weights, tables, s, alpha, state)
    weights.syn0[context] += e
    return loss, state


def cbow_window(
    center: int, context: list[int], weights: Weights, tables: Tables, s: Settings, alpha: float, state: int
) -> tuple[float, int]:
    """CBOW on one window: h = mean of the context's input vectors predicts the center word; each context word
    gets the whole step e. Returns the loss and the new state."""
    h = np.zeros(s.dim, dtype=np.float32)
    for c in context:
        h += weights.syn0[c]
    h *= np.float32(1.0) / np.float32(len(context))
    e, loss, state = predict_word(h, center, weights, tables, s, alpha, state)
    for c in context:
        weights.syn0[c] += e
    return loss, state


def window_span(window: int, state: int) -> tuple[int, int]:
    """The span of one word's window, ``window - b`` with b = u32 mod window, and the new state.

    >>> window_span(5, state=1)
    (5, 25214903928)
    """
    state = lcg_next(state)
    return window - top32(state) % window, state


def train_job_readable(
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
    """One job, sentence by sentence: drop words out of the vocabulary (id -1), give each word of the vocabulary
    its learning rate ``max(alpha0 - alpha_step * k, min_alpha)`` (k counts them from 0), subsample, then train
    every window. Returns ``(loss, predictions, kept words)``; the loss sums -log p over every binary prediction.
    """
    state = seed
    loss, predictions, kept_total, seen, start = 0.0, 0, 0, 0, 0
    for end in sentence_ends.tolist():
        kept: list[tuple[int, float]] = []
        for w in ids[start:end].tolist():
            if w < 0:
                continue
            alpha = float(np.float32(max(alpha0 - alpha_step * seen, min_alpha)))
            seen += 1
            if s.sample:
                state = lcg_next(state)
                if top32(state) >= int(tables.keep[w]):
                    continue
            kept.append((w, alpha))
        start = end
        kept_total += len(kept)
        for i, (w, alpha) in enumerate(kept):
            span, state = window_span(s.window, state)
            context = [kept[j][0] for j in range(max(0, i - span), min(len(kept), i + span + 1)) if j != i]
            if s.cbow:
                if context:
                    term, state = cbow_window(w, context, weights, tables, s, alpha, state)
                    loss += term
                    predictions += 1
            else:
                for c in context:
                    term, state = skipgram_pair(w, c, weights, tables, s, alpha, state)
                    loss += term
                    predictions += 1
    return loss, predictions, kept_total


__all__ = [
    "Settings",
    "Tables",
    "Weights",
    "alias_uniform",
    "cbow_window",
    "log_sigmoid_loss",
    "logistic_step",
    "predict_word",
    "sigmoid",
    "skipgram_pair",
    "train_job_readable",
    "window_span",
]
