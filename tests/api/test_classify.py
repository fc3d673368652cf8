"""``lmlab.load`` on a text classifier of every family: predict equals ``predict_proba`` and ``lmlab classify --json``,
explain gives one weight per word (attention, or leaving each word out, checked by hand), and bad inputs are one
LmlabError line."""

from __future__ import annotations

import json

import numpy as np
import pytest

import lmlab
from lmlab.classify.models import CLASSIFIERS
from lmlab.classify.task import load_classifier
from lmlab.cli.main import main
from lmlab.errors import LmlabError
from tests.classify.test_task import make_examples, write_tsv

#: every family, tiny; the attention model with two hops (Lin et al.), so that each hop and their mean show
TINY = {
    "nb": ["--ngram", "2"],
    "bow": ["--d-embed", "8"],
    "textcnn": ["--d-embed", "8", "--n-filters", "4", "--filter-widths", "2,3"],
    "rnn": ["--d-embed", "8", "--d-hidden", "4"],
    "attention": ["--d-embed", "8", "--d-hidden", "4", "--d-attention", "4", "--hops", "2"],
    "transformer": ["--d-embed", "8", "--d-model", "8", "--n-head", "2", "--d-ff", "16", "--n-layer", "1"],
}
TEXT = "a superb and lovely film"  # every word in the training texts: the tokenizer reads it as written


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    data = tmp_path_factory.mktemp("sentiment")
    write_tsv(data / "train.tsv", make_examples(120, 0))
    write_tsv(data / "valid.tsv", make_examples(20, 1))
    write_tsv(data / "test.tsv", make_examples(20, 2))
    root = tmp_path_factory.mktemp("runs")
    for family, flags in TINY.items():
        trained = [] if family == "nb" else ["--epochs", "1", "--batch-size", "40", "--device", "cpu", "--seed", "1"]
        args = ["train", "--task", "classify", "--model", family, "--data", data, "--out", root / family]
        assert main([str(a) for a in [*args, *trained, *flags]]) == 0
    return {family: lmlab.load(root / family) for family in TINY}


def test_every_family_is_tested():
    assert set(TINY) == set(CLASSIFIERS)


@pytest.mark.parametrize("family", list(TINY))
def test_predict_equals_predict_proba_and_the_command_line(runs, family, capsys):
    m = runs[family]
    assert (m.task, m.family) == ("classify", family)
    classifier, _ = load_classifier(m.path)
    texts = [TEXT, "dull", "words never seen qqq"]
    predictions = m.predict(texts)
    json.dumps(predictions)
    for text, pred, p in zip(texts, predictions, classifier.predict_proba(texts)):
        assert pred["text"] == text and list(pred["probabilities"]) == classifier.labels == ["neg", "pos"]
        assert list(pred["probabilities"].values()) == p.tolist()  # the same numbers, not merely close
        assert pred["label"] == classifier.labels[int(p.argmax())] and pred["probability"] == p.max()
        assert sum(pred["probabilities"].values()) == pytest.approx(1, abs=1e-12)
    capsys.readouterr()
    assert main(["classify", str(m.path), "--text", TEXT, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == m.predict([TEXT])[0]
    assert m.predict([]) == []


@pytest.mark.parametrize("family", list(TINY))
def test_explain_gives_a_weight_per_word(runs, family):
    m = runs[family]
    e = m.explain(TEXT)
    json.dumps(e)
    words = TEXT.split()
    assert e["tokens"] == words and len(e["weights"]) == e["num_tokens"] == 5 and not e["truncated"]
    assert {k: e[k] for k in ("label", "probability", "probabilities")} == {
        k: v for k, v in m.predict([TEXT])[0].items() if k != "text"
    }
    if family == "attention":
        assert e["method"] == "attention"
        hops = np.array(e["hops"])
        assert hops.shape == (2, 5) and np.allclose(hops.sum(axis=1), 1)  # each hop sums to one over the words
        assert np.allclose(e["weights"], hops.mean(axis=0))
    else:
        assert e["method"] == "leave-one-out" and "hops" not in e
        # by hand: the predicted class's probability, less its probability for the text without word i
        without = [" ".join(words[:i] + words[i + 1 :]) for i in range(5)]
        p = [q["probabilities"][e["label"]] for q in m.predict(without)]
        assert np.allclose(e["weights"], e["probability"] - np.array(p), atol=1e-6)
    short = m.explain(TEXT, max_tokens=2)
    assert short["tokens"] == words[:2] and len(short["weights"]) == 2 and short["truncated"]
    assert short["weights"] == pytest.approx(e["weights"][:2], abs=1e-6)
    one = m.explain("superb")  # leaving out the only word reads an empty text
    assert len(one["weights"]) == 1


def test_unknown_words_read_as_the_model_reads_them(runs):
    assert runs["textcnn"].explain("superb qqqzz")["tokens"] == ["superb", "<unk>"]
    assert runs["nb"].explain("superb qqqzz")["tokens"] == ["superb", "qqqzz"]


def test_describe_and_parameters(runs):
    for family, m in runs.items():
        d = m.describe()
        json.dumps(d)
        assert d["task"] == "classify" and d["family"] == family and d["labels"] == ["neg", "pos"]
        assert d["parameters"] == load_classifier(m.path)[0].num_parameters() > 0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m.predict(TEXT), "wrap a single one in a list"),
        (lambda m: m.predict(["fine", "  "]), "inputs[1]: the text is empty"),
        (lambda m: m.predict([3]), "inputs[0]: a text must be a string, got int"),
        (lambda m: m.predict([TEXT], top_k=3), "takes no options, got 'top_k'"),
        (lambda m: m.explain(""), "the text is empty"),
        (lambda m: m.explain(None), "a text must be a string, got NoneType"),
        (lambda m: m.explain(TEXT, max_tokens=0), "max_tokens must be an integer from 1 to"),
    ],
)
def test_bad_inputs_are_one_line(runs, call, message):
    for family in ("nb", "textcnn"):
        with pytest.raises(LmlabError) as e:
            call(runs[family])
        assert message in str(e.value) and "\n" not in str(e.value)
