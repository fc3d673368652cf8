"""Decoding a translation: greedy, beam search and sampling, batched over sentences (and beams).

Every search encodes a batch of sources once, then calls the network's ``step`` once per target position on the
rows still going (see :mod:`lmlab.translate.models.base`). A hypothesis ends with ``</s>``; its length |Y| counts
its tokens, ``</s>`` included, and may not exceed ``max_len(source) = min(a |X| + b, the model's limit)``, where
|X| counts the source's tokens with its ``</s>``: at that length ``</s>`` is the only choice.

Beam search (Sutskever et al. 2014; Wu et al. 2016) keeps the K best prefixes of every sentence. At each step the
2K best continuations of the K prefixes are ranked by log-probability; those ending in ``</s>`` among the first K
are finished hypotheses, the first K others are the next prefixes. A sentence is done when it has K finished
hypotheses. The finished ones are ranked by Wu et al.'s length-normalised score::

    s(Y, X) = log P(Y | X) / lp(Y),    lp(Y) = ((5 + |Y|) / 6) ** alpha          (alpha = 0: no normalisation)

The encoder's output (with what the network precomputes from it) is repeated K times once; each step reorders
the decoder's recurrent state or KV cache by the surviving prefixes' rows; a sentence that is done leaves the
batch. With K = 1 beam search follows the argmax at each step and stops at the first ``</s>``: greedy decoding.

Sampling draws each token from the model's distribution after temperature, top-k and top-p
(:func:`lmlab.lm.generate.filter_logprobs`, the language models' own code), one sample per row.

References: Sutskever, Vinyals & Le 2014 (left-to-right beam search); Wu et al. 2016, "Google's Neural Machine
Translation System" (the length penalty); Holtzman et al. 2020 (nucleus sampling).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from lmlab.errors import LmlabError
from lmlab.sampling import SamplingConfig, filter_logprobs
from lmlab.translate.batching import pad_batch
from lmlab.translate.models.base import TranslationNet, select_rows
from lmlab.translate.vocab import PAD

#: Bounds of the decoding flags, far beyond any useful value, so that a typo cannot exhaust memory or overflow:
#: translation quality peaks at beams of 4 to 10 and falls beyond 30 or so (Koehn & Knowles 2017), and each
#: beam costs the batch a row per sentence (beam 10,000 took 2.3 GB for 3 sentences)
MAX_BEAM = 100
MAX_LENGTH_PENALTY = 10.0  # Wu et al.'s alpha; their best lay in 0.6 .. 1.0, and lp(Y) ** alpha overflows past ~100
MAX_LEN_A = 100.0  # the model's limit caps every translation anyway
MAX_LEN_B = 100_000
MAX_TOP_K = 1_000_000  # a cut larger than the vocabulary keeps every token
TEMPERATURE_RANGE = (1e-3, 1e3)  # below, log p / T overflows to -inf and the draw has no distribution
#: Rows of one beam-search batch (sentences x beam): up to a beam of 64 every batch holds its 64 sentences; a beam
#: of 100 searches 40 at a time, so that memory does not grow with the beam
MAX_BEAM_ROWS = 4096


def _check_int(name: str, v, lo: int, hi: int) -> None:
    if not (isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi):
        raise LmlabError(f"--{name} must be an integer from {lo:,} to {hi:,}, got {v!r}")


def _check_number(name: str, v, lo: float, hi: float) -> None:
    if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and lo <= v <= hi):
        raise LmlabError(f"--{name} must be a number from {lo:g} to {hi:g}, got {v!r}")


@dataclass(frozen=True)
class DecodeConfig:
    """How translations are searched for (``lmlab translate`` flags; a run keeps its own defaults)."""

    beam: int = 5  # K prefixes kept per sentence; 1 is greedy decoding
    length_penalty: float = 0.6  # Wu et al.'s alpha (their best lay in 0.6 .. 1.0); 0 ranks by log P alone
    max_len_a: float = 1.5  # longest translation: a * source tokens + b (</s> counted on both sides)
    max_len_b: int = 10
    n_best: int = 1  # hypotheses returned per sentence (at most beam; or samples with sample=True)
    sample: bool = False  # draw tokens at random instead of searching
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None  # sampling: reproducible draws

    def __post_init__(self):
        _check_int("beam", self.beam, 1, MAX_BEAM)
        _check_int("n-best", self.n_best, 1, MAX_BEAM)
        _check_int("max-len-b", self.max_len_b, 0, MAX_LEN_B)
        if not self.sample and self.n_best > self.beam:
            raise LmlabError(f"--n-best ({self.n_best}) cannot be more than --beam ({self.beam})")
        _check_number("length-penalty", self.length_penalty, 0.0, MAX_LENGTH_PENALTY)
        _check_number("max-len-a", self.max_len_a, 0.0, MAX_LEN_A)
        if self.sample:
            _check_number("temperature", self.temperature, *TEMPERATURE_RANGE)
            if self.top_k is not None:
                _check_int("top-k", self.top_k, 1, MAX_TOP_K)
            if self.top_p is not None and not (isinstance(self.top_p, (int, float)) and 0 < self.top_p <= 1):
                raise LmlabError(f"--top-p must be a number above 0 and at most 1, got {self.top_p!r}")
            self.sampling()  # SamplingConfig's own checks

    def sampling(self) -> SamplingConfig:
        return SamplingConfig(temperature=self.temperature, top_k=self.top_k, top_p=self.top_p)


@dataclass(frozen=True)
class Hypothesis:
    tokens: list[int]  # model ids, without </s>
    score: float  # what ranks it: log P / lp(|Y|) for beam search, log P otherwise
    logprob: float  # log P(Y | X), </s> included


def length_penalty(length: int, alpha: float) -> float:
    """Wu et al.'s lp(Y) = ((5 + |Y|) / 6) ** alpha; 1 for a one-token hypothesis, and for alpha = 0.

    >>> length_penalty(1, 0.6), round(length_penalty(7, 0.6), 4), length_penalty(7, 0.0)
    (1.0, 1.5157, 1.0)
    """
    return ((5.0 + length) / 6.0) ** alpha


def max_lengths(src_lengths: Sequence[int], a: float, b: int, limit: int) -> list[int]:
    """The longest translation of each source: min(floor(a |X| + b), limit), at least 1.

    >>> max_lengths([4, 30], 1.5, 10, 40)
    [16, 40]
    """
    return [max(1, min(int(math.floor(a * n + b)), limit)) for n in src_lengths]


def _next_logprobs(net: TranslationNet, logits: Tensor, t: int, max_len: Tensor) -> Tensor:
    """log p of the next token (float32 at least): never padding or <s>; only </s> at a row's last position."""
    cfg = net.config
    logp = torch.log_softmax(logits.to(torch.promote_types(logits.dtype, torch.float32)), dim=-1)  # bf16 -> float32
    logp[:, PAD] = float("-inf")
    logp[:, cfg.bos_id] = float("-inf")
    last = max_len <= t + 1  # (n,) rows whose next token must end them
    if bool(last.any()):
        eos = logp[:, cfg.eos_id].clone()
        logp[last] = float("-inf")
        logp[last, cfg.eos_id] = eos[last]
    return logp


