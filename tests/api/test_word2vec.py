"""``lmlab.load`` on word2vec runs (skip-gram and CBOW): neighbours equal ``lmlab similar``'s, analogies
``lmlab analogy``'s, explain is the PCA ``lmlab plot`` draws; an unknown word is one LmlabError line naming it."""

from __future__ import annotations

import json

import numpy as np
import pytest

import lmlab
from lmlab.errors import LmlabError
from lmlab.word2vec.config import FAMILIES
from lmlab.word2vec.plot import pca_2d
from tests.word2vec.conftest import write_corpus

TINY = ["--dim", "8", "--min-count", "2", "--epochs", "1", "--threads", "1", "--seed", "1"]
WORDS = ["king", "queen", "cat", "dog", "car", "apple"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from lmlab.cli.main import main

    assert set(FAMILIES) == {"skipgram", "cbow"}
    root = tmp_path_factory.mktemp("word2vec-api")
    corpus = write_corpus(root / "corpus.txt", n=200)
    for family in FAMILIES:
        argv = ["train", "--task", "word2vec", "--model", family, "--data", corpus, "--out", root / family, *TINY]
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


@pytest.mark.parametrize("family", ["skipgram", "cbow"])
def test_neighbours_are_lmlab_similars(runs, cli, family):
    m = lmlab.load(runs / family)
    assert (m.task, m.family) == ("word2vec", family)
    got = m.predict(["king", "cat"], topn=4)
    json.dumps(got)
    assert [r["word"] for r in got] == ["king", "cat"] and all(r["count"] > 0 for r in got)
    for r in got:
        rc, out, err = cli("similar", runs / family, r["word"], "--top", "4", "--json")
        assert rc == 0, err
        expected = [{"word": x["word"], "cosine": x["score"]} for x in json.loads(out)["results"]]
        assert r["neighbours"] == expected and len(expected) == 4
        assert all(-1 <= n["cosine"] <= 1 and n["word"] != r["word"] for n in r["neighbours"])
    wv = m.vectors  # and the cosine by hand
    first = got[0]["neighbours"][0]
    a, b = wv["king"], wv[first["word"]]
    assert first["cosine"] == pytest.approx(float(a @ b / np.linalg.norm(a) / np.linalg.norm(b)), abs=1e-6)
    assert m.predict(["king"], topn=3, restrict_vocab=10)[0]["neighbours"][0]["word"] in wv.words[:10]


@pytest.mark.parametrize("method", ["3cosadd", "3cosmul"])
def test_analogy_is_lmlab_analogy(runs, cli, method):
    m = lmlab.load(runs / "skipgram")
    got = m.analogy("cat", "dog", "king", topn=5, method=method)  # cat : dog :: king : ?, i.e. dog - cat + king
    json.dumps(got)
    assert got["question"] == "cat : dog :: king : ?" and len(got["answers"]) == 5
    rc, out, err = cli("analogy", runs / "skipgram", "dog", "cat", "king", "--top", "5", "--method", method, "--json")
    assert rc == 0, err
    assert [(a["word"], a["score"]) for a in got["answers"]] == [(x["word"], x["score"]) for x in
                                                                 json.loads(out)["results"]]  # fmt: skip
    if method == "3cosadd":
        assert all(a["cosine"] == pytest.approx(a["score"], abs=1e-6) for a in got["answers"])


def test_explain_projects_the_words_as_lmlab_plot_does(runs):
    m = lmlab.load(runs / "cbow")
    e = m.explain(" ".join(WORDS + ["king"]))  # a repeat is dropped
    json.dumps(e)
    assert e["words"] == WORDS and [p["word"] for p in e["points"]] == WORDS
    xy = np.array([[p["x"], p["y"]] for p in e["points"]])
    np.testing.assert_allclose(xy, pca_2d(np.stack([m.vectors[w] for w in WORDS])))
    np.testing.assert_allclose(xy.mean(axis=0), 0.0, atol=1e-9)  # centred
    assert xy[:, 0].var() >= xy[:, 1].var() and 0 < sum(e["explained_variance"]) <= 1 + 1e-9
    assert m.explain(WORDS)["points"] == e["points"]  # a list of words, the same


def test_describe(runs):
    m = lmlab.load(runs / "skipgram")
    d = m.describe()
    json.dumps(d)
    assert d["task"] == "word2vec" and d["dim"] == 8 and d["vocab_size"] == len(m.vectors)
    assert d["parameters"] == 2 * 8 * len(m.vectors)  # syn0 and syn1neg


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.predict(["zebra"]), "'zebra' is not in the vocabulary"),
        (lambda m: m.predict(["King"]), "did you mean 'king'"),
        (lambda m: m.predict(["queem"]), "did you mean 'queen'"),
        (lambda m: m.predict([""]), "empty"),
        (lambda m: m.predict("king"), "wrap a single one in a list"),
        (lambda m: m.predict(["king"], topn=0), "topn must be an integer from 1"),
        (lambda m: m.predict(["king"], restrict_vocab=0), "restrict_vocab must be an integer from 1"),
        (lambda m: m.analogy("cat", "dog", "zebra"), "'zebra' is not in the vocabulary"),
        (lambda m: m.analogy("cat", "dog", "king", method="3cos"), "method must be one of 3cosadd, 3cosmul"),
        (lambda m: m.explain("king"), "explain projects 2 to 500 distinct words, got 1"),
        (lambda m: m.explain(["king", "zebra"]), "'zebra' is not in the vocabulary"),
        (lambda m: m.explain(" "), "empty"),
    ],
)
def test_bad_inputs_are_one_line(runs, call, message):
    with pytest.raises(LmlabError, match=message) as e:
        call(lmlab.load(runs / "skipgram"))
    assert "\n" not in str(e.value)
