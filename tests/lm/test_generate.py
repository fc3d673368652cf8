"""Sampling: the filters, reproducibility, stopping at the end token."""

from __future__ import annotations

import numpy as np
import pytest

from lmlab.errors import LmlabError
from lmlab.lm.generate import SamplingConfig, filter_logprobs, generate, sample_tokens
from lmlab.lm.ngram.model import NgramConfig, NgramLM
from lmlab.tokenizers import WordTokenizer

P = np.log(np.array([0.1, 0.4, 0.3, 0.2]))


def test_top_k_keeps_the_k_most_likely():
    p = filter_logprobs(P, SamplingConfig(top_k=2))
    assert p.tolist() == pytest.approx([0, 4 / 7, 3 / 7, 0])


def test_top_p_keeps_the_smallest_set_reaching_p():
    assert (filter_logprobs(P, SamplingConfig(top_p=0.7)) > 0).tolist() == [False, True, True, False]
    assert (filter_logprobs(P, SamplingConfig(top_p=0.71)) > 0).tolist() == [False, True, True, True]
    assert (filter_logprobs(P, SamplingConfig(top_p=1.0)) > 0).all()


def test_temperature_sharpens_and_flattens():
    cold = filter_logprobs(P, SamplingConfig(temperature=0.1))
    hot = filter_logprobs(P, SamplingConfig(temperature=10.0))
    assert cold.max() > 0.9 and hot.max() < 0.3
    assert filter_logprobs(P, SamplingConfig()).tolist() == pytest.approx(np.exp(P).tolist())


@pytest.mark.parametrize(
    "kw", [{"top_p": 0.0}, {"top_p": 1.1}, {"temperature": 0.0}, {"temperature": -1.0}, {"top_k": 0}, {"max_tokens": 0}]
)
def test_bad_settings(kw):
    with pytest.raises(LmlabError):
        SamplingConfig(**kw)


@pytest.fixture
def model():
    lines = ["a b c", "a b d", "a c"] * 5
    tok = WordTokenizer.train(lines)
    return NgramLM.fit(tok.encode_lines(lines).ids, tok, NgramConfig(order=3))


def test_greedy_is_deterministic_and_stops_at_the_end_token(model):
    out = generate(model, "", SamplingConfig(greedy=True), num_samples=3, seed=None)
    assert out == ["a b c"] * 3


def test_seed_reproduces_samples(model):
    cfg = SamplingConfig(top_k=3)
    assert generate(model, "a", cfg, num_samples=4, seed=7) == generate(model, "a", cfg, num_samples=4, seed=7)


def test_max_tokens_and_no_start_token(model):
    rng = np.random.default_rng(0)
    for _ in range(20):
        ids = list(sample_tokens(model, [], SamplingConfig(max_tokens=2, temperature=5.0), rng))
        assert len(ids) <= 2 and model.tokenizer.bos_id not in ids
