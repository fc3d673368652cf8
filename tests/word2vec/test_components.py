"""The pieces of word2vec against their definitions and against gensim: vocabulary, subsampling, noise
distribution, Huffman tree, corpus streaming."""

from __future__ import annotations

import heapq
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmlab.errors import LmlabError
from lmlab.word2vec.corpus import CorpusFiles, JobCache, iter_jobs, read_text_chunks, scan_corpus
from lmlab.word2vec.huffman import huffman_tree
from lmlab.word2vec.sampling import alias_table, draw_noise, job_seed, lcg_next, noise_distribution
from lmlab.word2vec.vocab import build_vocabulary, keep_probability, keep_thresholds

gensim = pytest.importorskip("gensim")


def implied_probabilities(threshold: np.ndarray, alias: np.ndarray) -> np.ndarray:
    """What an alias table draws: column k (1/V) keeps k with threshold/2^32, else gives alias[k]."""
    keep = threshold.astype(np.float64) / 2**32
    p = keep / len(keep)
    np.add.at(p, alias, (1 - keep) / len(keep))
    return p


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 10**6), min_size=1, max_size=200))
def test_the_alias_table_draws_each_word_with_its_noise_probability(counts):
    counts = np.sort(np.array(counts))[::-1]
    p = noise_distribution(counts)
    threshold, alias = alias_table(p)
    np.testing.assert_allclose(implied_probabilities(threshold, alias), p, rtol=0, atol=1e-9)


def test_noise_draws_follow_the_table_and_the_generator():
    p = noise_distribution(np.array([1000, 500, 100, 50, 10, 5, 1]))
    threshold, alias = alias_table(p)
    state, seen = 7, np.zeros(len(p))
    for _ in range(100_000):
        word, state = draw_noise(state, threshold, alias)
        seen[word] += 1
    np.testing.assert_allclose(seen / seen.sum(), p, atol=0.004)
    assert lcg_next(lcg_next(7)) != lcg_next(7) and job_seed(1, 0, 0) != job_seed(2, 0, 0)


def _gensim_model(corpus, **kw):
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence

    model = Word2Vec(**kw)
    model.build_vocab(LineSentence(str(corpus)))
    return model


def test_vocabulary_subsampling_and_noise_equal_gensims(corpus):
    g = _gensim_model(corpus, min_count=3, sample=1e-2, hs=1, negative=5)
    scan = scan_corpus(CorpusFiles(str(corpus), (corpus,), str(corpus)))
    vocab = build_vocabulary(scan.counts, min_count=3, corpus_words=scan.words)
    assert vocab.words == g.wv.index_to_key
    assert vocab.counts.tolist() == [g.wv.get_vecattr(w, "count") for w in vocab.words]
    keep = keep_thresholds(vocab.counts, 1e-2) / 2**32
    assert keep.min() < 0.9  # the frequent words are thinned in this corpus
    gensim_keep = np.array([g.wv.get_vecattr(w, "sample_int") for w in vocab.words]) / (2**32 - 1)
    np.testing.assert_allclose(keep, gensim_keep, atol=1e-8)
    gensim_noise = np.diff(np.concatenate([[0], g.cum_table])) / g.cum_table[-1]
    np.testing.assert_allclose(noise_distribution(vocab.counts), gensim_noise, atol=1e-8)


def test_huffman_codes_are_prefix_free_and_as_short_as_gensims(corpus):
    counts = np.array(sorted([int(c) for c in np.random.default_rng(0).zipf(1.3, 300) if c < 10**6], reverse=True))
    offsets, codes, points = huffman_tree(counts)
    paths = ["".join(map(str, codes[offsets[w] : offsets[w + 1]])) for w in range(len(counts))]
    assert all(not b.startswith(a) for a in paths for b in paths if a is not b)  # prefix-free
    assert sum(2.0 ** -len(c) for c in paths) == pytest.approx(1.0)  # a full binary tree
    assert points.max() == len(counts) - 2 and all(points[offsets[w]] == 0 for w in range(len(counts)))
    heap = [int(c) for c in counts]  # an optimal code's cost: the sum of every merge (Huffman 1952)
    heapq.heapify(heap)
    optimal = 0
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        optimal += merged
        heapq.heappush(heap, merged)
    assert sum(int(c) * len(p) for c, p in zip(counts, paths)) == optimal
    g = _gensim_model(corpus, min_count=1, hs=1, negative=0)
    g_counts = np.array([g.wv.get_vecattr(w, "count") for w in g.wv.index_to_key])
    offsets, codes, _ = huffman_tree(g_counts)
    ours = sum(int(c) * int(offsets[w + 1] - offsets[w]) for w, c in enumerate(g_counts))
    theirs = sum(int(c) * len(g.wv.get_vecattr(w, "code")) for w, c in zip(g.wv.index_to_key, g_counts))
    assert ours == theirs


