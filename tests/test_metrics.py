"""Classification metrics against scikit-learn's, and the confusion-matrix picture."""

import numpy as np
import pytest

from lmlab.metrics import classification_report, plot_confusion_matrix

sklearn_metrics = pytest.importorskip("sklearn.metrics")


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("num_classes", [2, 5])
def test_equal_to_scikit_learn(seed, num_classes):
    rng = np.random.default_rng(seed)
    true = rng.integers(0, num_classes, 300)
    pred = np.where(rng.random(300) < 0.6, true, rng.integers(0, num_classes, 300))
    labels = [f"c{i}" for i in range(num_classes)]
    r = classification_report(true, pred, labels)
    assert r.accuracy == pytest.approx(sklearn_metrics.accuracy_score(true, pred), abs=1e-12)
    assert r.macro_f1 == pytest.approx(sklearn_metrics.f1_score(true, pred, average="macro"), abs=1e-12)
    p, rec, f1, support = sklearn_metrics.precision_recall_fscore_support(true, pred, labels=range(num_classes))
    d = r.to_dict()
    assert [d["per_class"][c]["precision"] for c in labels] == pytest.approx(p, abs=1e-12)
    assert [d["per_class"][c]["recall"] for c in labels] == pytest.approx(rec, abs=1e-12)
    assert [d["per_class"][c]["f1"] for c in labels] == pytest.approx(f1, abs=1e-12)
    assert [d["per_class"][c]["support"] for c in labels] == support.tolist()
    assert d["confusion_matrix"]["counts"] == sklearn_metrics.confusion_matrix(true, pred).tolist()
    assert d["examples"] == 300


def test_a_class_never_predicted_counts_in_macro_f1():
    # class 2 exists only in the evaluation data (unseen in training): never predicted, F1 0
    r = classification_report([0, 1, 2, 2], [0, 1, 0, 1], ["a", "b", "unseen"])
    assert r.accuracy == 0.5
    expected = sklearn_metrics.f1_score([0, 1, 2, 2], [0, 1, 0, 1], average="macro", zero_division=0)
    assert r.macro_f1 == pytest.approx(expected)


def test_confusion_png(tmp_path):
    r = classification_report([0, 1, 1, 0], [0, 1, 0, 0], ["negative", "positive"])
    out = tmp_path / "confusion.png"
    plot_confusion_matrix(r, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
