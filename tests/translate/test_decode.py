"""Decoding: a beam of one is greedy decoding exactly; a beam wide enough to keep every hypothesis returns the best
one (checked against all hypotheses enumerated and scored by teacher forcing); batched search equals search one
sentence at a time; the scores beam search reports are the model's; sampling is reproducible."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from lmlab.errors import LmlabError
from lmlab.lm.generate import SamplingConfig
from lmlab.translate.decode import (
    DecodeConfig,
    beam_search,
    greedy_search,
    length_penalty,
    max_lengths,
    sample_search,
    search,
    search_batches,
)
from lmlab.translate.models.base import Memory, TranslationNet
from tests.translate.conftest import BOS, EOS, FAMILIES, make_net

SOURCES = [np.array([5, 7, 4, 9, 2]), np.array([3, 2]), np.array([8, 8, 6, 2]), np.array([10, 4, 4, 5, 6, 3, 2])]


def teacher_forced_logprob(net, src: np.ndarray, tokens: list[int]) -> float:
    """log P(tokens </s> | src) by one teacher-forced pass (the search's masking: never padding or <s>)."""
    x = torch.from_numpy(src).unsqueeze(0)
    y_in = torch.tensor([[BOS, *tokens]])
    with torch.no_grad():
        logits = net(x, x != 0, y_in).logits[0]
    logp = torch.log_softmax(logits, -1)
    return float(sum(logp[t, y] for t, y in enumerate([*tokens, EOS])))


class EndsWithItsSource(TranslationNet):
    """A family's network whose </s> is forbidden before the translation has as many tokens as its source, and
    certain then: the words come from the network, the length from the source."""

    def __init__(self, net):
        super().__init__()
        self.inner, self.config = net, net.config

    def encode(self, src, src_mask):
        return Memory(src, src_mask, final=self.inner.encode(src, src_mask), extra=src_mask.sum(1))

    def start(self, memory):
        inner, state = self.inner.start(memory.final)
        return memory._replace(final=inner), (state, torch.zeros_like(memory.extra))

    def step(self, memory, state, y_prev, need_weights=False):
        logits, inner, attention = self.inner.step(memory.final, state[0], y_prev, need_weights)
        count = state[1] + 1  # the position this step predicts
        logits = logits.clone()
        logits[:, EOS] += torch.where(count >= memory.extra, 50.0, -50.0).to(logits.dtype)
        return logits, (inner, count), attention


@pytest.mark.parametrize("family", FAMILIES)
def test_beam_of_one_is_greedy_exactly(family):
    net = EndsWithItsSource(make_net(family, dtype=torch.float32))
    limits = [2, 20, 20, 2]  # the first and last sources are longer than their limit: they stop there
    greedy = greedy_search(net, SOURCES, limits)
    beam = beam_search(net, SOURCES, limits, beam=1, alpha=0.6)
    assert [g.tokens for g in greedy] == [b[0].tokens for b in beam]
    assert [g.logprob for g in greedy] == pytest.approx([b[0].logprob for b in beam], abs=1e-5)
    assert [len(g.tokens) for g in greedy] == [1, 1, 3, 1]  # </s> at the limit, after the source's length
    plain = make_net(family, dtype=torch.float32)  # and the network itself, whatever its lengths
    greedy = greedy_search(plain, SOURCES, [6, 3, 9, 2])
    assert [g.tokens for g in greedy] == [b[0].tokens for b in beam_search(plain, SOURCES, [6, 3, 9, 2], beam=1)]


def all_hypotheses(n_tokens: list[int], max_len: int):
    """Every token sequence Y of at most max_len - 1 tokens (</s> makes max_len)."""
    for k in range(max_len):
        yield from (list(t) for t in itertools.product(n_tokens, repeat=k))


@pytest.mark.parametrize("family", ["bahdanau", "transformer"])
@pytest.mark.parametrize("alpha", [0.0, 0.6, 2.0])
def test_a_beam_wide_enough_returns_the_best_hypothesis_of_all(family, alpha):
    # target ids: 0 padding, 1 <s>, 2 </s>, 3..5 words: 1 + 3 + 9 + 27 + 81 = 121 hypotheses of up to 5 tokens
    net = make_net(family, tgt_vocab_size=6, seed=3)
    src, max_len = SOURCES[0], 5
    hyps = list(all_hypotheses([3, 4, 5], max_len))
    assert len(hyps) == 121
    scored = []
    for tokens in hyps:
        logp = teacher_forced_logprob(net, src, tokens)
        scored.append((logp / length_penalty(len(tokens) + 1, alpha), tokens))
    scored.sort(key=lambda x: -x[0])
    found = beam_search(net, [src], [max_len], beam=len(hyps), alpha=alpha, n_best=5)[0]
    assert [h.tokens for h in found] == [t for _, t in scored[:5]]
    assert [h.score for h in found] == pytest.approx([s for s, _ in scored[:5]], abs=1e-9)
    narrow = beam_search(net, [src], [max_len], beam=3, alpha=alpha)[0][0]  # approximate: never better than the best
    assert narrow.score <= scored[0][0] + 1e-9


@pytest.mark.parametrize("family", FAMILIES)
def test_beam_search_reports_the_models_scores_and_batches_change_nothing(family):
    net = make_net(family)
    limits = max_lengths([s.size for s in SOURCES], 1.5, 3, net.config.max_len)
    batched = beam_search(net, SOURCES, limits, beam=3, alpha=0.6, n_best=3)
    for src, limit, hyps in zip(SOURCES, limits, batched):
        alone = beam_search(net, [src], [limit], beam=3, alpha=0.6, n_best=3)[0]
        assert [h.tokens for h in hyps] == [h.tokens for h in alone]
        assert len(hyps) == 3 and [h.score for h in hyps] == sorted([h.score for h in hyps], reverse=True)
        for h in hyps:
            assert len(h.tokens) + 1 <= limit
            assert h.logprob == pytest.approx(teacher_forced_logprob(net, src, h.tokens), abs=1e-9)
            assert h.score == pytest.approx(h.logprob / length_penalty(len(h.tokens) + 1, 0.6), abs=1e-12)


def test_search_batches_keeps_the_input_order():
    net = make_net("transformer")
    cfg = DecodeConfig(beam=2, max_len_a=1.0, max_len_b=2)
    one_batch = search(net, SOURCES, cfg)
    small_batches = search_batches(net, SOURCES, cfg, max_sentences=2)
    assert [h[0].tokens for h in one_batch] == [h[0].tokens for h in small_batches]


def test_a_wide_beam_searches_fewer_sentences_at_a_time_with_the_same_result(monkeypatch):
    from lmlab.translate import decode

    net = make_net("transformer")
    cfg = DecodeConfig(beam=decode.MAX_BEAM, max_len_a=1.0, max_len_b=2)
    one_batch = search(net, SOURCES, cfg)
    sizes = []
    monkeypatch.setattr(decode, "search", lambda net, srcs, cfg: sizes.append(len(srcs)) or one_batch[: len(srcs)])
    monkeypatch.setattr(decode, "MAX_BEAM_ROWS", 2 * decode.MAX_BEAM)  # two sentences' rows per batch
    search_batches(net, SOURCES, cfg)
    assert sizes and max(sizes) == 2 and sum(sizes) == len(SOURCES)
    monkeypatch.undo()
    assert [[h.tokens for h in x] for x in search_batches(net, SOURCES, cfg)] == [
        [h.tokens for h in x] for x in one_batch
    ]


def test_sampling_is_reproducible_and_top_k_1_is_greedy():
    net = make_net("luong", dtype=torch.float32)
    limits = max_lengths([s.size for s in SOURCES], 1.5, 3, net.config.max_len)
    greedy = greedy_search(net, SOURCES, limits)
    top1 = sample_search(net, SOURCES, limits, SamplingConfig(top_k=1), seed=0)
    assert [g.tokens for g in greedy] == [s.tokens for s in top1]
    cfg = DecodeConfig(sample=True, n_best=2, seed=7, temperature=1.5)
    a, b = search_batches(net, SOURCES, cfg), search_batches(net, SOURCES, cfg)
    assert [[h.tokens for h in x] for x in a] == [[h.tokens for h in x] for x in b] and all(len(x) == 2 for x in a)


def test_length_rules():
    assert length_penalty(1, 0.6) == 1.0 and length_penalty(11, 1.0) == pytest.approx(16 / 6)
    assert max_lengths([1, 10, 100], 1.5, 10, 64) == [11, 25, 64]
    assert math.isclose(length_penalty(7, 0.6), 2**0.6)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"beam": 0}, "--beam must be an integer from 1 to 100, got 0"),
        ({"beam": 10_000}, "--beam must be an integer from 1 to 100, got 10000"),
        ({"beam": 1, "n_best": 1, "sample": True, "top_k": 10**9}, "--top-k must be an integer from 1 to 1,000,000"),
        ({"sample": True, "temperature": 1e-320}, "--temperature must be a number from 0.001 to 1000"),
        ({"max_len_a": math.inf}, "--max-len-a must be a number from 0 to 100"),
        ({"max_len_b": 10**12}, "--max-len-b must be an integer from 0 to 100,000"),
        ({"length_penalty": math.nan}, "--length-penalty must be a number from 0 to 10"),
        ({"beam": 2, "n_best": 3}, "--n-best"),
        ({"length_penalty": -1.0}, "--length-penalty"),
        ({"max_len_b": -1}, "--max-len-b"),
        ({"sample": True, "temperature": 0.0}, "temperature"),
        ({"sample": True, "top_p": 1.5}, "top-p"),
    ],
)
def test_bad_decoding_settings(values, message):
    with pytest.raises(LmlabError, match=message):
        DecodeConfig(**values)
