"""Perplexity, one protocol for every family.

Each line of the text is a sentence. Every token of the line is predicted and counted, and so is the line's end
``</s>``; the start ``<s>`` never is (KenLM's convention; PTB's ``<eos>`` counts the same). Words unseen in
training are scored as ``<unk>`` and counted in ``oov``. The figures are token-weighted over the whole split:

    H = -(1/N) sum_i ln p(w_i | w_<i)      (cross-entropy, nats per token)
    PPL = exp(H),  bits per token = H / ln 2

so perplexities of different families on the same tokenizer and split are comparable.

On a labelled corpus a conditioned model reads each line given its own label, p(w_i | w_<i, c), and the figures are
the same sums over the same tokens. :func:`evaluate_labelled` also scores the lines with their labels shuffled
among them (a seeded permutation: the same labels, each on a line that is not its own), which shows what the
condition is worth, and gives the figures per label.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lmlab.errors import LmlabError
from lmlab.lm import LanguageModel
from lmlab.lm.perplexity import EvalResult, perplexity_from_total, zero_probability_message


def perplexity_from_logprobs(logprobs: np.ndarray, *, oov: int = 0, lines: int = 0) -> EvalResult:
    """Aggregate per-token natural-log probabilities into the protocol's figures.

    >>> r = perplexity_from_logprobs(np.log([0.5, 0.25, 0.125, 0.5]))
    >>> round(r.perplexity, 6), round(r.bits_per_token, 6), r.tokens
    (3.363586, 1.75, 4)
    """
    n = int(logprobs.size)
    total = float(np.sum(logprobs, dtype=np.float64)) if n else 0.0
    return perplexity_from_total(total, n, oov=oov, lines=lines)


def evaluate(model: LanguageModel, lines: Sequence[str], labels: Sequence[str] | None = None) -> EvalResult:
    """Score ``lines`` with ``model`` under the shared protocol; with ``labels`` (one per line), each line given its
    label (a model conditioned on labels needs them; one that takes no condition refuses them)."""
    _check_normalized(model)
    if labels is None:
        encoded = model.tokenizer.encode_lines(lines)
        logprobs = model.score_stream(encoded.ids)
        _check_finite(model, logprobs, encoded.ids)
        return perplexity_from_logprobs(logprobs, oov=encoded.n_oov, lines=encoded.n_lines)
    return evaluate_parts(model, *score_lines(model, lines, labels))


def score_lines(
    model: LanguageModel, lines: Sequence[str], labels: Sequence[str] | None = None
) -> tuple[list[np.ndarray], list[np.ndarray], int]:
    """Each line's log-probabilities and token ids (its tokens, then ``</s>``), in the order of the lines, and the
    number of OOV tokens. Without ``labels`` the lines are scored as one stream, as :func:`evaluate` scores them;
    with ``labels`` (one per line) the lines of each label are scored by ``model.given(label)``."""
    tok = model.tokenizer
    if labels is None:
        encoded = tok.encode_lines(lines)
        logprobs = model.score_stream(encoded.ids)
        n, eos = len(lines), tok.eos_id
        return (
            _split_lines(logprobs, encoded.ids, n, eos),
            _split_lines(encoded.ids, encoded.ids, n, eos),
            encoded.n_oov,
        )
    if len(labels) != len(lines):
        raise LmlabError(f"got {len(lines):,} lines but {len(labels):,} labels; give one label per line")
    scores: list[np.ndarray] = [np.zeros(0)] * len(lines)
    ids: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(lines)
    oov = 0
    for label in sorted(set(labels)):
        rows = [i for i, lab in enumerate(labels) if lab == label]
        encoded = tok.encode_lines([lines[i] for i in rows])
        lp = model.given(label).score_stream(encoded.ids)
        for i, part, part_ids in zip(
            rows,
            _split_lines(lp, encoded.ids, len(rows), tok.eos_id),
            _split_lines(encoded.ids, encoded.ids, len(rows), tok.eos_id),
            strict=True,
        ):
            scores[i], ids[i] = part, part_ids
        oov += encoded.n_oov
    return scores, ids, oov


@dataclass(frozen=True)
class LabelledEvalResult:
    """The protocol's figures on a labelled split: each line given its own label (``given``), the labels shuffled
    among the lines with ``seed`` (``shuffled``; None for a model that takes no condition), and per label."""

    given: EvalResult
    shuffled: EvalResult | None
    per_label: dict[str, dict[str, float | int]]
    seed: int

    def to_dict(self) -> dict:
        out: dict = self.given.to_dict()
        if self.shuffled is not None:
            out |= {
                "shuffled_perplexity": self.shuffled.perplexity,
                "shuffled_cross_entropy": self.shuffled.cross_entropy,
                "shuffle_seed": self.seed,
            }
        return out | {"per_label": self.per_label}


def evaluate_labelled(
    model: LanguageModel, lines: Sequence[str], labels: Sequence[str], *, seed: int = 0
) -> LabelledEvalResult:
    """Perplexity on labelled lines: given each line's own label and given the labels shuffled (a model conditioned
    on labels), or of the texts alone (a model that takes no condition), overall and per label.

    ``per_label[label]`` holds that label's ``lines``, ``tokens`` and ``perplexity`` (and ``shuffled_perplexity``:
    the same lines, each given the label the permutation gave it).
    """
    _check_normalized(model)
    conditioned = bool(model.labels)
    parts, ids, oov = score_lines(model, lines, labels if conditioned else None)
    given = evaluate_parts(model, parts, ids, oov)
    shuffled_parts = None
    shuffled = None
    if conditioned:
        permuted = [labels[i] for i in np.random.default_rng(seed).permutation(len(labels))]
        shuffled_parts, ids, oov = score_lines(model, lines, permuted)
        shuffled = evaluate_parts(model, shuffled_parts, ids, oov)
    per_label: dict[str, dict[str, float | int]] = {}
    for label in sorted(set(labels)):
        rows = [i for i, lab in enumerate(labels) if lab == label]
        mine = np.concatenate([parts[i] for i in rows])
        entry: dict[str, float | int] = {
            "lines": len(rows),
            "tokens": int(mine.size),
            "perplexity": math.exp(-float(mine.mean())),
        }
        if shuffled_parts is not None:
            entry["shuffled_perplexity"] = math.exp(-float(np.concatenate([shuffled_parts[i] for i in rows]).mean()))
        per_label[label] = entry
    return LabelledEvalResult(given, shuffled, per_label, seed)


def evaluate_parts(model: LanguageModel, parts: list[np.ndarray], ids: list[np.ndarray], oov: int) -> EvalResult:
    """The protocol's figures of lines already scored (see :func:`score_lines`)."""
    logprobs = np.concatenate(parts) if parts else np.zeros(0)
    _check_finite(model, logprobs, np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64))
    return perplexity_from_logprobs(logprobs, oov=oov, lines=len(parts))


