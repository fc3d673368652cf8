"""``lmlab.load`` on tagging runs of every family: predict equals ``lmlab tag --json``; explain's distributions
sum to one, are the argmax of the softmax taggers, and equal enumeration of every tag sequence for the CRF's
marginals and the HMM's posteriors; bad sentences are one LmlabError line."""

from __future__ import annotations

import copy
import itertools
import json
import random

import numpy as np
import pytest
import torch

import lmlab
from lmlab.errors import LmlabError
from lmlab.tag.api import chain_marginals
from lmlab.tag.models import TAGGERS
from lmlab.tag.models.hmm import joint_log_probability
from tests.tag.test_cli import TINY, pos_sentence, write_conllu

SENTENCE = "the old man sees a Zebra ."  # "Zebra" is not in the training vocabulary


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks run faster on one thread than on several that wait for each other (the machine is shared)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, one_thread):
    """One tiny run of every family: one epoch over 60 sentences (the HMM counts them)."""
    from lmlab.cli.main import main

    assert set(TINY) == set(TAGGERS)
    root = tmp_path_factory.mktemp("tag-api")
    rng = random.Random(0)
    for split, n in (("train", 60), ("dev", 8), ("test", 4)):
        write_conllu(root / f"toy-ud-{split}.conllu", [pos_sentence(rng) for _ in range(n)])
    for family, sizes in TINY.items():
        epochs = ["--device", "cpu", "--epochs", "1"] if family != "hmm" else []
        argv = ["train", "--task", "tag", "--model", family, "--data", root, "--out", root / family, "--seed", "1",
                *epochs, *sizes]  # fmt: skip
        assert main([str(a) for a in argv]) == 0
    return root


@pytest.fixture
def cli(capsys):
    from lmlab.cli.main import main

    def run(*args):
        rc = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return rc, out, err

    return run


@pytest.mark.parametrize("family", TINY)
def test_predict_is_what_lmlab_tag_prints(runs, cli, family):
    m = lmlab.load(runs / family)
    assert (m.task, m.family) == ("tag", family) and type(m).__name__ == "TaggerRun"
    sentences = [SENTENCE, "a dog runs !"]
    got = m.predict(sentences)
    json.dumps(got)
    for text, r in zip(sentences, got):
        rc, out, err = cli("tag", runs / family, "--text", text, "--json")
        assert rc == 0, err
        expected = json.loads(out)
        assert (r["tokens"], r["tags"]) == (expected["words"], expected["tags"])
    assert got[0]["known"] == [True] * 5 + [False, True]
    assert m.predict([SENTENCE.split()]) == got[:1]  # a list of tokens is the same sentence
    assert m.predict([]) == []


@pytest.mark.parametrize("family", TINY)
def test_explain_gives_a_distribution_per_token(runs, family):
    m = lmlab.load(runs / family)
    e = m.explain(SENTENCE)
    json.dumps(e)
    p = np.array(e["probabilities"])
    assert e["tokens"] == SENTENCE.split() and e["tags"] == m.tags and p.shape == (7, len(m.tags))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-9)
    assert (p >= 0).all() and e["predicted"] == m.predict([SENTENCE])[0]["tags"]
    if family in ("window", "bilstm", "transformer"):
        assert "softmax" in e["kind"] and "transitions" not in e
        assert [m.tags[i] for i in p.argmax(axis=1)] == e["predicted"]
    else:
        t = e["transitions"]
        assert t["rows"] == ["<s>", *m.tags] and t["columns"] == [*m.tags, "</s>"]
        assert np.array(t["scores"], dtype=float).shape == (len(m.tags) + 1,) * 2 and t["scores"][0][-1] is None


