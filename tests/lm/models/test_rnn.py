"""Recurrent LMs: the scoring contract (chunked = whole, causal, normalised), generation state, tied weights,
save/load, the explicit path inside a model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lmlab.errors import LmlabError
from lmlab.lm.models.mlp import MLPLM, MLPConfig
from lmlab.lm.models.neural import lm_loss
from lmlab.lm.models.rnn import GRULM, LSTMLM, RNNLM, GRUConfig, LSTMConfig, RNNConfig
from lmlab.tokenizers import WordTokenizer

LINES = ["the cat sat", "the dog ran far", "a cat ran", "the mat"]

MODELS = [
    (RNNLM, RNNConfig(d_embed=8, d_hidden=8, n_layer=2, nonlinearity="relu")),
    (LSTMLM, LSTMConfig(d_embed=8, d_hidden=8, n_layer=2, tie_weights=True)),
    (GRULM, GRUConfig(d_embed=6, d_hidden=8, n_layer=1, dropout=0.5, locked_dropout=True)),
    (MLPLM, MLPConfig(context_len=3, d_embed=4, d_hidden=8)),
]


@pytest.fixture
def tok() -> WordTokenizer:
    return WordTokenizer.train(LINES)


@pytest.fixture(params=MODELS, ids=lambda m: m[0].family if isinstance(m, tuple) else None)
def lm(request, tok):
    torch.manual_seed(0)
    cls, cfg = request.param
    model = cls(tok, cfg)
    with torch.no_grad():
        for p in model.net.parameters():
            p.add_(torch.randn_like(p) * 0.3)  # not the near-uniform distribution of a fresh model
    return model.to("cpu")


def stream(tok):
    return tok.encode_lines(LINES * 3).ids


def test_chunked_scoring_equals_one_pass_and_is_normalised(lm, tok, monkeypatch):
    ids = stream(tok)
    whole = lm.score_stream(ids)
    monkeypatch.setattr(type(lm), "_chunk_len", lambda self: 5)
    np.testing.assert_allclose(lm.score_stream(ids), whole, atol=1e-5)
    assert whole.dtype == np.float64 and np.all(whole < 0)
    lp = lm.next_token_logprobs([])
    assert np.exp(lp).sum() == pytest.approx(1.0, abs=1e-5)
    assert lp[tok.encode("the")[0]] == pytest.approx(whole[0], abs=1e-5)  # primed with </s>


def test_scores_are_causal(lm, tok):
    ids = stream(tok)
    lp = lm.score_stream(ids)
    changed = ids.copy()
    changed[10] = tok.unk_id
    lp2 = lm.score_stream(changed)
    np.testing.assert_allclose(lp2[:10], lp[:10], atol=1e-6)  # the future never changes the past
    assert lp2[10] != lp[10]


def test_start_advance_equal_scoring(lm, tok):
    ids = tok.encode_lines(["the cat sat"]).ids
    lp = lm.score_stream(ids)
    state, dist = lm.start([])
    for i, token in enumerate(ids):
        assert dist[token] == pytest.approx(lp[i], abs=1e-5)
        state, dist = lm.advance(state, int(token))
    assert lm.next_token_logprobs(ids[:2].tolist())[ids[2]] == pytest.approx(lp[2], abs=1e-5)


def test_save_load_round_trip(lm, tok, tmp_path):
    lm.save_weights(tmp_path)
    back = type(lm).load_weights(tmp_path, lm.config_dict(), tok)
    np.testing.assert_array_equal(back.score_stream(stream(tok)), lm.score_stream(stream(tok)))
    assert back.num_parameters() == lm.num_parameters()


def test_tied_weights_are_one_parameter(tok, tmp_path):
    lm = LSTMLM(tok, LSTMConfig(d_embed=8, d_hidden=8, tie_weights=True))
    untied = LSTMLM(tok, LSTMConfig(d_embed=8, d_hidden=8))
    assert lm.net.decoder.weight is lm.net.embed.weight
    assert untied.num_parameters() - lm.num_parameters() == tok.vocab_size * 8
    lm.save_weights(tmp_path)
    from safetensors.torch import load_file

    assert "decoder.weight" not in load_file(str(tmp_path / "model.safetensors"))
    with pytest.raises(LmlabError, match="--tie-weights needs --d-embed equal to --d-hidden"):
        LSTMConfig(d_embed=8, d_hidden=16, tie_weights=True)


def test_loading_weights_of_another_shape_is_an_error(tok, tmp_path):
    LSTMLM(tok, LSTMConfig(d_embed=8, d_hidden=8)).save_weights(tmp_path)
    with pytest.raises(LmlabError, match="shape"):
        LSTMLM.load_weights(tmp_path, LSTMConfig(d_embed=8, d_hidden=16).to_dict(), tok)
    with pytest.raises(LmlabError, match="do not match the configuration .*unexpected rnn.layers.1"):
        LSTMLM.load_weights(tmp_path, LSTMConfig(d_embed=8, d_hidden=8, n_layer=1).to_dict(), tok)
    with pytest.raises(LmlabError, match="shape"):  # an LSTM's 4 gate blocks are not a GRU's 3
        GRULM.load_weights(tmp_path, GRUConfig(d_embed=8, d_hidden=8).to_dict(), tok)


@pytest.mark.parametrize("cls, cfg_cls", [(RNNLM, RNNConfig), (LSTMLM, LSTMConfig), (GRULM, GRUConfig)])
def test_explicit_path_model_equals_fused(tok, cls, cfg_cls):
    torch.manual_seed(0)
    fused = cls(tok, cfg_cls(d_embed=6, d_hidden=5, n_layer=2, dropout=0.0))
    explicit = cls(tok, cfg_cls(d_embed=6, d_hidden=5, n_layer=2, dropout=0.0, fused=False))
    explicit.net.load_state_dict(fused.net.state_dict())
    ids = stream(tok)
    np.testing.assert_allclose(explicit.score_stream(ids), fused.score_stream(ids), atol=1e-5)
    x = torch.from_numpy(ids[:-1].astype(np.int64)).view(1, -1)
    y = torch.from_numpy(ids[1:].astype(np.int64)).view(1, -1)
    grads = []
    for model in (fused, explicit):
        model.net.zero_grad()
        logits, _ = model.net(x, model.net.init_state(1))
        lm_loss(logits, y).backward()
        grads.append([p.grad.clone() for p in model.net.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_bad_config_values():
    with pytest.raises(LmlabError, match="--nonlinearity must be tanh or relu"):
        RNNConfig(nonlinearity="sigmoid")
    with pytest.raises(LmlabError, match="--n-layer must be an integer >= 1"):
        LSTMConfig(n_layer=0)


@pytest.mark.parametrize("k", [0, 3])
def test_state_reset_restarts_staggered_streams_from_zero(k, tmp_path):
    """--state-reset k: at batch i, stream r starts from the zero state when (i + r) % k == 0, and only then; the
    other streams carry their state on (k = 0: every stream carries it through the epoch)."""
    from lmlab.data import Corpus
    from lmlab.lm.models.task import LanguageModelTask
    from lmlab.tokenizers import CharTokenizer

    text = ["the cat sat on the mat and the dog ran far away"] * 40
    corpus = Corpus("toy", text, text[:4], text[:4], "by hand")
    cfg = LSTMConfig(d_embed=4, d_hidden=5, n_layer=2, dropout=0.0, batch_size=4, seq_len=5, state_reset=k)
    task = LanguageModelTask(cfg, corpus, CharTokenizer.train(corpus.train))
    task.prepare(tmp_path, seed=0)
    torch.manual_seed(0)
    net = task.build_network()
    state = None
    for i in range(7):
        carried = state
        with torch.no_grad():
            loss, count, state = task.train_step(net, i, state)
        if i == 0:
            continue
        x, _ = task.batches[i]
        fresh = net(torch.from_numpy(x), net.init_state(4))[1]  # (h, c), each (layers, B, H)
        kept = net(torch.from_numpy(x), carried)[1]
        for r in range(4):
            cold = k > 0 and (i + r) % k == 0
            want = fresh if cold else kept
            for got, ref in zip(state, want, strict=True):
                torch.testing.assert_close(got[:, r], ref[:, r])
    with pytest.raises(LmlabError, match="--state-reset must be an integer >= 0"):
        LSTMConfig(state_reset=-1)
