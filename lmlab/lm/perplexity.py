"""The evaluation protocol's figures from a total log-probability (see :mod:`lmlab.lm.evaluate` for the protocol),
without NumPy: ``lmlab eval`` of a model file computes its total in C and reports it through these."""

from __future__ import annotations

import math
from collections import namedtuple

from lmlab.errors import LmlabError


# a collections.namedtuple, not a dataclass or typing.NamedTuple: lmlab eval's lean path imports it (see lmlab.lazy)
class EvalResult(namedtuple("EvalResult", "perplexity cross_entropy bits_per_token tokens oov lines log_prob")):
    """The protocol's figures: ``perplexity``, ``cross_entropy`` (nats per token), ``bits_per_token``, ``tokens``
    (scored tokens, one ``</s>`` per line included), ``oov``, ``lines`` and ``log_prob`` (the total, natural log)."""

    __slots__ = ()

    def to_dict(self) -> dict:
        return self._asdict()

    def summary(self, where: str) -> str:
        """The line ``lmlab eval`` prints for the text ``where``."""
        return (
            f"{where}: perplexity {self.perplexity:.2f}, cross-entropy {self.cross_entropy:.4f} nats "
            f"({self.bits_per_token:.4f} bits) per token, {self.tokens:,} tokens, {self.oov:,} OOV"
        )


def perplexity_from_total(total: float, tokens: int, *, oov: int = 0, lines: int = 0) -> EvalResult:
    """The protocol's figures from the natural-log probability ``total`` of ``tokens`` tokens.

    H = -total / tokens nats per token, perplexity exp(H), H / ln 2 bits per token:

    >>> r = perplexity_from_total(-4 * math.log(2), 2)
    >>> r.perplexity, r.bits_per_token
    (4.0, 2.0)
    """
    if tokens == 0:
        raise LmlabError("nothing to evaluate: the text has no tokens")
    h = -total / tokens
    return EvalResult(math.exp(h), h, h / math.log(2), tokens, oov, lines, total)


def zero_probability_message(bad: int, tokens: int, token: str, first: int) -> str:
    """The error for a text some of whose tokens (``bad`` of them, the first ``token`` at position ``first``) the
    model gives probability 0."""
    return (
        f"the model gives probability 0 to {bad} of {tokens} tokens (first: {token!r} at token {first}), so "
        "perplexity is infinite; use a smoothed estimator"
    )


__all__ = ["EvalResult", "perplexity_from_total", "zero_probability_message"]
