"""Sampling text from any language model: greedy, temperature, top-k and nucleus (top-p).

One implementation for every family, written against :meth:`LanguageModel.start` / :meth:`advance`.

References: Holtzman et al. 2020, "The Curious Case of Neural Text Degeneration" (nucleus sampling);
Fan et al. 2018, "Hierarchical Neural Story Generation" (top-k sampling).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from lmlab.lm import LanguageModel
from lmlab.sampling import SamplingConfig, filter_logprobs  # noqa: F401 - re-exported for the verbs


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
