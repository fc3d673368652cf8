"""Drawing a token from a model's next-token distribution: temperature, top-k and nucleus (top-p), for every task
that generates (language models token by token, translation's sampling search).

References: Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration" (nucleus sampling);
Fan et al. 2018, "Hierarchical Neural Story Generation" (top-k sampling).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lmlab.errors import LmlabError


@dataclass(frozen=True)
class SamplingConfig:
    max_tokens: int = 100  # a line rarely runs longer; the end token usually stops it first
    temperature: float = 1.0  # 1 samples the model's own distribution
    top_k: int | None = None  # None: no top-k cut
    top_p: float | None = None  # None: no nucleus cut
    greedy: bool = False  # always the most likely token (deterministic)
    allow_unk: bool = True  # False: never emit <unk>

    def __post_init__(self):
        if self.max_tokens < 1:
            raise LmlabError(f"max tokens must be >= 1, got {self.max_tokens}")
        if not self.greedy and not (self.temperature > 0 and math.isfinite(self.temperature)):
            raise LmlabError(f"temperature must be > 0, got {self.temperature} (use greedy decoding for the argmax)")
        if self.top_k is not None and self.top_k < 1:
            raise LmlabError(f"top-k must be >= 1, got {self.top_k}")
        if self.top_p is not None and not (0.0 < self.top_p <= 1.0):
            raise LmlabError(f"top-p must be in (0, 1], got {self.top_p}")


def filter_logprobs(logprobs: np.ndarray, cfg: SamplingConfig) -> np.ndarray:
    """Sampling probabilities after temperature, top-k and top-p; a ``(V,)`` array that sums to 1.

    >>> p = filter_logprobs(np.log([0.5, 0.3, 0.15, 0.05]), SamplingConfig(top_p=0.8))
    >>> p.round(3).tolist()
    [0.625, 0.375, 0.0, 0.0]
    """
    logits = np.asarray(logprobs, dtype=np.float64) / cfg.temperature
    logits = logits - logits.max()
    if cfg.top_k is not None and cfg.top_k < logits.size:
        kth = np.partition(logits, -cfg.top_k)[-cfg.top_k]
        logits = np.where(logits < kth, -np.inf, logits)
    p = np.exp(logits)
    p /= p.sum()
    if cfg.top_p is not None and cfg.top_p < 1.0:
        order = np.argsort(-p, kind="stable")
        cumulative = np.cumsum(p[order])
        # keep the smallest prefix whose mass reaches top_p (the token that crosses the line is kept)
        n_keep = int(np.searchsorted(cumulative, cfg.top_p - 1e-12)) + 1
        mask = np.zeros_like(p, dtype=bool)
        mask[order[:n_keep]] = True
        p = np.where(mask, p, 0.0)
        p /= p.sum()
    return p


__all__ = ["SamplingConfig", "filter_logprobs"]
