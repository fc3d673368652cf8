"""Naive Bayes and NBSVM: scikit-learn's MultinomialNB and LinearSVC as references, the textbook example, files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from lmlab.classify.data import load_classification_data
from lmlab.classify.models.nbsvm import (
    META_FILE,
    WEIGHTS_FILE,
    NBClassifier,
    NBConfig,
    count_rows,
    cross_validate,
    train_l2_svm,
    word_ngrams,
)
from lmlab.errors import LmlabError

sklearn = pytest.importorskip("sklearn")
from sklearn.feature_extraction.text import CountVectorizer  # noqa: E402
from sklearn.naive_bayes import MultinomialNB  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402


@pytest.fixture(scope="module")
def sst2():
    from tests.conftest import SHARED_DATA

    if not (SHARED_DATA / "SHA256SUMS").is_file():
        pytest.skip(f"real datasets not found at {SHARED_DATA}")
    return load_classification_data("sst2", data_dir=SHARED_DATA, download=False)


@pytest.fixture(scope="module")
def mr():
    from tests.conftest import SHARED_DATA

    if not (SHARED_DATA / "SHA256SUMS").is_file():
        pytest.skip(f"real datasets not found at {SHARED_DATA}")
    return load_classification_data("mr", data_dir=SHARED_DATA, download=False)


def _vectorizer(cfg: NBConfig) -> CountVectorizer:
    # The same features as lmlab's: whitespace words, case kept, n-grams 1..N joined by a space.
    return CountVectorizer(
        tokenizer=str.split, token_pattern=None, lowercase=cfg.lowercase, ngram_range=(1, cfg.ngram), binary=cfg.binary
    )


@pytest.mark.parametrize(
    "cfg",
    [
        NBConfig(ngram=1, alpha=1.0, binary=False),
        NBConfig(ngram=2, alpha=1.0, binary=True),
        NBConfig(ngram=3, alpha=0.1, binary=False),
        NBConfig(ngram=2, alpha=0.5, binary=True, lowercase=True),
    ],
    ids=["uni-counts", "bi-binary", "tri-lidstone", "bi-lower"],
)
def test_equals_sklearn_multinomial_nb_on_sst2(sst2, cfg: NBConfig) -> None:
    train_texts, train_labels = sst2.train.texts[:2500], sst2.train.labels[:2500]
    test_texts = sst2.valid.texts + ["words never seen in training xyzzy", ""]
    model = NBClassifier(cfg).fit(train_texts, train_labels)
    vec = _vectorizer(cfg)
    X = vec.fit_transform(train_texts)
    assert model.vocab == list(vec.get_feature_names_out())
    ref = MultinomialNB(alpha=cfg.alpha).fit(X, train_labels)
    assert model.classes == list(ref.classes_)
    expected = ref.predict_proba(vec.transform(test_texts))
    got = model.predict_proba(test_texts)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert model.predict(test_texts) == list(ref.predict(vec.transform(test_texts)))


def test_equals_sklearn_with_three_classes(sst2, mr) -> None:
    texts = sst2.train.texts[:800] + mr.train.texts[:400]
    labels = sst2.train.labels[:800] + ["mr"] * 400
    cfg = NBConfig(ngram=2, alpha=1.0, binary=False)
    model = NBClassifier(cfg).fit(texts, labels)
    vec = _vectorizer(cfg)
    ref = MultinomialNB(alpha=1.0).fit(vec.fit_transform(texts), labels)
    queries = sst2.test.texts[:300] + mr.test.texts[:100]
    np.testing.assert_allclose(
        model.predict_proba(queries), ref.predict_proba(vec.transform(queries)), rtol=0, atol=1e-9
    )


def test_jurafsky_martin_sentiment_example() -> None:
    """Speech and Language Processing (3rd ed.), ch. 4, section 4.3: the worked example, computed by hand.

    Training: 3 negative documents (14 tokens) and 2 positive (9 tokens); |V| = 20. The test sentence
    "predictable with no fun" drops the unknown "with". With add-one smoothing:
    P(-) P(S|-) = 3/5 * (2 * 2 * 1) / 34^3 = 6.1e-5 and P(+) P(S|+) = 2/5 * (1 * 1 * 2) / 29^3 = 3.3e-5,
    so the sentence is negative, with posterior 6.106e-5 / (6.106e-5 + 3.280e-5) = 0.6505.
    """
    docs = [
        ("-", "just plain boring"),
        ("-", "entirely predictable and lacks energy"),
        ("-", "no surprises and very few laughs"),
        ("+", "very powerful"),
        ("+", "the most fun film of the summer"),
    ]
    model = NBClassifier(NBConfig(ngram=1, alpha=1.0, binary=False))
    model.fit([t for _, t in docs], [c for c, _ in docs])
    assert len(model.vocab) == 20
    assert model.feature_counts.sum(axis=1).tolist() == [9, 14]  # classes sorted: "+", "-"
    neg = Fraction(3, 5) * Fraction(2 * 2 * 1, 34**3)
    pos = Fraction(2, 5) * Fraction(1 * 1 * 2, 29**3)
    joint = np.exp(model.decision_scores(["predictable with no fun"]))[0]
    np.testing.assert_allclose(joint, [float(pos), float(neg)], rtol=1e-12)
    assert round(float(neg), 7) == 6.11e-5 and round(float(pos), 7) == 3.28e-5
    proba = model.predict_proba(["predictable with no fun"])[0]
    np.testing.assert_allclose(proba[1], float(neg / (neg + pos)), rtol=1e-12)
    assert round(proba[1], 4) == 0.6505
    assert model.predict(["predictable with no fun"]) == ["-"]


@pytest.mark.parametrize("seed", range(5))
def test_exact_step_is_the_minimum_along_the_line(seed) -> None:
    """The line search of the Newton solver: its step is the minimum of the piecewise-quadratic objective along the
    direction (no point of a fine grid around it is lower, and the slope there is zero)."""
    from lmlab.classify.models.nbsvm import _exact_step

    rng = np.random.default_rng(seed)
    u, d = rng.normal(size=20), rng.normal(size=20)
    s, a, C = rng.normal(size=50), rng.normal(size=50), float(rng.uniform(0.01, 10))
    if u @ d - 2 * C * float(a @ np.maximum(s, 0)) > 0:  # phi'(0)
        d, a = -d, -a  # a descent direction, as Newton's is

    def phi(t):
        return 0.5 * float((u + t * d) @ (u + t * d)) + C * float((np.maximum(0, s - t * a) ** 2).sum())

    t = _exact_step(u, d, s, a, C)
    grid = np.linspace(0, 3 * t + 1, 20001)
    assert t > 0 and phi(t) <= min(phi(x) for x in grid) + 1e-9
    h = 1e-7
    assert abs(phi(t + h) - phi(t - h)) / (2 * h) < 1e-4 * (1 + abs(u @ d))


def test_l2_svm_equals_liblinear(sst2) -> None:
    """The Newton solver reaches LIBLINEAR's optimum (scikit-learn's LinearSVC, bias as a regularised feature)."""
    from scipy.sparse import csr_matrix

    texts, labels = sst2.train.texts[:1000], sst2.train.labels[:1000]
    cfg = NBConfig(ngram=2)
    nb = NBClassifier(cfg).fit(texts, labels)
    X = count_rows(texts, {g: i for i, g in enumerate(nb.vocab)}, cfg)
    r = nb._ratio(1)
    X = X.with_values(X.values * r[X.indices])
    y = np.where(np.array(labels) == "positive", 1.0, -1.0)
    for C in (1.0, 0.1):
        w, b = train_l2_svm(X, y, C, tol=1e-10, max_iter=200)
        # LIBLINEAR's primal trust-region Newton solver (-s 2); its dual solver is slow to reach 1e-6 here.
        ref = LinearSVC(C=C, loss="squared_hinge", dual=False, tol=1e-12, max_iter=10_000, intercept_scaling=1.0)
        ref.fit(csr_matrix((X.values, X.indices, X.indptr), shape=(X.n_rows, X.n_cols)), y)
        np.testing.assert_allclose(w, ref.coef_[0], rtol=0, atol=1e-6)
        assert b == pytest.approx(ref.intercept_[0], abs=1e-6)


def test_nbsvm_interpolation_limits(sst2) -> None:
    texts, labels = sst2.train.texts[:1500], sst2.train.labels[:1500]
    queries = sst2.valid.texts[:200]
    # beta = 1: the plain SVM on r-scaled features; its margin is the log-odds of predict_proba.
    svm = NBClassifier(NBConfig(svm=True, beta=1.0)).fit(texts, labels)
    X = count_rows(texts, svm._index, svm.config)
    r = svm._ratio(1)
    w, b = train_l2_svm(
        X.with_values(X.values * r[X.indices]), np.where(np.array(labels) == "positive", 1.0, -1.0), 1.0
    )
    Q = count_rows(queries, svm._index, svm.config)
    margins = Q.matvec(w * r) + b
    p = svm.predict_proba(queries)
    np.testing.assert_allclose(np.log(p[:, 1] / p[:, 0]), margins, atol=1e-5)
    # beta = 0: every n-gram weighted by r alone, times mean|w|: exactly MNB's log-odds, scaled.
    flat = NBClassifier(NBConfig(svm=True, beta=0.0)).fit(texts, labels)
    nb = NBClassifier(NBConfig()).fit(texts, labels)
    scores = np.diff(flat.decision_scores(queries), axis=1)[:, 0]
    nb_logodds = np.diff(nb.decision_scores(queries), axis=1)[:, 0]
    ratio = scores / nb_logodds
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-9)
    assert ratio[0] == pytest.approx(np.abs(w).mean())


def test_nbsvm_one_vs_rest(sst2) -> None:
    # Three classes: SST-2's two and image captions (Multi30k), a different kind of sentence.
    from tests.conftest import SHARED_DATA

    captions = (SHARED_DATA / "multi30k/train.en").read_text(encoding="utf-8").lower().splitlines()
    texts = sst2.train.texts[:600] + captions[:300]
    labels = sst2.train.labels[:600] + ["caption"] * 300
    model = NBClassifier(NBConfig(svm=True)).fit(texts, labels)
    assert model.classes == ["caption", "negative", "positive"]
    assert model.svm_weight.shape == (3, len(model.vocab))
    queries = sst2.test.texts[:200] + captions[-100:]
    p = model.predict_proba(queries)
    assert p.shape == (300, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    predicted = np.array(model.predict(queries))
    assert np.mean(predicted[200:] == "caption") > 0.95
    assert np.mean(predicted[:200] == np.array(sst2.test.labels[:200])) > 0.6
    # Each class's classifier is the two-class NBSVM of that class against the rest.
    for c, name in enumerate(model.classes):
        one = NBClassifier(NBConfig(svm=True)).fit(texts, ["b" if label == name else "a" for label in labels])
        np.testing.assert_allclose(model.svm_weight[c], one.svm_weight[0], rtol=1e-12, atol=0)
        assert model.svm_bias[c] == one.svm_bias[0]


def test_save_and_load_round_trip(tmp_path: Path, sst2) -> None:
    for cfg in (NBConfig(), NBConfig(svm=True, ngram=1)):
        model = NBClassifier(cfg).fit(sst2.train.texts[:1000], sst2.train.labels[:1000])
        model.save(tmp_path / "run")
        assert sorted(p.name for p in (tmp_path / "run").iterdir()) == sorted([META_FILE, WEIGHTS_FILE])
        meta = json.loads((tmp_path / "run" / META_FILE).read_text())
        assert meta["classes"] == ["negative", "positive"] and "vocab" not in meta  # in the weights file
        loaded = NBClassifier.load(tmp_path / "run")
        assert loaded.config == cfg
        np.testing.assert_array_equal(loaded.predict_proba(sst2.valid.texts), model.predict_proba(sst2.valid.texts))


def test_damaged_files_are_refused(tmp_path: Path) -> None:
    model = NBClassifier(NBConfig(ngram=1)).fit(["a b", "c d"], ["x", "y"])
    model.save(tmp_path)
    weights = (tmp_path / WEIGHTS_FILE).read_bytes()
    (tmp_path / WEIGHTS_FILE).write_bytes(weights[:-1] + bytes([weights[-1] ^ 1]))
    with pytest.raises(LmlabError, match="do not match the checksum"):
        NBClassifier.load(tmp_path)
    (tmp_path / WEIGHTS_FILE).write_bytes(weights[:-5])
    with pytest.raises(LmlabError, match="corrupted or truncated"):
        NBClassifier.load(tmp_path)
    (tmp_path / WEIGHTS_FILE).write_bytes(weights)
    (tmp_path / WEIGHTS_FILE).write_bytes(weights + b"\0" * 64)  # bytes after the last tensor
    with pytest.raises(LmlabError, match="64 bytes after its last tensor"):
        NBClassifier.load(tmp_path)
    (tmp_path / WEIGHTS_FILE).write_bytes(weights)
    meta = json.loads((tmp_path / META_FILE).read_text())
    # version 1 kept the vocabulary in nb.json: still read, and still checked against the arrays
    (tmp_path / META_FILE).write_text(json.dumps({**meta, "version": 1, "vocab": model.vocab[:-1]}))
    with pytest.raises(LmlabError, match=r"feature_counts should have shape \(2, 3\), found \(2, 4\)"):
        NBClassifier.load(tmp_path)
    (tmp_path / META_FILE).write_text(json.dumps({**meta, "version": 1, "vocab": model.vocab}))
    assert NBClassifier.load(tmp_path).vocab == model.vocab
    (tmp_path / META_FILE).write_text(json.dumps({**meta, "config": {**meta["config"], "order": 3}}))
    with pytest.raises(LmlabError, match="unknown config"):
        NBClassifier.load(tmp_path)
    with pytest.raises(LmlabError, match="no such file|not found"):
        NBClassifier.load(tmp_path / "nothing")


def test_cross_validate_runs(mr) -> None:
    texts, labels = mr.train.texts[::4], mr.train.labels[::4]  # the train split runs pos, then neg
    cv = cross_validate(texts, labels, NBConfig(), k=2, seed=0)
    assert len(cv.accuracies) == 2 and 65 < cv.mean < 90
    assert str(cv).startswith("2-fold accuracy")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"ngram": 0}, "ngram must be an integer from 1 to 5"),
        ({"alpha": 0.0}, "alpha"),
        ({"C": -1.0}, "C must be > 0"),
        ({"beta": 1.5}, r"beta must be in \[0, 1\]"),
    ],
)
def test_bad_config(kwargs: dict, message: str) -> None:
    with pytest.raises(LmlabError, match=message):
        NBConfig(**kwargs)


def test_bad_training_input() -> None:
    with pytest.raises(LmlabError, match="at least two classes"):
        NBClassifier().fit(["a", "b"], ["x", "x"])
    with pytest.raises(LmlabError, match="2 texts but 1 labels"):
        NBClassifier().fit(["a", "b"], ["x"])
    with pytest.raises(LmlabError, match="no words"):
        NBClassifier().fit([" ", ""], ["x", "y"])
    with pytest.raises(LmlabError, match="not trained"):
        NBClassifier().predict(["a"])


def test_word_ngrams() -> None:
    assert word_ngrams("A b  c", 3) == ["A", "b", "c", "A b", "b c", "A b c"]
    assert word_ngrams("A b", 2, lowercase=True) == ["a", "b", "a b"]
    assert word_ngrams("", 2) == []


def test_naive_bayes_needs_no_torch() -> None:
    code = "import sys, lmlab.classify.models.nbsvm; print('torch' in sys.modules or 'scipy' in sys.modules)"
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "False"
