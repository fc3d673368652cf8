"""Scores of a tagger: span precision/recall/F1 equal to seqeval's (its default mode, conlleval's reading of BIO,
IOB2 and IOBES, ill-formed sequences included), per-tag figures equal to scikit-learn's, and worked examples."""

from __future__ import annotations

import random
import warnings

import pytest

from lmlab.tag.metrics import ill_formed_starts, span_scores, spans, subset_accuracy, tag_report

TAGS = ["O", "O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "I-LOC", "E-LOC", "S-LOC", "I-ORG", "B-MISC"]


def random_sentences(rng: random.Random, n: int) -> list[list[str]]:
    return [[rng.choice(TAGS) for _ in range(rng.randint(1, 8))] for _ in range(n)]


def test_worked_examples():
    assert spans(["B-PER", "I-PER", "O", "B-LOC"]) == [("PER", 0, 1), ("LOC", 3, 3)]
    assert spans(["I-PER", "B-PER", "I-LOC"]) == [("PER", 0, 0), ("PER", 1, 1), ("LOC", 2, 2)]
    assert spans(["O", "I-PER", "I-PER"]) == [("PER", 1, 2)]  # an I- after O opens a span, as conlleval reads it
    assert spans(["B-PER", "E-PER", "S-LOC"]) == [("PER", 0, 1), ("LOC", 2, 2)]  # IOBES
    true = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG"]]
    r = span_scores(true, pred)  # PER and the second ORG right; LOC missed, ORG at 3 wrong: P = R = 2/3
    assert (r["correct_spans"], r["predicted_spans"], r["true_spans"]) == (2, 3, 3)
    assert r["precision"] == r["recall"] == r["f1"] == pytest.approx(2 / 3)
    assert r["per_type"]["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert span_scores([["O"]], [["O"]])["f1"] == 0.0  # nothing to find, nothing found: 0/0 counts as 0


def test_ill_formed_starts():
    assert ill_formed_starts(["I-PER", "I-PER", "O", "I-LOC", "B-ORG", "I-ORG", "I-LOC", "E-LOC"]) == [0, 3, 6]
    assert ill_formed_starts(["B-PER", "I-PER", "E-PER", "S-LOC"]) == []


def test_spans_equal_seqeval_get_entities():
    seqeval = pytest.importorskip("seqeval.metrics.sequence_labeling")
    rng = random.Random(0)
    for sentence in random_sentences(rng, 500):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert spans(sentence) == seqeval.get_entities(sentence), sentence


def test_span_scores_equal_seqeval():
    metrics = pytest.importorskip("seqeval.metrics")
    rng = random.Random(1)
    for _ in range(40):
        true = random_sentences(rng, rng.randint(1, 12))
        pred = [[rng.choice(TAGS) if rng.random() < 0.4 else t for t in s] for s in true]
        r = span_scores(true, pred)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert r["precision"] == pytest.approx(metrics.precision_score(true, pred))
            assert r["recall"] == pytest.approx(metrics.recall_score(true, pred))
            assert r["f1"] == pytest.approx(metrics.f1_score(true, pred))
            report = metrics.classification_report(true, pred, output_dict=True, zero_division=0)
        for kind, m in r["per_type"].items():
            assert m["support"] == report[kind]["support"]
            assert m["f1"] == pytest.approx(report[kind]["f1-score"])
            assert m["precision"] == pytest.approx(report[kind]["precision"])


def test_tag_report_equals_scikit_learn():
    sklearn = pytest.importorskip("sklearn.metrics")
    rng = random.Random(2)
    names = ["DET", "NOUN", "VERB", "ADJ", "PUNCT"]
    true = [[rng.choice(names) for _ in range(rng.randint(1, 9))] for _ in range(60)]
    pred = [[rng.choice(names) if rng.random() < 0.3 else t for t in s] for s in true]
    r = tag_report(true, pred)
    flat_t, flat_p = sum(true, []), sum(pred, [])
    assert r.accuracy == pytest.approx(sklearn.accuracy_score(flat_t, flat_p))
    labels = sorted(set(flat_t) | set(flat_p))
    p, rec, f, support = sklearn.precision_recall_fscore_support(flat_t, flat_p, labels=labels, zero_division=0)
    for i, tag in enumerate(labels):
        m = r.per_tag[tag]
        assert (m["precision"], m["recall"], m["f1"], m["support"]) == pytest.approx((p[i], rec[i], f[i], support[i]))
    assert r.words == len(flat_t) and r.sentences == 60


def test_tag_report_refuses_misaligned_predictions_and_subset_accuracy():
    with pytest.raises(ValueError, match="2 words has 1 predicted"):
        tag_report([["A", "B"]], [["A"]])
    assert subset_accuracy([["A", "B"], ["C"]], [["A", "X"], ["C"]], [[True, True], [False]]) == (0.5, 2)
    assert subset_accuracy([["A"]], [["A"]], [[False]]) == (None, 0)
