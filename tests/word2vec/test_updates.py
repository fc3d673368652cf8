"""The per-pair updates against calculus, and the compiled trainer against the readable one, draw for draw."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lmlab.word2vec import fast
from lmlab.word2vec.config import Word2VecConfig
from lmlab.word2vec.corpus import CorpusFiles, scan_corpus
from lmlab.word2vec.huffman import huffman_tree
from lmlab.word2vec.sampling import alias_table, noise_distribution
from lmlab.word2vec.train import train_vectors
from lmlab.word2vec.updates import (
    Settings,
    Tables,
    Weights,
    log_sigmoid_loss,
    logistic_step,
    sigmoid,
    train_job_readable,
)
from lmlab.word2vec.vocab import build_vocabulary, keep_thresholds

needs_fast = pytest.mark.skipif(not fast.available(), reason=f"compiled trainer not built: {fast.BUILD_HINT}")


def test_the_compiled_trainer_is_built_wherever_a_c_compiler_is():
    import shutil

    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler here: word2vec trains on its readable path")
    assert fast.available(), f"the compiled word2vec trainer is missing; {fast.BUILD_HINT}"


@pytest.mark.parametrize("label", [0, 1])
def test_a_logistic_step_is_alpha_times_the_gradient_of_the_log_likelihood(label):
    rng = np.random.default_rng(label)
    h, u = rng.normal(size=5), rng.normal(size=5)
    alpha = 0.3
    e, du, loss = logistic_step(h, u, label, alpha)

    def log_likelihood(h, u):
        return -log_sigmoid_loss(float(h @ u), label)

    eps = 1e-6
    grad_h = [(log_likelihood(h + eps * d, u) - log_likelihood(h - eps * d, u)) / (2 * eps) for d in np.eye(5)]
    grad_u = [(log_likelihood(h, u + eps * d) - log_likelihood(h, u - eps * d)) / (2 * eps) for d in np.eye(5)]
    np.testing.assert_allclose(e, alpha * np.array(grad_h), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(du, alpha * np.array(grad_u), rtol=1e-5, atol=1e-8)
    assert loss == pytest.approx(-math.log(sigmoid(h @ u) if label else 1 - sigmoid(h @ u)))


def test_the_loss_is_exact_where_a_table_or_float32_would_not_be():
    assert log_sigmoid_loss(40.0, 0) == pytest.approx(40.0)  # -log(1 - sigma(40)): sigma(40) rounds to 1
    assert log_sigmoid_loss(40.0, 1) == pytest.approx(math.exp(-40.0), rel=1e-9)
    assert sigmoid(-800.0) == 0.0 and sigmoid(800.0) == 1.0


def random_model(vocab_size: int, dim: int, seed: int, *, hs: bool, negative: int, sample: float):
    rng = np.random.default_rng(seed)
    counts = np.sort(rng.integers(1, 300, vocab_size))[::-1].copy()
    prob, alias = alias_table(noise_distribution(counts))
    offsets, codes, points = huffman_tree(counts)
    tables = Tables(keep_thresholds(counts, sample), prob, alias, offsets, codes, points)
    weights = Weights(
        ((rng.random((vocab_size, dim), dtype=np.float32) - 0.5) / dim),
        rng.normal(0, 0.1, (vocab_size, dim)).astype(np.float32) if negative else np.zeros(0, np.float32),
        rng.normal(0, 0.1, (vocab_size - 1, dim)).astype(np.float32) if hs else np.zeros(0, np.float32),
    )
    return tables, weights


def copy(w: Weights) -> Weights:
    return Weights(w.syn0.copy(), w.syn1neg.copy(), w.syn1.copy())


@needs_fast
@pytest.mark.parametrize("cbow", [False, True], ids=["skipgram", "cbow"])
@pytest.mark.parametrize(("hs", "negative"), [(False, 5), (True, 0), (True, 3)], ids=["neg", "hs", "hs+neg"])
@pytest.mark.parametrize("sample", [0.0, 0.02])
def test_the_compiled_and_the_readable_trainer_update_a_model_identically(cbow, hs, negative, sample):
    tables, start = random_model(30, 12, seed=3, hs=hs, negative=negative, sample=sample)
    rng = np.random.default_rng(4)
    ids = rng.integers(-1, 30, 400).astype(np.int32)  # -1: words out of the vocabulary, dropped
    ends = np.array([60, 61, 200, 399, 400], dtype=np.int64)
    s = Settings(dim=12, window=4, negative=negative, hs=hs, cbow=cbow, sample=sample > 0)
    kw = dict(alpha0=0.05, alpha_step=1e-5, min_alpha=1e-4, seed=2024)
    readable, compiled = copy(start), copy(start)
    r = train_job_readable(readable, tables, s, ids, ends, **kw)
    c = fast.train_job_fast(compiled, tables, s, ids, ends, **kw)
    assert r[1:] == c[1:]  # the same predictions and the same words kept: the same draws
    assert r[0] == pytest.approx(c[0], rel=1e-6)
    for name in ("syn0", "syn1neg", "syn1"):
        a, b, before = getattr(readable, name), getattr(compiled, name), getattr(start, name)
        np.testing.assert_allclose(a, b, rtol=0, atol=2e-6, err_msg=name)
        if a.size:
            assert np.abs(a - before).max() > 1e-3, f"{name} was trained"


@needs_fast
def test_the_compiled_trainer_refuses_arrays_that_do_not_fit():
    tables, w = random_model(10, 4, seed=0, hs=False, negative=2, sample=0)
    s = Settings(dim=4, window=2, negative=2, hs=False, cbow=False, sample=False)
    kw = dict(alpha0=0.05, alpha_step=0, min_alpha=1e-4, seed=1)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        fast.train_job_fast(w, tables, s, np.array([3, 10], np.int32), np.array([2], np.int64), **kw)
    with pytest.raises(ValueError, match="sentence_ends"):
        fast.train_job_fast(w, tables, s, np.array([3, 4], np.int32), np.array([3], np.int64), **kw)
    with pytest.raises(ValueError, match="do not fit"):
        fast.train_job_fast(w, tables, Settings(5, 2, 2, False, False, False), np.array([1], np.int32),
                            np.array([1], np.int64), **kw)  # fmt: skip


def _vocab(corpus, min_count=2):
    files = CorpusFiles(str(corpus), (corpus,), str(corpus))
    scan = scan_corpus(files)
    return files, build_vocabulary(scan.counts, min_count=min_count, corpus_words=scan.words)


@needs_fast
@pytest.mark.parametrize("cbow", [False, True], ids=["skipgram", "cbow"])
def test_whole_trainings_agree_between_the_two_paths(corpus, cbow, tmp_path):
    files, vocab = _vocab(corpus)
    cfg = Word2VecConfig(dim=10, window=3, epochs=2, threads=1, min_count=2, batch_words=500, sample=1e-2, hs=cbow)
    fast_run = train_vectors(cfg, cbow, files, vocab, seed=5, progress=False, backend="fast", cache_dir=tmp_path)
    slow_run = train_vectors(cfg, cbow, files, vocab, seed=5, progress=False, backend="readable")
    np.testing.assert_allclose(fast_run.weights.syn0, slow_run.weights.syn0, rtol=0, atol=1e-5)
    for a, b in zip(fast_run.epochs, slow_run.epochs):
        assert a["predictions"] == b["predictions"] and a["effective_words"] == b["effective_words"]
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-6)
    assert not list(tmp_path.iterdir())  # the ids cached for the second epoch are gone


def test_first_predictions_cost_log_2_each_and_the_rate_decays_to_min_alpha(corpus):
    files, vocab = _vocab(corpus)
    # zero output vectors: every binary prediction starts at sigma(0) = 1/2, a loss of log 2
    cfg = Word2VecConfig(dim=8, negative=3, alpha=1e-9, min_alpha=1e-9, epochs=1, threads=1, min_count=2)
    row = train_vectors(cfg, False, files, vocab, progress=False).epochs[0]
    # 1 + 3 predictions per pair, less the noise draws that hit the word itself
    assert 3.5 * math.log(2) < row["train_loss"] <= 4 * math.log(2)
    cfg = Word2VecConfig(dim=8, epochs=3, threads=1, min_count=2, alpha=0.05, min_alpha=0.001)  # deterministic
    rows = train_vectors(cfg, False, files, vocab, progress=False).epochs
    assert [r["alpha"] for r in rows] == pytest.approx([0.05 - 0.049 / 3 * k for k in (1, 2, 3)])
    assert rows[0]["train_loss"] > rows[1]["train_loss"] > rows[2]["train_loss"]
    assert all(r["words"] == vocab.corpus_words and r["words_per_s"] > 0 for r in rows)
    assert rows[0]["train_loss_sum"] == pytest.approx(rows[0]["train_loss"] * rows[0]["predictions"])


def test_memory_does_not_grow_with_the_corpus(tmp_path, monkeypatch):
    import tracemalloc

    import lmlab.word2vec.corpus
    from tests.word2vec.conftest import topic_sentences

    monkeypatch.setattr(lmlab.word2vec.corpus, "CHUNK_BYTES", 4096)  # text read 4 kB at a time, not 1 MB
    lines = topic_sentences(300, seed=3)
    peaks = []
    for copies in (1, 40):
        path = tmp_path / f"corpus{copies}.txt"
        path.write_text("\n".join(lines * copies) + "\n", encoding="utf-8")
        files, vocab = _vocab(path)
        cfg = Word2VecConfig(dim=8, epochs=2, threads=2, min_count=2, batch_words=2000)
        tracemalloc.start()
        train_vectors(cfg, True, files, vocab, progress=False, cache_dir=tmp_path)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert (tmp_path / "corpus40.txt").stat().st_size > 30 * (tmp_path / "corpus1.txt").stat().st_size
    assert peaks[1] < 1.5 * peaks[0]  # the vocabulary, the vectors and a few jobs, not the corpus
