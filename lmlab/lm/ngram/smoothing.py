"""Smoothing: from n-gram counts to a backoff model (log10 probabilities and backoff weights, as in ARPA).

Every estimator returns one ``(logp, bow)`` pair of arrays per order, aligned with the count tables:

    p(w | h) = p_stored(h w)                       if h w was seen
             = bow(h) * p(w | h')                   otherwise, h' = h without its first word

so one scoring routine and one ARPA writer serve them all. Interpolated estimators fit this form exactly: the
stored probability of a seen n-gram is the whole interpolated value, and ``bow(h)`` is the interpolation weight
gamma(h) of the lower order. Unless ``interpolate_unigrams`` is off, the unigram level is itself interpolated
with the uniform distribution over the vocabulary (``<s>`` excluded), so no token has probability 0; off, the
unigram level is the plain relative frequency of its counts (the textbook form, and NLTK's).

References: Chen & Goodman 1998, "An Empirical Study of Smoothing Techniques for Language Modeling";
Kneser & Ney 1995; Katz 1987; Witten & Bell 1991; Brants et al. 2007 (stupid backoff);
Heafield et al. 2013, "Scalable Modified Kneser-Ney Language Model Estimation" (KenLM lmplz).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lmlab.errors import LmlabError
from lmlab.lm.ngram.counts import NgramCounts

log = logging.getLogger(__name__)

#: lmplz's --discount_fallback values, used where the closed form cannot be computed.
FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)


@dataclass
class BackoffTables:
    """log10 probabilities and backoff weights per order, aligned with the counts' key tables."""

    logp: list[np.ndarray]
    bow: list[np.ndarray]
    missing_context_bow: float = 0.0  # log10 weight for a context the model never saw (stupid backoff)
    discounts: list[tuple[float, ...]] | None = None  # per order, for estimators that discount


