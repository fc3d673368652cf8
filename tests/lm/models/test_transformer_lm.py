"""The GPT-style model: causality, the KV cache, strided scoring, the contract."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lmlab.lm import LanguageModel
from lmlab.lm.generate import SamplingConfig, generate
from lmlab.lm.models.transformer import TransformerConfig, TransformerLM
from lmlab.tokenizers import CharTokenizer


@pytest.fixture(params=["learned", "sinusoidal", "rotary"])
def model(request):
    torch.manual_seed(0)
    tok = CharTokenizer.train(["abcdefgh ijk"])
    cfg = TransformerConfig(n_layer=2, n_head=2, d_model=16, block_size=12, seq_len=12, positions=request.param)
    lm = TransformerLM(tok, cfg)
    lm.net.eval()
    return lm


def test_changing_a_future_token_never_changes_earlier_logits(model):
    x = torch.randint(0, model.vocab_size, (1, 12))
    y = x.clone()
    y[0, 7] = (x[0, 7] + 1) % model.vocab_size
    a, _ = model.net(x)
    b, _ = model.net(y)
    assert torch.allclose(a[0, :7], b[0, :7], atol=1e-6)
    assert not torch.allclose(a[0, 7:], b[0, 7:])


def test_kv_cache_gives_the_same_distributions_and_tokens(model):
    ids = list(np.random.default_rng(0).integers(3, model.vocab_size, 20))
    state, logp = model.start(ids[:3])
    for t in range(3, 20):  # past block_size the window slides and the cache is rebuilt
        assert np.allclose(logp, model.next_token_logprobs(ids[:t]), atol=1e-5), t
        state, logp = model.advance(state, ids[t])
    cfg = SamplingConfig(max_tokens=30, top_k=5)
    with_cache = generate(model, "abc", cfg, num_samples=3, seed=3)

    class NoCache(TransformerLM):  # the contract's default start/advance: the whole context every step
        start = LanguageModel.start
        advance = LanguageModel.advance

    plain = NoCache.__new__(NoCache)
    plain.__dict__.update(model.__dict__)
    assert generate(plain, "abc", cfg, num_samples=3, seed=3) == with_cache


def test_score_stream_matches_next_token_distributions_within_a_block(model):
    tok = model.tokenizer
    ids = tok.encode_lines(["abc", "hij"]).ids  # 8 tokens, shorter than the block
    lp = model.score_stream(ids)
    for i in range(ids.size):
        want = model.next_token_logprobs(ids[:i].tolist())[ids[i]]  # start() adds the </s> start token
        assert lp[i] == pytest.approx(want, abs=1e-5)


def test_long_streams_are_scored_with_strided_windows(model):
    ids = np.random.default_rng(1).integers(0, model.vocab_size, 50)
    lp = model.score_stream(ids)
    assert lp.shape == (50,) and np.isfinite(lp).all() and (lp < 0).all()
    inputs = np.concatenate([[model.tokenizer.eos_id], ids[:-1]])
    # token 30 is scored in the window starting at 24 (stride 6, block 12): check it by hand
    logits, _ = model.net(torch.from_numpy(inputs[24:36]).unsqueeze(0))
    want = torch.log_softmax(logits[0, 30 - 24], -1)[ids[30]].item()
    assert lp[30] == pytest.approx(want, abs=1e-5)


def test_attention_weights_for_inspection(model):
    weights = model.attention_weights(model.tokenizer.encode("abc"))
    assert len(weights) == 2 and weights[0].shape == (2, 4, 4)
    assert torch.allclose(weights[0].sum(-1), torch.ones(2, 4), atol=1e-5)
    assert (weights[1].triu(1) == 0).all()


def test_bad_architecture_values():
    with pytest.raises(ValueError, match="divisible"):
        TransformerConfig(d_model=10, n_head=3)
    with pytest.raises(ValueError, match="positions"):
        TransformerConfig(positions="alibi")
    with pytest.raises(ValueError, match="block-size"):
        TransformerConfig(block_size=8, seq_len=16)