def _split_lines(values: np.ndarray, ids: np.ndarray, n_lines: int, eos_id: int) -> list[np.ndarray]:
    """``values`` (one per token of ``ids``) cut after each ``</s>``: one array per line."""
    ends = np.flatnonzero(np.asarray(ids) == eos_id) + 1
    if ends.size != n_lines:
        raise LmlabError(f"{n_lines:,} lines read as {ends.size:,}: a line holds the end token </s> itself")
    return np.split(np.asarray(values), ends[:-1])


def _check_normalized(model: LanguageModel) -> None:
    if not model.normalized:
        raise LmlabError(
            f"a {model.family} model with this smoothing gives scores, not probabilities, so it has no "
            "perplexity; use a normalized estimator (e.g. --smoothing modified-kneser-ney)"
        )


def _check_finite(model: LanguageModel, logprobs: np.ndarray, ids: np.ndarray) -> None:
    bad = ~np.isfinite(logprobs)
    if bad.any():
        first = int(np.argmax(bad))
        token = model.tokenizer.id_to_token(int(ids[first]))
        raise LmlabError(zero_probability_message(int(bad.sum()), int(logprobs.size), token, first))


__all__ = [
    "EvalResult",
    "LabelledEvalResult",
    "evaluate",
    "evaluate_labelled",
    "evaluate_parts",
    "perplexity_from_logprobs",
    "score_lines",
]