def test_keep_probability_is_the_c_tools_formula():
    t = 1e-3 * 1_000_000
    for count in (2_000, 10_000, 100_000):
        assert keep_probability(count, 1_000_000, 1e-3) == pytest.approx(min(1.0, (np.sqrt(count / t) + 1) * t / count))
    assert keep_probability(50, 1_000_000, 1e-3) == 1.0 and keep_probability(10**6, 10**6, 0) == 1.0


def test_vocabulary_order_min_count_and_max_vocab():
    counts = Counter(["b", "a", "a", "c", "c", "b", "d"])
    v = build_vocabulary(counts, min_count=2)
    assert v.words == ["c", "a", "b"]  # equal counts: first seen last, as gensim
    assert build_vocabulary(counts, min_count=1, max_vocab=2).words == ["c", "a"]
    with pytest.raises(LmlabError, match=r"no word occurs --min-count 3 times \(the most frequent, 'b', occurs 2"):
        build_vocabulary(counts, min_count=3, where="corpus.txt")


def test_chunked_reading_gives_the_same_words_at_any_chunk_size(tmp_path):
    text = "\ufeffé à la carte\r\nnaïve café  \n\nthe end of a long line " + "x" * 30 + " y\nlast"
    path = tmp_path / "t.txt"
    path.write_bytes(text.encode("utf-8"))
    whole = text[1:].split()
    for size in (1, 3, 7, 64, 1 << 20):
        assert "".join(read_text_chunks(path, chunk_bytes=size)).split() == whole
    path.write_bytes(b"good line\nbad \xff byte\n")
    with pytest.raises(LmlabError, match=r"t.txt: not valid UTF-8 at byte offset 14"):
        list(read_text_chunks(path, chunk_bytes=4))
    assert "".join(read_text_chunks(path, encoding_errors="replace")).split()[3] == "\ufffd"


def test_jobs_keep_sentences_whole_and_the_cache_replays_them(tmp_path, corpus):
    files = CorpusFiles(str(corpus), (corpus,), str(corpus))
    index = {w: i for i, w in enumerate(["the", "cat", "king", "apple"])}
    jobs = list(iter_jobs(files, index, max_sentence_length=5, batch_words=200))
    words = corpus.read_text().split()
    ids = np.concatenate([j.ids for j in jobs])
    assert ids.tolist() == [index.get(w, -1) for w in words]
    assert all(j.words >= 200 for j in jobs[:-1]) and sum(j.in_vocab for j in jobs) == int((ids >= 0).sum())
    for j in jobs:
        lengths = np.diff(np.concatenate([[0], j.sentence_ends]))
        assert j.sentence_ends[-1] == j.words and lengths.max() <= 5 and lengths.min() >= 1
    cache = JobCache(tmp_path)
    recorded = list(cache.record(iter(jobs)))
    replayed = list(cache.replay())
    assert len(recorded) == len(replayed) == len(jobs)
    for a, b in zip(jobs, replayed):
        assert a.ids.tolist() == b.ids.tolist() and a.sentence_ends.tolist() == b.sentence_ends.tolist()
        assert a.in_vocab == b.in_vocab
    cache.remove()
    assert not list(tmp_path.iterdir())


def test_data_names_a_corpus_a_folder_or_a_file(shared_data, monkeypatch, tmp_path):
    from lmlab.word2vec.corpus import resolve_corpus

    monkeypatch.setenv("LMLAB_DATA_DIR", str(shared_data))
    assert resolve_corpus("wikitext-2").paths == (shared_data / "wikitext-2" / "train.txt",)
    assert resolve_corpus("tinyshakespeare").paths == (shared_data / "tinyshakespeare" / "input.txt",)  # all of it
    with pytest.raises(LmlabError, match="--data analogy is a dataset of kind 'analogy', not a text corpus"):
        resolve_corpus("analogy")
    with pytest.raises(LmlabError, match="the folder has no train.txt"):
        resolve_corpus(str(tmp_path))
    (tmp_path / "train.txt").write_text("a b\n")
    assert resolve_corpus(str(tmp_path)).paths == (tmp_path / "train.txt",)