def _enumerated_marginals(n: int, K: int, score) -> np.ndarray:
    """p(y_t = j) by summing exp score(y) over all K^n sequences y."""
    seqs = list(itertools.product(range(K), repeat=n))
    s = np.array([score(y) for y in seqs])
    w = np.exp(s - s.max())
    p = np.zeros((n, K))
    for y, weight in zip(seqs, w):
        p[np.arange(n), list(y)] += weight
    return p / w.sum()


def test_the_hmm_posterior_equals_enumeration(runs):
    m = lmlab.load(runs / "hmm")
    words = ["the", "big", "cat", "sleeps"]
    ids = [m.tagger.vocab.word_id(w) for w in words]
    expected = _enumerated_marginals(4, len(m.tags), lambda y: joint_log_probability(m.tagger.logA, m.tagger.logB,
                                                                                      ids, y))  # fmt: skip
    e = m.explain(words)
    np.testing.assert_allclose(np.array(e["probabilities"]), expected, atol=1e-9)
    K = len(m.tags)
    np.testing.assert_allclose(np.array(e["transitions"]["scores"], dtype=float)[1:, :], m.tagger.logA[:K])


def test_the_crf_marginals_equal_enumeration_and_its_transitions_are_the_crfs(runs):
    from lmlab.tag.task import EncodedSentences, to_batch

    m = lmlab.load(runs / "bilstm-crf")
    words = ["a", "red", "dog", "runs"]
    e = m.explain(words)
    arrays, _ = EncodedSentences(m.tagger.vocab, [words], 30).arrays([0])
    with torch.no_grad():
        E = m.tagger.net(to_batch(arrays, torch.device("cpu"))).scores.double()  # (1, n, K)
        crf = copy.deepcopy(m.tagger.net.crf).double()
        mask = torch.ones(1, 4, dtype=torch.bool)
        expected = _enumerated_marginals(4, len(m.tags), lambda y: float(crf.score(E, torch.tensor([y]), mask)))
    np.testing.assert_allclose(np.array(e["probabilities"]), expected, atol=1e-9)
    scores = np.array(e["transitions"]["scores"], dtype=float)
    np.testing.assert_allclose(scores[1:, :-1], crf.transitions.detach().numpy())
    np.testing.assert_allclose(scores[0, :-1], crf.start.detach().numpy())
    np.testing.assert_allclose(scores[1:, -1], crf.end.detach().numpy())


def test_chain_marginals_of_one_word_are_a_softmax():
    E = np.array([[0.5, -1.0, 2.0]])
    start, end = np.array([0.1, 0.2, -0.3]), np.array([0.0, 1.0, 0.5])
    z = E[0] + start + end
    np.testing.assert_allclose(chain_marginals(start, np.zeros((3, 3)), end, E)[0], np.exp(z) / np.exp(z).sum())


def test_describe(runs):
    m = lmlab.load(runs / "bilstm")
    d = m.describe()
    json.dumps(d)
    assert d["task"] == "tag" and d["tags"] == m.tags and d["scheme"] == "plain"
    assert d["parameters"] == sum(p.numel() for p in m.tagger.net.parameters()) > 0
    hmm = lmlab.load(runs / "hmm")
    assert hmm.describe()["parameters"] == hmm.tagger.logA.size + hmm.tagger.logB.size


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.predict([""]), "empty"),
        (lambda m: m.predict(["   "]), "empty"),
        (lambda m: m.predict([[]]), "no tokens"),
        (lambda m: m.predict([["the", ""]]), "token 1 of the sentence must be a non-empty string"),
        (lambda m: m.predict([3]), "must be a string or a list of tokens"),
        (lambda m: m.predict("the dog"), "wrap a single one in a list"),
        (lambda m: m.explain(""), "empty"),
        (lambda m: m.explain("a " * 1001), "explain reads at most 1,000 words, got 1,001"),
    ],
)
def test_bad_inputs_are_one_line(runs, call, message):
    with pytest.raises(LmlabError, match=message) as e:
        call(lmlab.load(runs / "window"))
    assert "\n" not in str(e.value)
