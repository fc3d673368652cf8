"""Classification metrics from the confusion matrix: accuracy, per-class precision, recall and F1, macro-F1.

With ``M[i, j]`` the number of examples of true class i predicted as class j::

    accuracy    = sum_i M[i, i] / sum_ij M[i, j]
    precision_c = M[c, c] / sum_i M[i, c]        (of the examples predicted c, the share that are c)
    recall_c    = M[c, c] / sum_j M[c, j]        (of the examples that are c, the share predicted c)
    F1_c        = 2 P_c R_c / (P_c + R_c)
    macro-F1    = (1/C) sum_c F1_c                (every class counts the same, however rare)

A class never predicted has precision 0 (scikit-learn's ``zero_division=0``), so macro-F1 punishes a classifier
that ignores a class. Labels seen only in the evaluation data (never in training) are classes that can never be
predicted: they count as errors, and as classes of their own in the macro average.

References: Manning, Raghavan & Schütze 2008, "Introduction to Information Retrieval", ch. 8 and 13.6;
Sokolova & Lapalme 2009, "A systematic analysis of performance measures for classification tasks".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def confusion_matrix(true: Sequence[int], pred: Sequence[int], num_classes: int) -> np.ndarray:
    """``M[i, j]``: how many examples of class i were predicted as class j.

    >>> confusion_matrix([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], 2).tolist()
    [[1, 1], [1, 2]]
    """
    true_a, pred_a = np.asarray(true, dtype=np.int64), np.asarray(pred, dtype=np.int64)
    m = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(m, (true_a, pred_a), 1)
    return m


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros_like(a, dtype=np.float64), where=b > 0)


@dataclass
class ClassificationReport:
    """Every figure of a confusion matrix; ``to_dict`` is what ``lmlab eval --json`` prints."""

    labels: list[str]
    matrix: np.ndarray  # (C, C) counts, rows true, columns predicted

    @property
    def examples(self) -> int:
        return int(self.matrix.sum())

    @property
    def accuracy(self) -> float:
        """The share of examples predicted right.

        >>> ClassificationReport(["a", "b"], confusion_matrix([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], 2)).accuracy
        0.6
        """
        return float(np.trace(self.matrix) / max(self.examples, 1))

    def per_class(self) -> dict[str, np.ndarray]:
        m = self.matrix.astype(np.float64)
        tp = np.diag(m)
        precision = _safe_div(tp, m.sum(axis=0))
        recall = _safe_div(tp, m.sum(axis=1))
        f1 = _safe_div(2 * precision * recall, precision + recall)
        return {"precision": precision, "recall": recall, "f1": f1, "support": m.sum(axis=1)}

    @property
    def macro_f1(self) -> float:
        """Mean F1 over the classes present (in the data or the predictions).

        >>> r = ClassificationReport(["a", "b"], confusion_matrix([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], 2))
        >>> round(r.macro_f1, 4)    # F1_a = 2(.5)(.5)/1 = .5, F1_b = 2(2/3)(2/3)/(4/3) = 2/3
        0.5833
        """
        present = (self.matrix.sum(axis=0) + self.matrix.sum(axis=1)) > 0
        if not present.any():
            return 0.0
        return float(self.per_class()["f1"][present].mean())

    def to_dict(self) -> dict[str, Any]:
        pc = self.per_class()
        return {
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "examples": self.examples,
            "per_class": {
                label: {
                    "precision": float(pc["precision"][i]),
                    "recall": float(pc["recall"][i]),
                    "f1": float(pc["f1"][i]),
                    "support": int(pc["support"][i]),
                }
                for i, label in enumerate(self.labels)
            },
            "confusion_matrix": {"labels": list(self.labels), "counts": self.matrix.tolist()},
        }


def classification_report(true: Sequence[int], pred: Sequence[int], labels: Sequence[str]) -> ClassificationReport:
    """The report of predictions ``pred`` against ``true`` (class indices into ``labels``)."""
    return ClassificationReport(list(labels), confusion_matrix(true, pred, len(labels)))


def plot_confusion_matrix(report: ClassificationReport, out, *, title: str = "") -> None:
    """Draw the confusion matrix (counts, and each row's share as the shade) as a PNG, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lmlab.io import atomic_open

    m = report.matrix
    rows = m.sum(axis=1, keepdims=True)
    share = np.divide(m, rows, out=np.zeros_like(m, dtype=float), where=rows > 0)
    C = len(report.labels)
    size = min(2.0 + 0.6 * C, 14.0)
    fig, ax = plt.subplots(figsize=(size + 1.2, size), dpi=120)
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(C), report.labels, rotation=45 if C > 4 else 0, ha="right" if C > 4 else "center")
    ax.set_yticks(range(C), report.labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if C <= 30:
        for i in range(C):
            for j in range(C):
                ax.text(j, i, f"{m[i, j]:,}", ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.6 else "black")  # fmt: skip
    ax.set_title(title or f"accuracy {report.accuracy:.2%}, macro-F1 {report.macro_f1:.3f}")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    fig.tight_layout()
    with atomic_open(out, "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)


def evaluation_metrics(
    logits: np.ndarray, true_labels: Sequence[str] | np.ndarray, labels: Sequence[str]
) -> tuple[dict[str, float], ClassificationReport]:
    """Loss, accuracy and macro-F1 of ``logits`` (N, C over ``labels``) against the true labels, and the full
    report: the one measure of every classifier (texts, images, nodes). The true labels are label strings, or
    indices into ``labels`` (an integer array). A true label never seen in training is always an error; it is a
    class of its own in the report (and in macro-F1), and the loss averages over the examples with a known label.

    >>> m, r = evaluation_metrics(np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]]), ["a", "b", "new"], ["a", "b"])
    >>> round(m["accuracy"], 4), r.labels
    (0.6667, ['a', 'b', 'new'])
    >>> m, r = evaluation_metrics(np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]]), np.array([0, 1, 1]), ["a", "b"])
    >>> round(m["accuracy"], 4), r.examples
    (0.6667, 3)
    """
    if isinstance(true_labels, np.ndarray) and true_labels.dtype.kind in "iu":
        true_labels = [labels[i] for i in true_labels.tolist()]
    unseen = sorted(set(true_labels) - set(labels))
    all_labels = [*labels, *unseen]
    index = {label: i for i, label in enumerate(all_labels)}
    true = np.array([index[label] for label in true_labels], dtype=np.int64)
    logp = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    known = true < len(labels)
    loss = float(-logp[known, true[known]].mean()) if known.any() else math.nan
    report = classification_report(true, logits.argmax(axis=1), all_labels)
    return {"loss": loss, "accuracy": report.accuracy, "macro_f1": report.macro_f1}, report


__all__ = [
    "evaluation_metrics",
    "ClassificationReport",
    "classification_report",
    "confusion_matrix",
    "plot_confusion_matrix",
]
