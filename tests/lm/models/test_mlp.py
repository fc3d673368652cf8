"""The MLP window model: shapes, the textbook equations, exactly n tokens of context, the contract."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lmlab.errors import LmlabError
from lmlab.lm.models.mlp import MLPLM, MLPConfig
from lmlab.tokenizers import CharTokenizer


@pytest.fixture
def tok() -> CharTokenizer:
    return CharTokenizer.train(["abcab", "cba"])  # 3 specials + a, b, c


def test_shapes_and_state(tok):
    lm = MLPLM(tok, MLPConfig(context_len=3, d_embed=4, d_hidden=5))
    net = lm.net
    state = net.init_state(2)
    assert state[0].shape == (2, 2) and (state[0] == tok.eos_id).all()
    logits, state = net(torch.tensor([[3, 4, 5, 3], [4, 4, 4, 4]]), state)
    assert logits.shape == (2, 4, tok.vocab_size)  # (B, T, V)
    assert state[0].tolist() == [[5, 3], [4, 4]]  # the last n - 1 tokens
    ctx = torch.tensor([[1, 2, 3, 4]])
    assert net.state_from_context(ctx)[0].tolist() == [[3, 4]]


def test_textbook_equations(tok):
    """y = b + W x + U tanh(d + H x), x the concatenated embeddings of the window, by hand."""
    lm = MLPLM(tok, MLPConfig(context_len=2, d_embed=1, d_hidden=1, direct=True))
    net = lm.net
    V = tok.vocab_size
    with torch.no_grad():
        net.embed.weight.copy_(torch.arange(1.0, V + 1).unsqueeze(1))  # C[i] = i + 1
        net.hidden.weight.copy_(torch.tensor([[0.5, -0.25]]))  # H
        net.hidden.bias.fill_(0.1)  # d
        net.output.weight.copy_(torch.linspace(-1, 1, V).unsqueeze(1))  # U
        net.output.bias.copy_(torch.arange(V) * 0.01)  # b
        net.direct.weight.zero_()
        net.direct.weight[0] = torch.tensor([0.1, 0.2])  # W, row of token 0
    # window (w_{t-1}, w_t) = (5, 3): x = [C[5], C[3]] = [6, 4]
    logits, _ = net(torch.tensor([[3]]), (torch.tensor([[5]]),))
    h = math.tanh(0.1 + 0.5 * 6 - 0.25 * 4)
    u = np.linspace(-1, 1, V)
    expected = np.arange(V) * 0.01 + u * h
    expected[0] += 0.1 * 6 + 0.2 * 4
    np.testing.assert_allclose(logits[0, 0].detach().numpy(), expected, rtol=1e-6, atol=1e-6)


def test_scores_see_exactly_the_previous_n_tokens(tok):
    torch.manual_seed(0)
    n = 3
    lm = MLPLM(tok, MLPConfig(context_len=n, d_embed=4, d_hidden=8))
    ids = tok.encode_lines(["abcab", "cba", "aab"]).ids.astype(np.int64)
    lp = lm.score_stream(ids)
    assert lp.dtype == np.float64 and lp.shape == ids.shape
    padded = np.concatenate([[tok.eos_id] * n, ids])  # </s> before the start
    for i in range(ids.size):
        window = padded[i : i + n]  # the n tokens before ids[i]
        logits, _ = lm.net(torch.from_numpy(window[None, -1:]), (torch.from_numpy(window[None, :-1]),))
        expected = torch.log_softmax(logits[0, -1], -1)[ids[i]].item()
        assert lp[i] == pytest.approx(expected, abs=1e-5)
    # tokens further back than n do not matter
    changed = ids.copy()
    changed[0] = 4 if ids[0] != 4 else 5
    lp2 = lm.score_stream(changed)
    np.testing.assert_allclose(lp2[n + 1 :], lp[n + 1 :], atol=1e-6)
    assert not np.allclose(lp2[1 : n + 1], lp[1 : n + 1])


def test_bad_sizes():
    with pytest.raises(LmlabError, match="--context-len must be an integer >= 1"):
        MLPConfig(context_len=0)
    with pytest.raises(LmlabError, match="--dropout must be in"):
        MLPConfig(dropout=1.0)