def _encode(net: TranslationNet, srcs: Sequence[np.ndarray]):
    device = next(net.parameters()).device
    src = torch.from_numpy(pad_batch(srcs)).to(device)
    memory = net.encode(src, src != PAD)
    return net.start(memory)


@torch.inference_mode()
def greedy_search(net: TranslationNet, srcs: Sequence[np.ndarray], max_len: Sequence[int]) -> list[Hypothesis]:
    """The argmax at every step until ``</s>`` (or the length limit), for each source (model ids with </s>)."""
    memory, state = _encode(net, srcs)
    device = memory.outputs.device
    B = len(srcs)
    rows = torch.arange(B, device=device)  # the sentence of each row still going
    limit = torch.tensor(max_len, device=device)
    y = torch.full((B,), net.config.bos_id, dtype=torch.long, device=device)
    tokens: list[list[int]] = [[] for _ in range(B)]
    logprob = [0.0] * B
    for t in range(max(max_len)):
        logits, state, _ = net.step(memory, state, y)
        logp = _next_logprobs(net, logits, t, limit[rows])
        best_logp, best = logp.topk(1, dim=-1)  # the same choice (ties included) as a beam of one
        best, best_logp = best[:, 0], best_logp[:, 0].double()
        ended = best == net.config.eos_id
        for r, sentence in enumerate(rows.tolist()):
            logprob[sentence] += float(best_logp[r])
            if not ended[r]:
                tokens[sentence].append(int(best[r]))
        if bool(ended.all()):
            break
        if bool(ended.any()):
            keep = (~ended).nonzero().squeeze(1)
            memory, state, rows = select_rows(memory, keep), select_rows(state, keep), rows[keep]
            best = best[keep]
        y = best
    return [Hypothesis(tokens[i], logprob[i], logprob[i]) for i in range(B)]


