"""Count-based text classifiers over word n-grams: multinomial naive Bayes, and NBSVM.

Multinomial naive Bayes (MNB) scores class c for a text with n-gram counts x as

    log P(c) + sum_f x_f log P(f | c),   P(f | c) = (count(f, c) + alpha) / (sum_g count(g, c) + alpha |V|)

and ``predict_proba`` is the softmax of those scores over the classes (the exact posterior under the model).
With ``binary=True`` each n-gram counts once per text, Wang & Manning's (2012) MNB.

NBSVM (Wang & Manning 2012) trains a linear SVM on the binarized features scaled by the NB log-count ratio

    r = log( (p / ||p||_1) / (q / ||q||_1) ),   p = alpha + sum of x over the class's texts, q = over the others,

then interpolates the weights toward their mean magnitude, ``w' = (1 - beta) mean|w| + beta w`` (and the bias
likewise, see :func:`interpolate`), and scores ``w' . (r * x) + b'``. More than two classes: one such classifier
per class against the rest. Its ``predict_proba`` is a sigmoid (two classes) or softmax (more) of those margins:
a monotone score that sums to one, not a calibrated probability.

The SVM is Wang & Manning's L2-regularised L2-loss (squared hinge) SVM, posed as LIBLINEAR poses it (the 1/2 on
the regulariser, the bias a regularised constant feature of value 1 as with its ``-B 1``)::

    min_w 1/2 ||w||^2 + C sum_i max(0, 1 - y_i w . x_i)^2

solved here by Newton's method with conjugate gradients (the loss is piecewise quadratic; Keerthi & DeCoste
2005, Lin et al. 2008). Pure NumPy: no PyTorch, no SciPy.

References: McCallum & Nigam 1998; Jurafsky & Martin, Speech and Language Processing (3rd ed.), ch. 4;
Wang & Manning 2012, "Baselines and Bigrams: Simple, Good Sentiment and Topic Classification";
Fan et al. 2008 (LIBLINEAR).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from lmlab.errors import LmlabError
from lmlab.io import atomic_open, write_json
from lmlab.runfiles import read_json, read_safetensors_arrays

log = logging.getLogger(__name__)

FORMAT = "lmlab-nb"
#: 2: the n-gram vocabulary is in the weights file (``vocab_utf8``), so nb.json stays small whatever the vocabulary
VERSION = 2
WEIGHTS_FILE = "model.safetensors"
META_FILE = "nb.json"
MAX_NGRAM = 5


@dataclass
class NBConfig:
    """Naive Bayes / NBSVM hyperparameters (defaults: Wang & Manning 2012's MNB with bigrams)."""

    ngram: int = 2  # word n-grams of length 1..ngram; bigrams: 79.0 vs 77.9 for unigrams on MR (W&M Table 2)
    alpha: float = 1.0  # Laplace smoothing (add-one), W&M's choice; Lidstone with another value
    binary: bool = True  # count an n-gram once per text: W&M found binarized counts better for sentiment
    lowercase: bool = False  # the named datasets are lowercased already; turn on for raw text
    svm: bool = False  # NBSVM: an SVM on NB-scaled features instead of the NB weights (W&M section 2.2)
    C: float = 1.0  # NBSVM: the SVM's loss weight, W&M's value
    beta: float = 0.25  # NBSVM: weight on the SVM in the interpolation with the mean magnitude, W&M's value
    tol: float = 1e-6  # NBSVM: stop Newton when the gradient norm has fallen by this factor
    max_iter: int = 100  # NBSVM: Newton steps at most (it typically needs 10 to 20)

    def __post_init__(self) -> None:
        if not (isinstance(self.ngram, int) and 1 <= self.ngram <= MAX_NGRAM):
            raise LmlabError(f"ngram must be an integer from 1 to {MAX_NGRAM}, not {self.ngram!r}")
        if not self.alpha > 0:
            raise LmlabError(f"alpha (smoothing) must be > 0, not {self.alpha!r}")
        if not self.C > 0:
            raise LmlabError(f"C must be > 0, not {self.C!r}")
        if not 0 <= self.beta <= 1:
            raise LmlabError(f"beta must be in [0, 1], not {self.beta!r}")
        if not self.tol > 0 or self.max_iter < 1:
            raise LmlabError(f"tol must be > 0 and max_iter >= 1, not {self.tol!r} and {self.max_iter!r}")


def word_ngrams(text: str, n: int, *, lowercase: bool = False) -> list[str]:
    """The whitespace-separated words of ``text`` and their n-grams up to length ``n``, joined by one space.

    >>> word_ngrams("the cat sat", 2)
    ['the', 'cat', 'sat', 'the cat', 'cat sat']
    """
    words = (text.lower() if lowercase else text).split()
    grams = list(words)
    for k in range(2, n + 1):
        grams += [" ".join(words[i : i + k]) for i in range(len(words) - k + 1)]
    return grams


@dataclass(frozen=True)
class SparseRows:
    """A sparse (N, V) matrix in compressed-row form: row i has ``values[indptr[i]:indptr[i+1]]`` at columns
    ``indices[...]``. Products go through ``np.bincount``, so no SciPy is needed."""

    indptr: np.ndarray  # (N + 1,) int64
    indices: np.ndarray  # (nnz,) int64
    values: np.ndarray  # (nnz,) float64
    n_cols: int

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    @property
    def row_ids(self) -> np.ndarray:
        """The row of each stored value, (nnz,)."""
        return np.repeat(np.arange(self.n_rows), np.diff(self.indptr))

    def with_values(self, values: np.ndarray) -> SparseRows:
        return SparseRows(self.indptr, self.indices, values, self.n_cols)

    def matvec(self, v: np.ndarray, row_ids: np.ndarray | None = None) -> np.ndarray:
        """X @ v, (N,)."""
        rows = self.row_ids if row_ids is None else row_ids
        return np.bincount(rows, weights=self.values * v[self.indices], minlength=self.n_rows)

    def rmatvec(self, u: np.ndarray, row_ids: np.ndarray | None = None) -> np.ndarray:
        """X^T @ u, (V,)."""
        rows = self.row_ids if row_ids is None else row_ids
        return np.bincount(self.indices, weights=self.values * u[rows], minlength=self.n_cols)

    def matmul_t(self, W: np.ndarray) -> np.ndarray:
        """X @ W^T for W of shape (C, V): (N, C)."""
        rows = self.row_ids
        return np.stack([self.matvec(w, rows) for w in W], axis=1)

    def sums_by_row_group(self, group: np.ndarray, n_groups: int) -> np.ndarray:
        """Column sums over the rows of each group: (n_groups, V), row i belonging to ``group[i]``."""
        flat = group[self.row_ids] * self.n_cols + self.indices
        return np.bincount(flat, weights=self.values, minlength=n_groups * self.n_cols).reshape(n_groups, -1)


def count_rows(texts: Sequence[str], vocab: dict[str, int], config: NBConfig) -> SparseRows:
    """The n-gram counts of each text over ``vocab`` (n-grams outside it are dropped); 0/1 if ``binary``."""
    indptr = [0]
    indices: list[int] = []
    values: list[int] = []
    for text in texts:
        counts = Counter(vocab[g] for g in word_ngrams(text, config.ngram, lowercase=config.lowercase) if g in vocab)
        ids = sorted(counts)
        indices += ids
        values += [1 if config.binary else counts[i] for i in ids]
        indptr.append(len(indices))
    return SparseRows(
        np.asarray(indptr, dtype=np.int64),
        np.asarray(indices, dtype=np.int64),
        np.asarray(values, dtype=np.float64),
        len(vocab),
    )


def nb_log_probs(feature_counts: np.ndarray, alpha: float) -> np.ndarray:
    """log P(f | c) with add-alpha smoothing, (C, V) from (C, V) counts.

    >>> np.exp(nb_log_probs(np.array([[3.0, 1.0, 0.0]]), alpha=1.0)).round(4)
    array([[0.5714, 0.2857, 0.1429]])
    """
    smoothed = feature_counts + alpha
    return np.log(smoothed) - np.log(smoothed.sum(axis=1, keepdims=True))


def log_count_ratio(p_counts: np.ndarray, q_counts: np.ndarray, alpha: float) -> np.ndarray:
    """Wang & Manning's r = log((p / ||p||_1) / (q / ||q||_1)) with p = alpha + p_counts, q = alpha + q_counts.

    Here p = [4, 1] and q = [2, 3], so r = [log(0.8 / 0.4), log(0.2 / 0.6)] = [log 2, -log 3]:

    >>> log_count_ratio(np.array([3.0, 0.0]), np.array([1.0, 2.0]), alpha=1.0).round(4)
    array([ 0.6931, -1.0986])
    """
    p, q = p_counts + alpha, q_counts + alpha
    return np.log(p / p.sum()) - np.log(q / q.sum())


def interpolate(w: np.ndarray, b: float, nb_bias: float, beta: float) -> tuple[np.ndarray, float]:
    """Wang & Manning's interpolation between the SVM ``(w, b)`` and MNB scaled to its size: returns
    ``w' = (1 - beta) mean|w| + beta w`` and ``b' = (1 - beta) mean|w| nb_bias + beta b``.

    On features ``r * x`` the weights ``mean|w|`` (every n-gram alike) make MNB's score ``r . x + nb_bias`` (W&M
    eq. 2, ``nb_bias = log(N+ / N-)``) times ``mean|w|``; the paper writes the interpolation for ``w`` only, and
    it is applied to the bias the same way here, so that beta = 0 is exactly (scaled) MNB and the classifiers of
    a one-vs-rest model stay on one scale. (Keeping the SVM's ``b`` as it is: 78.6% instead of 79.0% on MR,
    10-fold, bigrams; and far worse one-vs-rest.)

    >>> interpolate(np.array([2.0, -1.0, 0.0]), b=1.0, nb_bias=0.5, beta=0.25)
    (array([1.25, 0.5 , 0.75]), 0.625)
    """
    scale = float(np.abs(w).mean())
    return (1 - beta) * scale + beta * w, (1 - beta) * scale * nb_bias + beta * b


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise log softmax of (N, C) scores."""
    top = scores.max(axis=1, keepdims=True)
    return scores - (top + np.log(np.exp(scores - top).sum(axis=1, keepdims=True)))


def train_l2_svm(
    X: SparseRows, y: np.ndarray, C: float, *, tol: float = 1e-6, max_iter: int = 100
) -> tuple[np.ndarray, float]:
    """The L2-regularised squared-hinge SVM: ``min 1/2 (||w||^2 + b^2) + C sum_i max(0, 1 - y_i (w.x_i + b))^2``.

    ``y`` holds +1/-1. The bias is a regularised feature of constant value 1 (LIBLINEAR's ``-B 1``), so the
    solution equals LIBLINEAR's (scikit-learn's ``LinearSVC``). Newton's method: the gradient is
    ``u - 2C X_I^T (y_I * slack_I)`` and the (generalised) Hessian ``I + 2C X_I^T X_I`` over the examples I
    with positive slack; each step solves the Newton system by conjugate gradients and moves to the exact minimum
    of the objective along that direction (:func:`_exact_step`). Returns ``(w, b)``.

    References: Keerthi & DeCoste 2005; Lin, Weng & Keerthi 2008 (trust-region Newton in LIBLINEAR).
    """
    rows = X.row_ids
    n_feat = X.n_cols

    def forward(u: np.ndarray) -> np.ndarray:  # [X 1] @ u, (N,)
        return X.matvec(u[:n_feat], rows) + u[n_feat]

    def backward(c: np.ndarray) -> np.ndarray:  # [X 1]^T @ c, (V + 1,)
        return np.append(X.rmatvec(c, rows), c.sum())

    u = np.zeros(n_feat + 1)
    m = np.zeros(X.n_rows)
    g0 = None
    for _ in range(max_iter):
        slack = 1.0 - y * m
        active = slack > 0
        grad = u + backward(np.where(active, -2.0 * C * y * slack, 0.0))
        g_norm = float(np.linalg.norm(grad))
        g0 = g_norm if g0 is None else g0
        if g_norm <= tol * g0 or g_norm == 0.0:
            break
        act = active.astype(np.float64)

        def hess_vec(v: np.ndarray, act: np.ndarray = act) -> np.ndarray:
            return v + 2.0 * C * backward(act * forward(v))

        # Inexact Newton: a loose solve far from the optimum, tighter near it (superlinear convergence).
        direction = _conjugate_gradient(hess_vec, -grad, rtol=min(0.5, math.sqrt(g_norm / g0)), max_iter=250)
        dm = forward(direction)
        t = _exact_step(u, direction, 1.0 - y * m, y * dm, C)
        u += t * direction
        m += t * dm
    else:
        log.warning("SVM: Newton stopped after %d steps, gradient norm %.3g of %.3g", max_iter, g_norm, g0)
    return u[:n_feat], float(u[n_feat])


def _exact_step(u: np.ndarray, d: np.ndarray, s: np.ndarray, a: np.ndarray, C: float) -> float:
    """The step t > 0 that minimises the objective along the descent direction ``d`` exactly (Keerthi & DeCoste
    2005).

    Along the line the objective is ``phi(t) = 1/2 ||u + t d||^2 + C sum_i max(0, s_i - t a_i)^2``, with the
    slacks ``s_i = 1 - y_i m_i`` and their rates ``a_i = y_i (d . x_i)``: convex and piecewise quadratic, so
    ``phi'(t) = u.d + t ||d||^2 - 2C sum_{s_i > t a_i} a_i (s_i - t a_i)`` is piecewise linear and rising. Newton's
    method on it, kept inside a bracket [lo, hi] of the root, ends once the examples with positive slack stay the
    same across a step: the root of that linear piece is the exact minimiser.

    >>> round(_exact_step(np.zeros(1), np.ones(1), np.array([1.0]), np.array([1.0]), 1.0), 6)  # t - 2(1 - t) = 0
    0.666667
    """
    ud, dd = float(u @ d), float(d @ d)

    def slope(t: float) -> tuple[float, float, np.ndarray]:  # phi'(t), phi''(t), the examples with slack
        active = s - t * a > 0
        aa = a[active]
        return ud + t * dd - 2.0 * C * float(aa @ (s[active] - t * aa)), dd + 2.0 * C * float(aa @ aa), active

    lo, hi, t = 0.0, math.inf, 1.0
    for _ in range(100):
        g, h, active = slope(t)
        if g == 0.0:
            return t
        lo, hi = (t, hi) if g < 0 else (lo, t)
        nxt = t - g / h
        if not lo < nxt < hi:  # Newton left the bracket: bisect it (or double t while no upper end is known)
            nxt = 2.0 * t if math.isinf(hi) else 0.5 * (lo + hi)
        elif np.array_equal(s - nxt * a > 0, active):  # still on the piece where the root lies: exact
            return nxt
        t = nxt
    return t


def _conjugate_gradient(matvec, rhs: np.ndarray, *, rtol: float, max_iter: int) -> np.ndarray:
    """Approximately solve A x = rhs for symmetric positive definite A given as ``matvec``."""
    x = np.zeros_like(rhs)
    r = rhs.copy()
    p = r.copy()
    rr = float(r @ r)
    stop = (rtol * math.sqrt(rr)) ** 2
    for _ in range(max_iter):
        if rr <= stop:
            break
        Ap = matvec(p)
        step = rr / float(p @ Ap)
        x += step * p
        r -= step * Ap
        rr_new = float(r @ r)
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


class NBClassifier:
    """Multinomial naive Bayes over word n-grams, or NBSVM with ``config.svm`` (see the module docstring).

    >>> model = NBClassifier(NBConfig(ngram=1)).fit(["good fun", "bad plot", "good cast"], ["pos", "neg", "pos"])
    >>> model.classes, model.predict(["good", "bad"])
    (['neg', 'pos'], ['pos', 'neg'])
    """

    def __init__(self, config: NBConfig | None = None):
        self.config = config or NBConfig()
        self.classes: list[str] = []
        self.vocab: list[str] = []
        self.feature_counts = np.zeros((0, 0))  # (C, V): n-gram counts per class (0/1 per text if binary)
        self.class_counts = np.zeros(0)  # (C,): training texts per class
        self.svm_weight = np.zeros((0, 0))  # (K, V): NBSVM's interpolated weights; K = 1 for two classes, else C
        self.svm_bias = np.zeros(0)  # (K,)
        self._index: dict[str, int] = {}

    # Fitting and predicting.
    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> NBClassifier:
        """Learn the vocabulary (every n-gram of the training texts) and the weights; returns ``self``."""
        if len(texts) != len(labels):
            raise LmlabError(f"got {len(texts)} texts but {len(labels)} labels")
        classes = sorted(set(labels))
        if len(classes) < 2:
            raise LmlabError(f"training needs at least two classes, got {classes}")
        cfg = self.config
        grams = {g for t in texts for g in word_ngrams(t, cfg.ngram, lowercase=cfg.lowercase)}
        if not grams:
            raise LmlabError("the training texts have no words")
        self.classes, self.vocab = classes, sorted(grams)
        self._index = {g: i for i, g in enumerate(self.vocab)}
        X = count_rows(texts, self._index, cfg)
        class_of = {c: i for i, c in enumerate(classes)}
        y = np.array([class_of[label] for label in labels])
        self.class_counts = np.bincount(y, minlength=len(classes)).astype(np.float64)
        self.feature_counts = X.sums_by_row_group(y, len(classes))
        if cfg.svm:
            self._fit_svm(X, y)
        return self

    def _fit_svm(self, X: SparseRows, y: np.ndarray) -> None:
        cfg = self.config
        # Two classes: one classifier, positive = classes[1]; more: one per class against the rest.
        targets = [1] if len(self.classes) == 2 else range(len(self.classes))
        weights, biases = [], []
        for c in targets:
            r = self._ratio(c)
            features = X.with_values(X.values * r[X.indices])  # x~ = r * x
            w, b = train_l2_svm(features, np.where(y == c, 1.0, -1.0), cfg.C, tol=cfg.tol, max_iter=cfg.max_iter)
            nb_bias = math.log(self.class_counts[c] / (self.class_counts.sum() - self.class_counts[c]))
            w, b = interpolate(w, b, nb_bias, cfg.beta)
            weights.append(w * r)  # folded into one weight per n-gram: w'_f r_f
            biases.append(b)
        self.svm_weight, self.svm_bias = np.stack(weights), np.array(biases)

    def _ratio(self, c: int) -> np.ndarray:
        rest = self.feature_counts.sum(axis=0) - self.feature_counts[c]
        return log_count_ratio(self.feature_counts[c], rest, self.config.alpha)

    def _check_fitted(self) -> None:
        if not self.classes:
            raise LmlabError("the model is not trained yet: call fit() or load()")

    def decision_scores(self, texts: Sequence[str]) -> np.ndarray:
        """(N, C) scores: MNB's joint log-likelihoods, or NBSVM's margins (two classes: ``[-m, m] / 2``)."""
        self._check_fitted()
        X = count_rows(texts, self._index, self.config)
        if not self.config.svm:
            log_prior = np.log(self.class_counts / self.class_counts.sum())
            return X.matmul_t(nb_log_probs(self.feature_counts, self.config.alpha)) + log_prior
        margins = X.matmul_t(self.svm_weight) + self.svm_bias  # (N, K)
        if len(self.classes) == 2:
            # softmax([-m/2, m/2]) = [1 - sigmoid(m), sigmoid(m)]
            return np.concatenate([-margins / 2, margins / 2], axis=1)
        return margins

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """(N, C) class probabilities, columns in ``classes`` order (NBSVM: scores, see the module docstring)."""
        return np.exp(log_softmax(self.decision_scores(texts)))

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most probable class of each text (ties: the first in ``classes`` order)."""
        return [self.classes[i] for i in self.decision_scores(texts).argmax(axis=1)]

    def num_parameters(self) -> int:
        return int(self.feature_counts.size + self.class_counts.size + self.svm_weight.size + self.svm_bias.size)

    # Saving and loading: safetensors for the arrays, JSON for the rest; nothing pickled.
    def state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The arrays and the JSON-able rest (config, classes) that :meth:`from_state` takes.

        The n-gram vocabulary is an array too (``vocab_utf8``: the n-grams in UTF-8, one per line), because it
        grows with the data: a trigram model of 23,000 texts has a vocabulary of tens of megabytes, which the
        JSON file (read with a 16 MiB cap, like every JSON run file) could not hold.
        """
        self._check_fitted()
        arrays = {
            "feature_counts": self.feature_counts,
            "class_counts": self.class_counts,
            "vocab_utf8": np.frombuffer("\n".join(self.vocab).encode("utf-8"), dtype=np.uint8),
        }
        if self.config.svm:
            arrays |= {"svm_weight": self.svm_weight, "svm_bias": self.svm_bias}
        meta = {"format": FORMAT, "version": VERSION, "config": asdict(self.config), "classes": self.classes}
        return arrays, meta

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any], where: str = "model") -> NBClassifier:
        """Rebuild a model from :meth:`state`'s output; ``where`` names the source in errors."""
        known = {f.name for f in fields(NBConfig)}
        cfg_dict = meta.get("config")
        if not isinstance(cfg_dict, dict) or set(cfg_dict) - known:
            raise LmlabError(f"{where}: bad or unknown config {cfg_dict!r}")
        try:
            model = cls(NBConfig(**cfg_dict))
        except (TypeError, ValueError) as e:
            raise LmlabError(f"{where}: bad config ({e})") from None
        classes = meta.get("classes")
        vocab = meta["vocab"] if "vocab" in meta else _vocab_from_bytes(arrays.get("vocab_utf8"), where)
        if not (isinstance(classes, list) and isinstance(vocab, list) and len(classes) >= 2 and vocab):
            raise LmlabError(f"{where}: classes or vocabulary missing")
        if not all(isinstance(c, str) for c in classes) or not all(isinstance(g, str) for g in vocab):
            raise LmlabError(f"{where}: classes and n-grams must be strings")
        C, V, K = len(classes), len(vocab), (1 if len(classes) == 2 else len(classes))
        shapes = {"feature_counts": (C, V), "class_counts": (C,)}
        if model.config.svm:
            shapes |= {"svm_weight": (K, V), "svm_bias": (K,)}
        for name, shape in shapes.items():
            if name not in arrays or arrays[name].shape != shape:
                got = arrays[name].shape if name in arrays else "missing"
                raise LmlabError(f"{where}: array {name} should have shape {shape}, found {got}")
        model.classes, model.vocab = list(classes), list(vocab)
        model._index = {g: i for i, g in enumerate(model.vocab)}
        model.feature_counts = arrays["feature_counts"].astype(np.float64)
        model.class_counts = arrays["class_counts"].astype(np.float64)
        if model.config.svm:
            model.svm_weight = arrays["svm_weight"].astype(np.float64)
            model.svm_bias = arrays["svm_bias"].astype(np.float64)
        return model

    def save(self, directory: str | os.PathLike) -> None:
        """Write ``model.safetensors`` and ``nb.json`` into ``directory`` (created if needed), each atomically."""
        from safetensors.numpy import save

        arrays, meta = self.state()
        directory = Path(directory)
        data = save(arrays, metadata={"lmlab_sha256": _arrays_sha256(arrays)})
        with atomic_open(directory / WEIGHTS_FILE, "wb") as f:
            f.write(data)
        write_json(directory / META_FILE, meta)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> NBClassifier:
        """Read a model written by :meth:`save` (or by lmlab's version 1, with the vocabulary in nb.json); a
        missing, truncated, padded or altered file is an LmlabError."""
        directory = Path(directory)
        path = directory / META_FILE
        meta = read_json(path, what="naive Bayes model file", missing=f"{path} not found")
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise LmlabError(f"{path}: not an lmlab naive Bayes model file (no 'format': '{FORMAT}')")
        if meta.get("version") not in (1, VERSION):
            raise LmlabError(f"{path}: format version {meta.get('version')!r} is not supported (1 or {VERSION})")
        if meta["version"] == 1 and not isinstance(meta.get("vocab"), list):
            raise LmlabError(f"{path}: field 'vocab' must be a list of n-grams")
        if meta["version"] == VERSION:
            meta.pop("vocab", None)  # version 2 keeps it in the weights file only
        classes = meta.get("classes")
        if not isinstance(classes, list) or len(classes) < 2:
            raise LmlabError(f"{path}: field 'classes' must be a list of at least two labels")
        header, arrays = read_safetensors_arrays(directory / WEIGHTS_FILE)
        if header.metadata.get("lmlab_sha256") != _arrays_sha256(arrays):
            raise LmlabError(f"{header.path}: corrupted file (its arrays do not match the checksum written with them)")
        return cls.from_state(arrays, meta, where=str(directory))


def _vocab_from_bytes(data: Any, where: str) -> list[str]:
    """The n-grams stored as UTF-8 lines in a uint8 array.

    >>> _vocab_from_bytes(np.frombuffer(b"a\\na b", dtype=np.uint8), "run")
    ['a', 'a b']
    """
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 1:
        raise LmlabError(f"{where}: the n-gram vocabulary (vocab_utf8) is missing from the weights file")
    try:
        return data.tobytes().decode("utf-8").split("\n")
    except UnicodeDecodeError as e:
        raise LmlabError(f"{where}: the n-gram vocabulary is not valid UTF-8 (byte {e.start})") from None


def _arrays_sha256(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


@dataclass
class CrossValidation:
    """Accuracy per fold, their mean and sample standard deviation (in %)."""

    accuracies: list[float]

    @property
    def mean(self) -> float:
        return float(np.mean(self.accuracies))

    @property
    def std(self) -> float:
        return float(np.std(self.accuracies, ddof=1)) if len(self.accuracies) > 1 else 0.0

    def __str__(self) -> str:
        return f"{len(self.accuracies)}-fold accuracy {self.mean:.2f} +- {self.std:.2f} %"


def cross_validate(
    texts: Sequence[str], labels: Sequence[str], config: NBConfig | None = None, *, k: int = 10, seed: int = 0
) -> CrossValidation:
    """Stratified ``k``-fold cross-validated accuracy of :class:`NBClassifier` with ``config``.

    >>> data = load_classification_data("mr")                        # doctest: +SKIP
    >>> texts = data.train.texts + data.valid.texts + data.test.texts  # doctest: +SKIP
    >>> print(cross_validate(texts, data.train.labels + data.valid.labels + data.test.labels))  # doctest: +SKIP
    10-fold accuracy ... %
    """
    from lmlab.classify.data import stratified_folds

    accuracies = []
    for i, (train, test) in enumerate(stratified_folds(labels, k, seed), start=1):
        model = NBClassifier(config).fit([texts[j] for j in train], [labels[j] for j in train])
        predicted = model.predict([texts[j] for j in test])
        accuracies.append(100.0 * sum(p == labels[j] for p, j in zip(predicted, test)) / len(test))
        log.info("fold %d/%d: accuracy %.2f %%", i, k, accuracies[-1])
    return CrossValidation(accuracies)


__all__ = [
    "CrossValidation",
    "NBClassifier",
    "NBConfig",
    "SparseRows",
    "count_rows",
    "cross_validate",
    "interpolate",
    "log_count_ratio",
    "nb_log_probs",
    "train_l2_svm",
    "word_ngrams",
]


# ---- as a family of ``lmlab train --task classify`` (see lmlab.classify.models.CLASSIFIERS)
def nb_train_config(config_class: type) -> type:
    """The flags of ``--model nb`` are its config's fields: it has no training recipe (one pass of counting)."""
    return config_class


class NBRun:
    """A trained naive Bayes / NBSVM model as the classification task's verbs use it."""

    def __init__(self, model: NBClassifier):
        self.model, self.labels = model, list(model.classes)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.predict_proba(texts)

    def num_parameters(self) -> int:
        return self.model.num_parameters()


def train_nb(config: NBConfig, data: Any, tokenizer: Any, opts: Any, out: Path, *, embeddings: Any = None) -> NBRun:
    """Count the training texts' n-grams (and train NBSVM's SVM) and write a run directory at ``out``.

    The word tokenizer of the other families is not used: the model keeps its own n-gram vocabulary."""
    import time

    from lmlab.runconfig import RunInfo, run_envelope
    from lmlab.rundir import replace_run

    if embeddings is not None:
        raise LmlabError("--embeddings: the nb model reads n-gram counts, not word vectors")
    t0 = time.perf_counter()
    model = NBClassifier(config).fit(data.train.texts, data.train.labels)
    seconds = time.perf_counter() - t0
    stats = {
        "status": "completed",
        "train_examples": len(data.train.texts),
        "train_seconds": round(seconds, 3),
        "examples_per_s": round(len(data.train.texts) / max(seconds, 1e-9), 1),
        "parameters": model.num_parameters(),
        "ngrams": len(model.vocab),
    }
    info = RunInfo(data=opts.data_info, command=opts.command, stats=stats)
    run = run_envelope("classify", "nb", asdict(config), info, labels=list(model.classes))
    with replace_run(out, opts.command or None) as tmp:
        model.save(tmp)
        write_json(tmp / "config.json", run)
    return NBRun(model)


def load_nb(run_dir: Path, run_cfg: dict[str, Any]) -> NBRun:
    model = NBClassifier.load(run_dir)
    if list(model.classes) != list(run_cfg["labels"]):
        raise LmlabError(f"{run_dir}: {META_FILE} and config.json name different labels")
    return NBRun(model)
