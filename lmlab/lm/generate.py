"""Sampling text from any language model: greedy, temperature, top-k and nucleus (top-p).

One implementation for every family, written against :meth:`LanguageModel.start` / :meth:`advance`.

References: Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration" (nucleus sampling);
Fan et al. 2018, "Hierarchical Neural Story Generation" (top-k sampling).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from lmlab.errors import LmlabError
from lmlab.lm import LanguageModel


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


def sample_tokens(
    model: LanguageModel,
    prompt: Sequence[int],
    cfg: SamplingConfig,
    rng: np.random.Generator,
) -> Iterator[int]:
    """Yield sampled token ids one at a time after ``prompt``, stopping at ``</s>`` (not yielded) or max_tokens."""
    tok = model.tokenizer
    state, logprobs = model.start(prompt)
    for _ in range(cfg.max_tokens):
        logprobs = np.array(logprobs, dtype=np.float64)
        logprobs[tok.bos_id] = -np.inf  # <s> is a context, never an output
        if not cfg.allow_unk:
            logprobs[tok.unk_id] = -np.inf
        if cfg.greedy:
            token = int(np.argmax(logprobs))
        else:
            p = filter_logprobs(logprobs, cfg)
            token = int(rng.choice(p.size, p=p))
        if token == tok.eos_id:
            return
        yield token
        state, logprobs = model.advance(state, token)


def generate(
    model: LanguageModel,
    prompt: str = "",
    cfg: SamplingConfig | None = None,
    *,
    num_samples: int = 1,
    seed: int | None = None,
) -> list[str]:
    """``num_samples`` continuations of ``prompt`` as text (prompt included); reproducible given ``seed``."""
    cfg = cfg or SamplingConfig()
    rng = np.random.default_rng(seed)
    prompt_ids = model.tokenizer.encode(prompt) if prompt else []
    out = []
    for _ in range(num_samples):
        ids = prompt_ids + list(sample_tokens(model, prompt_ids, cfg, rng))
        out.append(model.tokenizer.decode(ids))
    return out
