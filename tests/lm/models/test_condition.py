"""Language models conditioned on a label (issue 27): every neural family takes it the same way, through
:class:`lmlab.nn.condition.LabelEmbedding` (the label's vector added to every input token's embedding).

The reference for each family is the same network without labels whose token table is shifted by hand,
E'[w] = E[w] + C[c]: what ``[E; C]^T [onehot(w); onehot(c)]`` (the label's one-hot concatenated to each token's)
computes. The GRU is also checked against torch.nn.GRU and a linear decoder with its weights copied in.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lmlab.errors import LmlabError
from lmlab.lm.evaluate import evaluate, evaluate_labelled
from lmlab.lm.models import get_family
from lmlab.lm.models.rnn import GRULM, GRUConfig
from lmlab.nn.condition import LabelEmbedding
from lmlab.tokenizers import CharTokenizer

LABELS = ("high", "low", "mid")
LINES = ["abca", "bcab", "xyzzy", "zyx", "mnom", "nomn"]
ARCH = {
    "mlp": {"context_len": 3, "d_embed": 4, "d_hidden": 8},
    "rnn": {"d_embed": 6, "d_hidden": 6, "n_layer": 2, "dropout": 0.0},
    "lstm": {"d_embed": 6, "d_hidden": 5, "n_layer": 2, "dropout": 0.0},
    "gru": {"d_embed": 6, "d_hidden": 5, "n_layer": 1, "dropout": 0.0},
    "cnn": {"n_layer": 2, "channels": 6, "d_embed": 6},
    "transformer": {"n_layer": 2, "n_head": 2, "d_model": 8, "block_size": 8, "seq_len": 8, "tie_weights": False},
}


def build(family: str, labels=LABELS):
    torch.manual_seed(0)
    tok = CharTokenizer.train(LINES)
    fam = get_family(family)
    cfg = fam.config_class()(**ARCH[family], examples="lines", num_labels=len(labels))
    lm = fam.model_class()(tok, cfg, labels)
    lm.net.eval()
    return lm


def token_table(net) -> torch.nn.Embedding:
    return net.tok_emb if hasattr(net, "tok_emb") else net.embed


@pytest.mark.parametrize("family", sorted(ARCH))
def test_a_label_is_every_token_vector_shifted_by_its_own(family):
    """net(idx, state, c) equals the same network without labels, its token table E + C[c] (set by hand)."""
    lm = build(family)
    plain = build(family, labels=())
    state = {k: v for k, v in lm.net.state_dict().items() if not k.startswith("condition.")}
    plain.net.load_state_dict(state)
    idx = torch.tensor([[1, 4, 2, 5, 3], [6, 2, 1, 1, 4]])
    for c in range(len(LABELS)):
        with torch.no_grad():
            token_table(plain.net).weight.copy_(token_table(lm.net).weight + lm.net.condition.table.weight[c])
            cond = torch.full((2,), c)
            got, _ = lm.net(idx, lm.net.init_state(2), cond)
            want, _ = plain.net(idx, plain.net.init_state(2))
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("family", sorted(ARCH))
def test_the_condition_changes_every_prediction_and_scoring_follows_it(family):
    lm = build(family)
    ids = lm.tokenizer.encode_lines(LINES[:2]).ids
    scores = [lm.given(label).score_stream(ids) for label in LABELS]
    assert not np.allclose(scores[0], scores[1], atol=1e-4)
    # generation and scoring agree for the label given: the first token's probability after </s>
    for label, lp in zip(LABELS, scores):
        first = lm.given(label).next_token_logprobs([])
        assert first[ids[0]] == pytest.approx(lp[0], abs=1e-5)
        assert np.exp(first).sum() == pytest.approx(1.0, abs=1e-5)
    # rows of one batch, each with its own label, as training feeds them
    idx = torch.tensor([[lm.tokenizer.eos_id, *ids[:3]]] * 3)
    logits, _ = lm.net(idx, lm.net.init_state(3), torch.arange(3))
    assert not torch.allclose(logits[0], logits[1], atol=1e-4)


def test_gru_conditioned_forward_equals_torch_nn_with_copied_weights():
    lm = build("gru")
    net = lm.net
    ref = torch.nn.GRU(6, 5, batch_first=True)
    decoder = torch.nn.Linear(5, lm.vocab_size)
    with torch.no_grad():
        layer = net.rnn.layers[0]
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(ref, name).copy_(getattr(layer, name))
        decoder.load_state_dict(net.decoder.state_dict())
        idx = torch.tensor([[2, 3, 1, 4], [5, 5, 6, 2]])
        labels = torch.tensor([2, 0])
        x = net.embed.weight[idx] + net.condition.table.weight[labels][:, None, :]  # e_t = E[w_t] + C[c] by hand
        want = decoder(ref(x)[0])
        got, _ = net(idx, net.init_state(2), labels)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_a_conditioned_model_needs_a_known_label_and_a_plain_one_takes_none():
    lm = build("gru")
    with pytest.raises(LmlabError, match="unknown condition 'loud'; this model knows: high, low, mid"):
        lm.given("loud")
    with pytest.raises(LmlabError, match="conditioned on a label; give one of: high, low, mid"):
        lm.score_stream(lm.tokenizer.encode_lines(["abc"]).ids)
    plain = build("gru", labels=())
    with pytest.raises(LmlabError, match="trained without labels"):
        plain.given("high")
    with pytest.raises(ValueError, match="takes no condition"):
        LabelEmbedding(0, 4)(torch.zeros(1, 2, 4), torch.zeros(1, dtype=torch.long))
    with pytest.raises(LmlabError, match="reads each line on its own"):
        GRUConfig(num_labels=3, examples="stream")
    with pytest.raises(LmlabError, match="says 3 labels, but 2 are named"):
        GRULM(CharTokenizer.train(LINES), GRUConfig(num_labels=3, examples="lines"), ("a", "b"))


def test_perplexity_given_each_lines_label_follows_the_protocol():
    """Lines of every label scored label by label: the same tokens as the plain protocol, each line's end counted,
    and the log-probability each line gets alone from the model given its label."""
    lm = build("gru")
    labels = ["high", "low", "high", "mid", "low", "mid"]
    r = evaluate(lm, LINES, labels)
    assert r.tokens == sum(len(line) + 1 for line in LINES) and r.lines == len(LINES)
    alone = sum(lm.given(lab).score_stream(lm.tokenizer.encode_lines([t]).ids).sum() for t, lab in zip(LINES, labels))
    assert r.log_prob == pytest.approx(alone, abs=1e-6)
    full = evaluate_labelled(lm, LINES, labels, seed=0)
    assert full.given == r and full.shuffled is not None and full.shuffled.tokens == r.tokens
    assert sum(e["tokens"] for e in full.per_label.values()) == r.tokens
    assert set(full.per_label) == set(LABELS)
    with pytest.raises(LmlabError, match="6 lines but 2 labels"):
        evaluate(lm, LINES, labels[:2])


@pytest.mark.parametrize("family", sorted(ARCH))
def test_every_family_trains_on_a_labelled_corpus(family, tmp_path):
    """A few steps of the training task: each example is a line with its label, and the loss falls."""
    from lmlab.data.labelled import split_labelled
    from lmlab.lm.models.task import LanguageModelTask

    texts = [ch * (2 + i % 4) for ch in "abc" for i in range(10)]
    corpus = split_labelled("toy", texts, [ch.upper() for ch in "abc" for _ in range(10)], "by hand", "")
    fam = get_family(family)
    cfg = fam.config_class()(**{**ARCH[family], "seq_len": 6}, examples="lines", num_labels=3, batch_size=8, lr=0.03)
    task = LanguageModelTask(cfg, corpus, CharTokenizer.train(corpus.train))
    task.prepare(tmp_path, seed=0)
    torch.manual_seed(0)
    net = task.build_network()
    assert task.lm.labels == ("A", "B", "C") and net.condition.table.weight.shape[0] == 3
    optimizer = torch.optim.Adam(net.parameters(), lr=0.03)
    losses = []
    for step in range(12):
        loss, count, _ = task.train_step(net, step, None)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        assert count > 0
    assert net.condition.table.weight.grad.abs().sum() > 0  # the labels were read
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
    assert task.validate()["loss"] == pytest.approx(evaluate(task.lm, corpus.valid, corpus.valid_labels).cross_entropy)
