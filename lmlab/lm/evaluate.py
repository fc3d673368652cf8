"""Perplexity, one protocol for every family.

Each line of the text is a sentence. Every token of the line is predicted and counted, and so is the line's end
``</s>``; the start ``<s>`` never is (KenLM's convention; PTB's ``<eos>`` counts the same). Words unseen in
training are scored as ``<unk>`` and counted in ``oov``. The figures are token-weighted over the whole split:

    H = -(1/N) sum_i ln p(w_i | w_<i)      (cross-entropy, nats per token)
    PPL = exp(H),  bits per token = H / ln 2

so perplexities of different families on the same tokenizer and split are comparable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from lmlab.errors import LmlabError
from lmlab.lm import LanguageModel


@dataclass(frozen=True)
class EvalResult:
    perplexity: float
    cross_entropy: float  # nats per token
    bits_per_token: float
    tokens: int  # scored tokens, one </s> per line included
    oov: int
    lines: int
    log_prob: float  # total, natural log

    def to_dict(self) -> dict:
        return asdict(self)


def perplexity_from_logprobs(logprobs: np.ndarray, *, oov: int = 0, lines: int = 0) -> EvalResult:
    """Aggregate per-token natural-log probabilities into the protocol's figures.

    >>> r = perplexity_from_logprobs(np.log([0.5, 0.25, 0.125, 0.5]))
    >>> round(r.perplexity, 6), round(r.bits_per_token, 6), r.tokens
    (3.363586, 1.75, 4)
    """
    n = int(logprobs.size)
    if n == 0:
        raise LmlabError("nothing to evaluate: the text has no tokens")
    total = float(np.sum(logprobs, dtype=np.float64))
    h = -total / n
    return EvalResult(math.exp(h), h, h / math.log(2), n, oov, lines, total)


def evaluate(model: LanguageModel, lines: Sequence[str]) -> EvalResult:
    """Score ``lines`` with ``model`` under the shared protocol."""
    if not model.normalized:
        raise LmlabError(
            f"a {model.family} model with this smoothing gives scores, not probabilities, so it has no "
            "perplexity; use a normalized estimator (e.g. --smoothing modified-kneser-ney)"
        )
    encoded = model.tokenizer.encode_lines(lines)
    logprobs = model.score_stream(encoded.ids)
    bad = ~np.isfinite(logprobs)
    if bad.any():
        first = int(np.argmax(bad))
        raise LmlabError(
            f"the model gives probability 0 to {int(bad.sum())} of {logprobs.size} tokens "
            f"(first: {model.tokenizer.id_to_token(int(encoded.ids[first]))!r} at token {first}), so perplexity "
            "is infinite; use a smoothed estimator"
        )
    return perplexity_from_logprobs(logprobs, oov=encoded.n_oov, lines=encoded.n_lines)