@torch.inference_mode()
def beam_search(
    net: TranslationNet,
    srcs: Sequence[np.ndarray],
    max_len: Sequence[int],
    beam: int,
    alpha: float = 0.0,
    n_best: int = 1,
) -> list[list[Hypothesis]]:
    """The ``n_best`` best hypotheses of each source by length-normalised score (see the module docstring)."""
    K, eos = beam, net.config.eos_id
    memory, state = _encode(net, srcs)
    device = memory.outputs.device
    n = len(srcs)
    expand = torch.arange(n, device=device).repeat_interleave(K)  # row i*K + k: beam k of sentence i
    memory, state = select_rows(memory, expand), select_rows(state, expand)
    sentences = torch.arange(n, device=device)  # the sentence of each group of K rows still going
    limit = torch.tensor(max_len, device=device)
    scores = torch.full((n, K), float("-inf"), dtype=torch.float64, device=device)
    scores[:, 0] = 0.0  # one live prefix (<s>) per sentence at first; float64 keeps the ranking of float32 log p
    history = torch.zeros(n * K, 0, dtype=torch.long, device=device)
    y = torch.full((n * K,), net.config.bos_id, dtype=torch.long, device=device)
    finished: list[list[Hypothesis]] = [[] for _ in range(n)]
    for t in range(max(max_len)):
        logits, state, _ = net.step(memory, state, y)
        logp = _next_logprobs(net, logits, t, limit[sentences].repeat_interleave(K))
        V = logp.size(-1)
        candidates = (scores.unsqueeze(2) + logp.view(-1, K, V).double()).view(-1, K * V)  # (n, K V)
        top, index = candidates.topk(min(2 * K, K * V), dim=1)  # best first
        prefix, token = index // V, index % V  # (n, 2K): which prefix each continuation extends, with what
        ended = token == eos
        done = []
        ended_cpu, top_cpu, prefix_cpu = ended[:, :K].tolist(), top[:, :K].tolist(), prefix[:, :K].tolist()
        for g, sentence in enumerate(sentences.tolist()):
            hyps = finished[sentence]
            for j in range(K):
                if ended_cpu[g][j] and math.isfinite(top_cpu[g][j]) and len(hyps) < K:
                    tokens = history[g * K + prefix_cpu[g][j]].tolist()
                    lp = length_penalty(len(tokens) + 1, alpha)
                    hyps.append(Hypothesis(tokens, top_cpu[g][j] / lp, top_cpu[g][j]))
            done.append(len(hyps) >= K or t + 1 >= max_len[sentence])
        going = ~torch.tensor(done, device=device)
        if not bool(going.any()):
            break
        pick = torch.sort(ended.to(torch.int8), dim=1, stable=True).indices[:, :K]  # the first K not ending
        new_prefix, new_token = prefix.gather(1, pick), token.gather(1, pick)  # (n, K)
        scores = top.gather(1, pick)[going]
        rows = (torch.arange(len(done), device=device).unsqueeze(1) * K + new_prefix)[going].reshape(-1)
        history = torch.cat([history[rows], new_token[going].reshape(-1, 1)], dim=1)
        state = select_rows(state, rows)
        if not bool(going.all()):  # a sentence left: its rows of the encoder's output go too
            kept = going.nonzero().squeeze(1)
            memory = select_rows(memory, (kept * K).repeat_interleave(K))
            sentences = sentences[kept]
        y = new_token[going].reshape(-1)
    return [sorted(h, key=lambda x: -x.score)[:n_best] for h in finished]