def _log10(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log10(x)


def _per_context(parent: np.ndarray, values: np.ndarray, n_contexts: int) -> np.ndarray:
    """Sum of ``values`` over the n-grams sharing each context."""
    return np.bincount(parent, weights=values, minlength=n_contexts)


def counts_of_counts(a: np.ndarray, up_to: int = 4) -> np.ndarray:
    """``t[j]`` = number of n-grams with count exactly j, j = 0..up_to (``t[0]`` unused).

    >>> counts_of_counts(np.array([1, 1, 2, 3, 3, 3, 7]), 4).tolist()
    [0, 2, 1, 3, 0]
    """
    t = np.bincount(np.minimum(a[a > 0], up_to + 1), minlength=up_to + 2)[: up_to + 1]
    return t.astype(np.int64)


def modified_kn_discounts(t: np.ndarray) -> tuple[float, float, float] | None:
    """Chen & Goodman's closed-form discounts D1, D2, D3+ from counts of counts t1..t4, or None if undefined.

        Y = t1 / (t1 + 2 t2),   D_j = j - (j + 1) Y t_{j+1} / t_j

    A discount is usable only if it lies in [0, j] (lmplz's test); otherwise None and the caller falls back.

    >>> [round(d, 4) for d in modified_kn_discounts(np.array([0, 100, 40, 20, 10]))]
    [0.5556, 1.1667, 1.8889]
    """
    t1, t2, t3, t4 = (int(x) for x in t[1:5])
    if min(t1, t2, t3) == 0:  # t4 = 0 is allowed: D3+ = 3 (lmplz's rule)
        return None
    y = t1 / (t1 + 2 * t2)
    d = (1 - 2 * y * t2 / t1, 2 - 3 * y * t3 / t2, 3 - 4 * y * t4 / t3)
    if any(not (0.0 <= dj <= j) for j, dj in enumerate(d, start=1)):
        return None
    return d


def kn_discount(t: np.ndarray) -> float | None:
    """Ney's single discount D = t1 / (t1 + 2 t2), or None if undefined.

    >>> round(kn_discount(np.array([0, 100, 40])), 4)
    0.5556
    """
    t1, t2 = int(t[1]), int(t[2])
    if t1 == 0 or t1 + 2 * t2 == 0:
        return None
    return t1 / (t1 + 2 * t2)


def adjusted_counts(counts: NgramCounts) -> list[np.ndarray]:
    """Kneser-Ney's adjusted counts: continuation counts below the highest order.

    a(w_1..w_k) = c(w_1..w_k)              if k = N or w_1 = <s>
                = N1+(. w_1..w_k)          otherwise: the number of distinct words seen before it
    """
    N = counts.order
    adj = []
    for k in range(1, N + 1):
        if k == N:
            adj.append(counts.counts[k - 1].copy())
            continue
        left_extensions = np.bincount(counts.suffix[k], minlength=counts.counts[k - 1].size).astype(np.int64)
        raw = counts.counts[k - 1]
        adj.append(np.where(counts.starts_with_bos[k - 1], raw, left_extensions))
    return adj


def _interpolated(
    counts: NgramCounts,
    alpha_gamma: Callable[[int, np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray]],
    level_counts: list[np.ndarray],
    *,
    interpolate_unigrams: bool,
    keep: list[np.ndarray] | None = None,
) -> BackoffTables:
    """Build interpolated tables: p_k(h w) = alpha_k(h w) + gamma_k(h) p_{k-1}(h' w).

    ``alpha_gamma(k, parent, c, n_contexts)`` gives alpha for each order-k n-gram and gamma for each context;
    with ``keep`` (the n-grams that pruning keeps, per order, see :mod:`lmlab.lm.ngram.prune`) it takes them as a
    fifth argument, and a context's back-off weight counts only the children kept.
    """
    extra = (lambda k: (keep[k - 1],)) if keep is not None else (lambda k: ())
    N, V = counts.order, counts.vocab_size
    # every id but <s>; a pruned model spreads over the words it keeps, as lmplz does
    n_predictable = (V if keep is None else int(keep[0].sum())) - 1
    c1 = level_counts[0].astype(np.float64).copy()
    c1[counts.bos_id] = 0.0
    if interpolate_unigrams:
        alpha1, gamma0 = alpha_gamma(1, np.zeros(V, dtype=np.int64), c1, 1, *extra(1))
        p = alpha1 + gamma0[0] / n_predictable
    else:  # the textbook bottom: the level's own relative frequencies
        p = c1 / c1.sum()
    p[counts.bos_id] = 0.0
    probs = [p]
    bows = []
    for k in range(2, N + 1):
        parent = counts.parent(k)
        n_ctx = counts.keys[k - 2].size
        alpha, gamma = alpha_gamma(k, parent, level_counts[k - 1].astype(np.float64), n_ctx, *extra(k))
        probs.append(alpha + gamma[parent] * probs[k - 2][counts.suffix[k - 1]])
        children = parent if keep is None else parent[keep[k - 1]]
        has_children = np.bincount(children, minlength=n_ctx) > 0
        bows.append(np.where(has_children, _log10(gamma), 0.0))
    bows.append(np.zeros(counts.keys[N - 1].size))
    return BackoffTables([_log10(p) for p in probs], bows)


def _discounted_alpha_gamma(discount_of: Callable[[int, np.ndarray], np.ndarray]):
    """alpha/gamma of absolute discounting, with ``discount_of(k, c)`` giving each n-gram's discount."""

    def alpha_gamma(k, parent, c, n_ctx, keep=None):
        d = np.where(c > 0, np.minimum(discount_of(k, c), c), 0.0)
        if keep is not None:  # a pruned n-gram gives its whole count to its context's weight (lmplz)
            d = np.where(keep, d, c)
        denom = _per_context(parent, c, n_ctx)
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = (c - d) / denom[parent]
            gamma = _per_context(parent, d, n_ctx) / denom
        return alpha, gamma

    return alpha_gamma


def kneser_ney(
    counts: NgramCounts,
    *,
    modified: bool = True,
    interpolate_unigrams: bool = True,
    keep: list[np.ndarray] | None = None,
) -> BackoffTables:
    """Interpolated (modified) Kneser-Ney, as KenLM's lmplz estimates it.

        p(w | h) = (a(h w) - D(a(h w))) / sum_x a(h x)  +  gamma(h) p(w | h')
        gamma(h) = (D1 N1(h .) + D2 N2(h .) + D3+ N3+(h .)) / sum_x a(h x)

    with a the adjusted counts, and the discounts of each order from its counts of counts (one discount
    D = t1 / (t1 + 2 t2) for all counts when ``modified`` is False). With ``keep`` (per order, the n-grams pruning
    keeps), the weights are lmplz's for a pruned model (:mod:`lmlab.lm.ngram.prune`); the tables still hold
    every n-gram, for :func:`~lmlab.lm.ngram.prune.prune_tables` to drop the pruned ones.
    """
    adj = adjusted_counts(counts)
    discounts: list[tuple[float, ...]] = []
    for k in range(1, counts.order + 1):
        a = adj[k - 1]
        if k == 1:
            a = np.where(np.arange(a.size) == counts.bos_id, 0, a)
        discounts.append(kn_discounts_of_order(counts_of_counts(a), k, modified=modified))
    alpha_gamma = kn_alpha_gamma(discounts)
    tables = _interpolated(counts, alpha_gamma, adj, interpolate_unigrams=interpolate_unigrams, keep=keep)
    tables.discounts = discounts
    return tables


def kn_discounts_of_order(t: np.ndarray, k: int, *, modified: bool) -> tuple[float, ...]:
    """The discounts (D1, D2, D3+) of order k from the counts of counts of its adjusted counts, with lmplz's
    fallback (and a warning) where the closed form is undefined; with ``modified`` False, one discount thrice."""
    if modified:
        d = modified_kn_discounts(t)
        if d is None and t.any():  # an empty order (above the longest line) needs no warning
            log.warning(
                "order %d: Kneser-Ney discounts cannot be computed from counts of counts %s; "
                "falling back to D1=0.5 D2=1 D3+=1.5 (like lmplz --discount_fallback)",
                k,
                t[1:].tolist(),
            )
        return tuple(FALLBACK_DISCOUNTS if d is None else d)
    d1 = kn_discount(t)
    if d1 is None or not 0 < d1 <= 1:
        if t.any():
            log.warning("order %d: Kneser-Ney discount cannot be computed; falling back to D=0.75", k)
        d1 = 0.75
    return (d1, d1, d1)


def kn_alpha_gamma(discounts: list[tuple[float, ...]]):
    """Kneser-Ney's ``alpha_gamma(k, parent, c, n_contexts)`` (see :func:`_interpolated`) for per-order discounts."""
    table = np.array(discounts)

    def discount_of(k, c):
        return table[k - 1][np.minimum(c.astype(np.int64), 3) - 1]

    return _discounted_alpha_gamma(discount_of)


def absolute_discount(
    counts: NgramCounts, *, discount: float = 0.75, interpolate_unigrams: bool = True
) -> BackoffTables:
    """Interpolated absolute discounting on raw counts (Ney, Essen & Kneser 1994).

    p(w | h) = max(c(h w) - D, 0) / c(h)  +  D N1+(h .) / c(h) * p(w | h')
    """
    if not 0 < discount < 1:
        raise LmlabError(f"absolute discount must be in (0, 1), got {discount}")
    tables = _interpolated(
        counts,
        _discounted_alpha_gamma(lambda k, c: np.full_like(c, discount)),
        counts.counts,
        interpolate_unigrams=interpolate_unigrams,
    )
    tables.discounts = [(discount,)] * counts.order
    return tables


def witten_bell(counts: NgramCounts, *, interpolate_unigrams: bool = True) -> BackoffTables:
    """Interpolated Witten-Bell.

    p(w | h) = (c(h w) + N1+(h .) p(w | h')) / (c(h) + N1+(h .))
    """

    def alpha_gamma(k, parent, c, n_ctx):
        types = _per_context(parent, (c > 0).astype(np.float64), n_ctx)
        denom = _per_context(parent, c, n_ctx) + types
        with np.errstate(divide="ignore", invalid="ignore"):
            return c / denom[parent], types / denom

    return _interpolated(counts, alpha_gamma, counts.counts, interpolate_unigrams=interpolate_unigrams)


def mle(counts: NgramCounts) -> BackoffTables:
    """Maximum likelihood, p(w | h) = c(h w) / c(h): probability 0 for a word never seen after a seen context.

    A context never seen in training falls back to the next shorter context (the estimate is undefined there).
    """

    def alpha_gamma(k, parent, c, n_ctx):
        with np.errstate(divide="ignore", invalid="ignore"):
            return c / _per_context(parent, c, n_ctx)[parent], np.zeros(n_ctx)

    return _interpolated(counts, alpha_gamma, counts.counts, interpolate_unigrams=False)


def add_k(counts: NgramCounts, *, k: float = 1.0) -> BackoffTables:
    """Additive (Lidstone; Laplace at k=1) smoothing:

        p(w | h) = (c(h w) + k) / (c(h) + k V)

    with h the longest history the sentence has (the full N-1 words, or fewer words after ``<s>`` at a sentence
    start). V counts every token but ``<s>``; a history never seen gives the uniform 1/V. In back-off form the
    lower orders hold 1/V except where they are themselves full histories (they start with ``<s>``), and
    ``bow(h) = k V / (c(h) + k V)``.
    """
    if not k > 0:
        raise LmlabError(f"add-k needs k > 0, got {k}")
    N, V = counts.order, counts.vocab_size
    n = V - 1
    logp = [np.full(keys.size, -math.log10(n)) for keys in counts.keys]
    bows = [np.zeros(keys.size) for keys in counts.keys]
    if N == 1:
        c = counts.counts[0].astype(np.float64).copy()
        c[counts.bos_id] = 0
        logp[0] = np.log10((c + k) / (c.sum() + k * n))
    for j in range(2, N + 1):
        rows = np.ones(counts.keys[j - 1].size, dtype=bool) if j == N else counts.starts_with_bos[j - 1]
        c = counts.counts[j - 1][rows].astype(np.float64)
        parent, n_ctx = counts.parent(j)[rows], counts.keys[j - 2].size
        denom = _per_context(parent, c, n_ctx) + k * n
        logp[j - 1][rows] = np.log10((c + k) / denom[parent])
        has_children = np.bincount(parent, minlength=n_ctx) > 0
        bows[j - 2] = np.where(has_children, np.log10(k * n / denom), bows[j - 2])
    logp[0][counts.bos_id] = -np.inf
    return BackoffTables(logp, bows)


def good_turing_discounts(t: np.ndarray, max_count: int = 5) -> np.ndarray:
    """Katz's discount ratios d_c for counts c = 1..K from counts of counts t (``t[c]``), K = ``max_count``.

        c* = (c + 1) t_{c+1} / t_c,   R = (K + 1) t_{K+1} / t_1,   d_c = (c*/c - R) / (1 - R)

    K shrinks until every d_c lies in (0, 1]; returned as an array indexed by c (``d[0]`` unused), with
    ``d_c = 1`` above K. Where no K works (tiny corpora), every count is discounted by 0.5 instead, with a warning.
    """
    for K in range(max_count, 0, -1):
        if t.size < K + 2 or t[1] == 0 or any(t[c] == 0 for c in range(1, K + 2)):
            continue
        R = (K + 1) * t[K + 1] / t[1]
        if R >= 1:
            continue
        d = np.ones(K + 1)
        for c in range(1, K + 1):
            d[c] = ((c + 1) * t[c + 1] / t[c] / c - R) / (1 - R)
        if np.all((d[1:] > 0) & (d[1:] <= 1)):
            return d
    if t[1:].any():  # an empty order (above the longest line) discounts nothing: no warning
        log.warning(
            "Good-Turing discounts cannot be computed from counts of counts %s; discounting every count by 0.5",
            t[1:6].tolist(),
        )
    return np.array([1.0] + [(c - 0.5) / c for c in range(1, 1 << 16)])


def katz(counts: NgramCounts, *, max_count: int = 5) -> BackoffTables:
    """Katz backoff with Good-Turing discounting (Katz 1987).

        p(w | h) = d_c c(h w) / c(h)          if c(h w) > 0
                 = alpha(h) p(w | h')         otherwise
        alpha(h) = (1 - sum_{w seen after h} p(w | h)) / (1 - sum_{w seen after h} p(w | h'))

    The unigram level spreads its left-over mass uniformly over the vocabulary. As in Katz's definition, a
    context whose followers were all seen more than K times keeps no mass for unseen words (they get 0 there).
    """
    N, V = counts.order, counts.vocab_size
    logp, bows = [], []
    probs = []
    for k in range(1, N + 1):
        c = counts.counts[k - 1].astype(np.float64)
        if k == 1:
            c = c.copy()
            c[counts.bos_id] = 0
        d = good_turing_discounts(counts_of_counts(c.astype(np.int64), max_count + 1), max_count)
        ci = c.astype(np.int64)
        ratio = np.where(ci < d.size, d[np.minimum(ci, d.size - 1)], 1.0)
        if k == 1:
            p_star = ratio * c / c.sum()
            p = p_star + (1.0 - p_star.sum()) / (V - 1)
            p[counts.bos_id] = 0.0
        else:
            parent, n_ctx = counts.parent(k), counts.keys[k - 2].size
            p = ratio * c / _per_context(parent, c, n_ctx)[parent]
            lower = probs[k - 2][counts.suffix[k - 1]]
            left = 1.0 - _per_context(parent, p, n_ctx)
            left_lower = np.maximum(1.0 - _per_context(parent, lower, n_ctx), 1e-12)
            has_children = np.bincount(parent, minlength=n_ctx) > 0
            bows[k - 2] = np.where(has_children, _log10(np.maximum(left, 0.0) / left_lower), 0.0)
        probs.append(p)
        logp.append(_log10(p))
        bows.append(np.zeros(c.size))
    return BackoffTables(logp, bows)


def stupid_backoff(counts: NgramCounts, *, alpha: float = 0.4) -> BackoffTables:
    """Stupid backoff (Brants et al. 2007): scores, not probabilities.

    S(w | h) = c(h w) / c(h)   if c(h w) > 0,   else alpha S(w | h');   S(w) = c(w) / N
    """
    if not 0 < alpha <= 1:
        raise LmlabError(f"stupid backoff alpha must be in (0, 1], got {alpha}")
    tables = mle(counts)
    la = math.log10(alpha)
    return BackoffTables(tables.logp, [np.full(b.size, la) for b in tables.bow], missing_context_bow=la)


#: Names accepted by --smoothing, with the estimator each selects.
SMOOTHINGS: dict[str, str] = {
    "mle": "maximum likelihood (no smoothing; unseen events get probability 0)",
    "add-k": "additive smoothing, Laplace at k=1 (--k)",
    "absolute-discount": "interpolated absolute discounting (--discount)",
    "witten-bell": "interpolated Witten-Bell",
    "katz": "Katz backoff with Good-Turing discounts",
    "kneser-ney": "interpolated Kneser-Ney, one discount per order",
    "modified-kneser-ney": "interpolated modified Kneser-Ney (Chen & Goodman; KenLM lmplz)",
    "stupid-backoff": "stupid backoff (scores, not probabilities: no perplexity)",
}
