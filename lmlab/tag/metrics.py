"""How a tagger is scored: accuracy per word, precision/recall/F1 per tag, and spans for BIO-tagged data.

Per word (UD's words: multiword tokens and empty nodes are not words here)::

    accuracy     = #(predicted tag == true tag) / #words
    precision_c  = #(pred c and true c) / #(pred c),   recall_c = #(pred c and true c) / #(true c)
    F1_c         = 2 P_c R_c / (P_c + R_c)             (0 when P_c + R_c = 0, and 0/0 = 0)

For span tags (BIO, IOB2, IOBES) the units are the spans (entities) the tags mark: a predicted span counts only if
its type, start and end are all right, and precision, recall and F1 are micro-averaged over all spans. Spans are
read exactly as ``seqeval`` reads them in its default mode (CoNLL's ``conlleval``): an ``I-X`` after ``O`` or after
a span of another type starts a new span; a span ends before ``B-``, ``S-``, ``O`` or a change of type, and after
``E-`` or ``S-``. So ``O I-PER I-PER`` holds one PER span, though IOB2 says a span starts with ``B-``
(:func:`ill_formed_starts` finds such places, and the evaluation warns about them)::

    B-PER I-PER O B-LOC        -> (PER, 0, 1), (LOC, 3, 3)
    I-PER B-PER I-LOC          -> (PER, 0, 0), (PER, 1, 1), (LOC, 2, 2)

References: Tjong Kim Sang & De Meulder 2003 (CoNLL-2003's span F1, ``conlleval``); Ramshaw & Marcus 1995 (IOB);
Nakayama 2018, ``seqeval`` (the implementation the tests compare against).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: A span: (type, first word, last word), positions counted within its sentence (or a flattened corpus).
Span = tuple[str, int, int]


def _split_tag(tag: str) -> tuple[str, str]:
    """(prefix letter, type) as seqeval splits a tag: ``B-PER`` -> (``B``, ``PER``); ``O`` -> (``O``, ``_``)."""
    return tag[:1], tag[1:].split("-", maxsplit=1)[-1] or "_"


def _ends(prev: str, prev_type: str, cur: str, cur_type: str) -> bool:
    """A span ended between the previous word and this one (seqeval's ``end_of_chunk``)."""
    if prev in ("E", "S"):
        return True
    if prev in ("B", "I") and cur in ("B", "S", "O"):
        return True
    return prev not in ("O", ".") and prev_type != cur_type


def _starts(prev: str, prev_type: str, cur: str, cur_type: str) -> bool:
    """A span starts at this word (seqeval's ``start_of_chunk``)."""
    if cur in ("B", "S"):
        return True
    if prev in ("E", "S", "O") and cur in ("E", "I"):
        return True
    return cur not in ("O", ".") and prev_type != cur_type


def spans(tags: Sequence[str]) -> list[Span]:
    """The spans that the tags of one sentence mark (see the module docstring).

    >>> spans(["B-PER", "I-PER", "O", "B-LOC"])
    [('PER', 0, 1), ('LOC', 3, 3)]
    >>> spans(["O", "I-PER", "I-PER", "B-PER", "S-LOC", "E-LOC"])
    [('PER', 1, 2), ('PER', 3, 3), ('LOC', 4, 4), ('LOC', 5, 5)]
    """
    out: list[Span] = []
    prev, prev_type, begin = "O", "", 0
    for i, tag in enumerate([*tags, "O"]):  # the "O" after the last word closes an open span
        cur, cur_type = _split_tag(tag)
        if _ends(prev, prev_type, cur, cur_type):
            out.append((prev_type, begin, i - 1))
        if _starts(prev, prev_type, cur, cur_type):
            begin = i
        prev, prev_type = cur, cur_type
    return out


def ill_formed_starts(tags: Sequence[str]) -> list[int]:
    """Positions where an ``I-X`` (or ``E-X``) tag opens a span, not continuing a ``B-X``/``I-X`` of its type:
    invalid IOB2, read as seqeval reads it (a span starting there).

    >>> ill_formed_starts(["I-PER", "I-PER", "O", "B-LOC", "I-ORG"])
    [0, 4]
    """
    out = []
    prev, prev_type = "O", ""
    for i, tag in enumerate(tags):
        cur, cur_type = _split_tag(tag)
        if cur in ("I", "E") and (prev not in ("B", "I") or prev_type != cur_type):
            out.append(i)
        prev, prev_type = cur, cur_type
    return out


def _prf(correct: int, predicted: int, true: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts, 0 where a denominator is 0 (seqeval's and scikit-learn's
    ``zero_division=0``).

    >>> _prf(1, 2, 4)
    (0.5, 0.25, 0.3333333333333333)
    """
    p = correct / predicted if predicted else 0.0
    r = correct / true if true else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def span_scores(true: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> dict[str, Any]:
    """Micro-averaged span precision, recall and F1 over sentences, with the counts and the figures per type
    (equal to seqeval's ``precision_score``, ``recall_score``, ``f1_score`` and ``classification_report``).

    >>> r = span_scores([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])
    >>> r["precision"], r["recall"], r["f1"], r["true_spans"]
    (0.0, 0.0, 0.0, 1)
    """
    gold: set[tuple[int, Span]] = set()
    found: set[tuple[int, Span]] = set()
    for s, (t, p) in enumerate(zip(true, pred, strict=True)):
        gold.update((s, span) for span in spans(t))
        found.update((s, span) for span in spans(p))
    hit = gold & found
    p, r, f = _prf(len(hit), len(found), len(gold))
    per_type = {}
    for kind in sorted({span[0] for _, span in gold | found}):
        n_hit = sum(1 for _, span in hit if span[0] == kind)
        n_found = sum(1 for _, span in found if span[0] == kind)
        n_gold = sum(1 for _, span in gold if span[0] == kind)
        tp, tr, tf = _prf(n_hit, n_found, n_gold)
        per_type[kind] = {"precision": tp, "recall": tr, "f1": tf, "support": n_gold}
    return {
        "precision": p,
        "recall": r,
        "f1": f,
        "true_spans": len(gold),
        "predicted_spans": len(found),
        "correct_spans": len(hit),
        "per_type": per_type,
    }


@dataclass
class TagReport:
    """Per-word figures of a tagger on some sentences (see :func:`tag_report`)."""

    accuracy: float
    words: int
    sentences: int
    per_tag: dict[str, dict[str, float]]  # tag -> precision, recall, f1, support (true words of the tag)
    sentence_accuracy: float  # sentences with every word right

    def to_dict(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "words": self.words,
            "sentences": self.sentences,
            "sentence_accuracy": self.sentence_accuracy,
            "per_tag": self.per_tag,
        }


def tag_report(true: Sequence[Sequence[str]], pred: Sequence[Sequence[str]]) -> TagReport:
    """Accuracy over words and precision/recall/F1/support for every tag that is true or predicted somewhere.

    >>> r = tag_report([["DET", "NOUN"], ["VERB"]], [["DET", "VERB"], ["VERB"]])
    >>> r.accuracy, r.per_tag["VERB"]["precision"], r.per_tag["NOUN"]["recall"], r.sentence_accuracy
    (0.6666666666666666, 0.5, 0.0, 0.5)
    """
    n_true: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    n_hit: Counter[str] = Counter()
    words = right = whole = 0
    for t, p in zip(true, pred, strict=True):
        if len(t) != len(p):
            raise ValueError(f"a sentence of {len(t)} words has {len(p)} predicted tags")
        n_true.update(t)
        n_pred.update(p)
        hits = [a for a, b in zip(t, p) if a == b]
        n_hit.update(hits)
        words += len(t)
        right += len(hits)
        whole += len(hits) == len(t)
    per_tag = {}
    for tag in sorted(n_true.keys() | n_pred.keys()):
        precision, recall, f1 = _prf(n_hit[tag], n_pred[tag], n_true[tag])
        per_tag[tag] = {"precision": precision, "recall": recall, "f1": f1, "support": n_true[tag]}
    return TagReport(
        accuracy=right / words if words else 0.0,
        words=words,
        sentences=len(true),
        per_tag=per_tag,
        sentence_accuracy=whole / len(true) if len(true) else 0.0,
    )


def subset_accuracy(
    true: Sequence[Sequence[str]], pred: Sequence[Sequence[str]], keep: Sequence[Sequence[bool]]
) -> tuple[float | None, int]:
    """Accuracy over the words where ``keep`` is True (e.g. words never seen in training), and their number;
    None when there are none.

    >>> subset_accuracy([["a", "b"]], [["a", "c"]], [[False, True]])
    (0.0, 1)
    """
    n = right = 0
    for t, p, k in zip(true, pred, keep, strict=True):
        for a, b, use in zip(t, p, k):
            if use:
                n += 1
                right += a == b
    return (right / n if n else None), n


__all__ = [
    "Span",
    "TagReport",
    "ill_formed_starts",
    "span_scores",
    "spans",
    "subset_accuracy",
    "tag_report",
]