@torch.inference_mode()
def sample_search(
    net: TranslationNet, srcs: Sequence[np.ndarray], max_len: Sequence[int], cfg: SamplingConfig, seed: int | None
) -> list[Hypothesis]:
    """One translation of each source drawn token by token (temperature, top-k, top-p), reproducible by ``seed``."""
    rng = np.random.default_rng(seed)
    memory, state = _encode(net, srcs)
    device = memory.outputs.device
    B = len(srcs)
    rows = list(range(B))
    limit = torch.tensor(max_len, device=device)
    y = torch.full((B,), net.config.bos_id, dtype=torch.long, device=device)
    tokens: list[list[int]] = [[] for _ in range(B)]
    logprob = [0.0] * B
    for t in range(max(max_len)):
        logits, state, _ = net.step(memory, state, y)
        logp = _next_logprobs(net, logits, t, limit[torch.tensor(rows, device=device)]).double().cpu().numpy()
        chosen, keep = [], []
        for r, sentence in enumerate(rows):
            p = filter_logprobs(logp[r], cfg)
            token = int(rng.choice(p.size, p=p))
            logprob[sentence] += float(logp[r, token])
            if token != net.config.eos_id:
                tokens[sentence].append(token)
                chosen.append(token)
                keep.append(r)
        if not keep:
            break
        if len(keep) < len(rows):
            index = torch.tensor(keep, device=device)
            memory, state = select_rows(memory, index), select_rows(state, index)
            rows = [rows[r] for r in keep]
        y = torch.tensor(chosen, dtype=torch.long, device=device)
    return [Hypothesis(tokens[i], logprob[i], logprob[i]) for i in range(B)]


def search(net: TranslationNet, srcs: Sequence[np.ndarray], cfg: DecodeConfig) -> list[list[Hypothesis]]:
    """The hypotheses of each source by the search ``cfg`` names (one batch: pad them together)."""
    limit = net.config.max_len
    lengths = max_lengths([s.size for s in srcs], cfg.max_len_a, cfg.max_len_b, limit)
    if cfg.sample:
        repeated = [s for s in srcs for _ in range(cfg.n_best)]
        draws = sample_search(net, repeated, [m for m in lengths for _ in range(cfg.n_best)], cfg.sampling(), cfg.seed)
        return [draws[i * cfg.n_best : (i + 1) * cfg.n_best] for i in range(len(srcs))]
    if cfg.beam == 1:
        return [[h] for h in greedy_search(net, srcs, lengths)]
    return beam_search(net, srcs, lengths, cfg.beam, cfg.length_penalty, cfg.n_best)


def search_batches(
    net: TranslationNet, srcs: Sequence[np.ndarray], cfg: DecodeConfig, max_sentences: int = 64
) -> list[list[Hypothesis]]:
    """:func:`search` over any number of sources, in batches of similar length; results in input order."""
    if cfg.sample and cfg.seed is not None:
        max_sentences = max(1, len(srcs))  # one batch, so the draws do not depend on how sources are grouped
    elif not cfg.sample:
        max_sentences = max(1, min(max_sentences, MAX_BEAM_ROWS // cfg.beam))
    order = np.argsort([s.size for s in srcs], kind="stable")
    out: list[list[Hypothesis]] = [[] for _ in srcs]
    for a in range(0, order.size, max_sentences):
        index = order[a : a + max_sentences]
        for i, hyps in zip(index, search(net, [srcs[i] for i in index], cfg)):
            out[int(i)] = hyps
    return out


__all__ = [
    "MAX_BEAM",
    "DecodeConfig",
    "Hypothesis",
    "beam_search",
    "greedy_search",
    "length_penalty",
    "max_lengths",
    "sample_search",
    "search",
    "search_batches",
]
