"""The convolutional model: receptive field, causality, exact chunked scoring."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lmlab.lm.models.cnn import CNNLM, CNNConfig
from lmlab.tokenizers import CharTokenizer


@pytest.fixture
def model():
    torch.manual_seed(0)
    tok = CharTokenizer.train(["abcdefgh"])
    return CNNLM(tok, CNNConfig(n_layer=3, kernel_size=2, channels=8, d_embed=4))


def test_receptive_field():
    assert CNNConfig(n_layer=6, kernel_size=2).receptive_field == 64
    assert CNNConfig(n_layer=3, kernel_size=3, dilation_growth=3).receptive_field == 1 + 2 * (1 + 3 + 9)


def test_prediction_reads_exactly_its_receptive_field(model):
    net = model.net.eval()
    R = net.receptive_field  # 8
    x = torch.randint(0, model.vocab_size, (1, 20))
    base, _ = net(x, net.init_state(1))
    for j in range(20):
        y = x.clone()
        y[0, j] = (x[0, j] + 1) % model.vocab_size
        out, _ = net(y, net.init_state(1))
        changed = (~torch.isclose(out[0], base[0], atol=1e-6)).any(-1)
        # position t (predicting t + 1) depends on tokens t - R + 1 .. t only
        assert changed[:j].any().item() is False
        assert changed[j + R :].any().item() is False


def test_chunked_scoring_equals_one_pass(model):
    ids = np.random.default_rng(0).integers(0, model.vocab_size, 300)
    model._chunk_len = lambda: 37  # force many chunks carrying the window
    chunked = model.score_stream(ids)
    model._chunk_len = lambda: 10_000
    assert np.allclose(chunked, model.score_stream(ids), atol=1e-6)
