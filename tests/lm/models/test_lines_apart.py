"""Models trained with ``--examples lines`` read each line on its own: their context restarts at every </s>."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lmlab.lm.evaluate import evaluate
from lmlab.lm.models import get_family
from lmlab.tokenizers import CharTokenizer

LINES = ["emma", "olivia", "x", "a much longer line than the block", "ava"]
ARCH = {
    "mlp": {"context_len": 3, "d_embed": 4, "d_hidden": 8},
    "gru": {"d_embed": 4, "d_hidden": 8, "n_layer": 1},
    "cnn": {"n_layer": 2, "channels": 8},
    "transformer": {"n_layer": 1, "n_head": 2, "d_model": 8, "block_size": 12, "seq_len": 12},
}


def build(family: str, examples: str):
    torch.manual_seed(0)
    tok = CharTokenizer.train(LINES)
    fam = get_family(family)
    lm = fam.model_class()(tok, fam.config_class()(**ARCH[family], examples=examples))
    lm.net.eval()
    return lm


@pytest.mark.parametrize("family", sorted(ARCH))
def test_each_line_is_scored_as_if_it_were_alone(family):
    lm = build(family, "lines")
    assert lm.lines_apart
    together = lm.score_stream(lm.tokenizer.encode_lines(LINES).ids)
    alone = np.concatenate([lm._score_continuous(lm.tokenizer.encode_lines([line]).ids) for line in LINES])
    assert together.shape == alone.shape and np.allclose(together, alone, atol=1e-5)
    # and the protocol's figures are those of the lines scored one by one
    r = evaluate(lm, LINES)
    assert r.tokens == sum(len(line) + 1 for line in LINES)
    assert np.isclose(r.log_prob, alone.sum(), atol=1e-4)


@pytest.mark.parametrize("family", ["gru", "transformer"])
def test_stream_models_read_on_through_the_lines_before(family):
    lm = build(family, "stream")
    assert not lm.lines_apart
    ids = lm.tokenizer.encode_lines(LINES[:2]).ids
    second_alone = lm.score_stream(lm.tokenizer.encode_lines(LINES[1:2]).ids)
    assert not np.allclose(lm.score_stream(ids)[len(LINES[0]) + 1 :], second_alone, atol=1e-4)
