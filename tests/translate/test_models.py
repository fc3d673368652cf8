"""Each translation family against a reference written from its paper's equations with torch.nn layers (weights
copied, float64), the Transformer against torch.nn.Transformer; and the properties every family keeps: the fast
teacher-forced path equals the step-by-step one, padding changes nothing, attention sums to one over the source."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lmlab.nn.attention import AdditiveAttention, causal_mask
from lmlab.nn.transformer import DecoderLayer, LayerConfig
from lmlab.translate.models.bahdanau import additive_scores
from lmlab.translate.models.base import select_rows
from tests.translate.conftest import BOS, FAMILIES, make_batch, make_net

ATOL = 1e-9


def copy_stack(ours, theirs: nn.RNNBase) -> None:
    """lmlab's Recurrent (one torch module per layer) into a multi-layer torch.nn module."""
    with torch.no_grad():
        for layer, module in enumerate(ours.layers):
            for name, p in module.named_parameters():
                getattr(theirs, name.replace("_l0", f"_l{layer}")).copy_(p)


def reverse_rows(x, lengths):
    out = x.clone()
    for b, n in enumerate(lengths.tolist()):
        out[b, :n] = x[b, :n].flip(0)
    return out


# ---- seq2seq: Sutskever et al. (context starts the decoder), Cho et al. (context at every step)
@pytest.mark.parametrize(
    "changes",
    [
        {"cell": "lstm", "context": "initial"},
        {"cell": "gru", "context": "every-step", "n_layer": 1},
        {"cell": "lstm", "context": "every-step", "reverse_source": True},
    ],
)
def test_seq2seq_equals_torch_rnns(changes):
    net = make_net("seq2seq", **changes)
    cfg = net.config
    src, mask, tgt_in = make_batch()
    lengths = mask.sum(1)
    RNN = nn.LSTM if cfg.cell == "lstm" else nn.GRU
    every = cfg.context == "every-step"
    enc = RNN(cfg.d_embed, cfg.d_hidden, cfg.n_layer, batch_first=True).double()
    dec = RNN(cfg.d_embed + (cfg.d_hidden if every else 0), cfg.d_hidden, cfg.n_layer, batch_first=True).double()
    copy_stack(net.encoder, enc)
    copy_stack(net.decoder, dec)
    with torch.no_grad():
        x = net.src_embed(src)
        if cfg.reverse_source:
            x = reverse_rows(x, lengths)
        _, state = enc(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
        c = (state[0] if cfg.cell == "lstm" else state)[-1]  # the top layer's last state (B, H)
        e = net.tgt_embed(tgt_in)
        inp = torch.cat([e, c.unsqueeze(1).expand(-1, e.size(1), -1)], -1) if every else e
        h, _ = dec(inp, state)
        ref = net.out(torch.cat([e, h, c.unsqueeze(1).expand_as(h)], -1) if every else h)
        ours = net(src, mask, tgt_in).logits
    torch.testing.assert_close(ours, ref, atol=ATOL, rtol=0)


# ---- Bahdanau et al. 2015
def test_additive_scores_equal_additive_attention():
    torch.manual_seed(0)
    att = AdditiveAttention(5, 6, 4).double()
    q, keys = torch.randn(3, 5, dtype=torch.float64), torch.randn(3, 7, 6, dtype=torch.float64)
    pad = torch.zeros(3, 7, dtype=torch.bool)
    pad[1, 4:] = True
    _, a = att(q, keys, pad)
    e = additive_scores(att, q, att.w_k(keys)).masked_fill(pad, float("-inf"))
    torch.testing.assert_close(torch.softmax(e, -1), a)


@pytest.mark.parametrize("d_maxout", [None, 3])
def test_bahdanau_equals_the_papers_equations_with_torch_layers(d_maxout):
    net = make_net("bahdanau", d_maxout=d_maxout)
    cfg = net.config
    src, mask, tgt_in = make_batch()
    H = cfg.d_hidden
    enc = nn.GRU(cfg.d_embed, H, batch_first=True, bidirectional=True).double()
    copy_stack(net.encoder.rnn, enc)
    cell = nn.GRUCell(cfg.d_embed + 2 * H, H).double()
    cell.load_state_dict(net.cell.state_dict())
    att = net.attention
    with torch.no_grad():
        packed = pack_padded_sequence(net.encoder.embed(src), mask.sum(1), batch_first=True, enforce_sorted=False)
        out, h_n = enc(packed)
        h, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))  # (B, S, 2H) annotations
        s = torch.tanh(net.init_state(h_n[1]))  # s_0 = tanh(W_s h<-_1): the backward direction's final state
        logits, weights = [], []
        for i in range(tgt_in.size(1)):
            e_y = net.tgt_embed(tgt_in[:, i])
            # e_ij = v^T tanh(W_a s_{i-1} + U_a h_j)
            pre = (s @ att.w_q.weight.T).unsqueeze(1) + h @ att.w_k.weight.T + att.w_k.bias  # (B, S, A)
            e = torch.tanh(pre) @ att.v.weight.T
            a = torch.softmax(e.squeeze(-1).masked_fill(~mask, float("-inf")), -1)
            c = torch.einsum("bs,bsd->bd", a, h)
            s = cell(torch.cat([e_y, c], -1), s)
            x = torch.cat([s, c, e_y], -1)
            if d_maxout is not None:  # t_k = max(t~_{2k-1}, t~_{2k}), t~ = U_o [s_i; c_i; E y_{i-1}] + b
                t = x @ net.readout.weight.T + net.readout.bias  # (B, 2l)
                x = torch.maximum(t[:, 0::2], t[:, 1::2])  # (B, l)
            logits.append(x @ net.out.weight.T + net.out.bias)
            weights.append(a)
        out = net(src, mask, tgt_in, need_weights=True)
    torch.testing.assert_close(out.logits, torch.stack(logits, 1), atol=ATOL, rtol=0)
    torch.testing.assert_close(out.attention[:, 0, 0], torch.stack(weights, 1), atol=ATOL, rtol=0)


# ---- Luong et al. 2015
@pytest.mark.parametrize("score", ["dot", "general", "concat"])
@pytest.mark.parametrize("input_feeding", [True, False])
def test_luong_equals_the_papers_equations_with_torch_layers(score, input_feeding):
    net = make_net("luong", score=score, input_feeding=input_feeding)
    cfg = net.config
    src, mask, tgt_in = make_batch()
    H, L = cfg.d_hidden, cfg.n_layer
    enc = nn.LSTM(cfg.d_embed, H, L, batch_first=True).double()
    dec = nn.LSTM(cfg.d_embed + (H if input_feeding else 0), H, L, batch_first=True).double()
    copy_stack(net.encoder, enc)
    copy_stack(net.decoder, dec)
    with torch.no_grad():
        packed = pack_padded_sequence(net.src_embed(src), mask.sum(1), batch_first=True, enforce_sorted=False)
        out, state = enc(packed)
        hbar, _ = pad_packed_sequence(out, batch_first=True, total_length=src.size(1))  # (B, S, H)
        feed = torch.zeros(src.size(0), H, dtype=torch.float64)
        logits = []
        for t in range(tgt_in.size(1)):
            x = net.tgt_embed(tgt_in[:, t])
            x = torch.cat([x, feed], -1) if input_feeding else x
            h, state = dec(x.unsqueeze(1), state)
            h = h[:, 0]  # (B, H)
            if score == "dot":
                sc = torch.einsum("bh,bsh->bs", h, hbar)
            elif score == "general":
                sc = torch.einsum("bh,bsh->bs", h, hbar @ net.w_a.weight.T)
            else:  # v^T tanh(W_a [h_t; h̄_s]) with W_a = [W_q | W_k] (+ the key bias)
                W = torch.cat([net.concat.w_q.weight, net.concat.w_k.weight], 1)
                both = torch.cat([h.unsqueeze(1).expand(-1, hbar.size(1), -1), hbar], -1)
                sc = (torch.tanh(both @ W.T + net.concat.w_k.bias) @ net.concat.v.weight.T).squeeze(-1)
            a = torch.softmax(sc.masked_fill(~mask, float("-inf")), -1)
            c = torch.einsum("bs,bsh->bh", a, hbar)
            feed = torch.tanh(torch.cat([c, h], -1) @ net.w_c.weight.T)  # h̃_t
            logits.append(net.out(feed))
        ours = net(src, mask, tgt_in).logits
    torch.testing.assert_close(ours, torch.stack(logits, 1), atol=ATOL, rtol=0)


# ---- Vaswani et al. 2017
def copy_mha(ours, theirs: nn.MultiheadAttention) -> None:
    theirs.in_proj_weight.copy_(ours.in_proj.weight)
    theirs.in_proj_bias.copy_(ours.in_proj.bias)
    theirs.out_proj.weight.copy_(ours.out_proj.weight)
    theirs.out_proj.bias.copy_(ours.out_proj.bias)


@pytest.mark.filterwarnings("ignore:.*nested")
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_equals_torch_transformer(norm_first):
    net = make_net("transformer", norm_first=norm_first)
    cfg = net.config
    ref = nn.Transformer(
        cfg.d_model, cfg.n_head, cfg.n_encoder_layer, cfg.n_decoder_layer, cfg.d_ff, dropout=0.0,
        batch_first=True, norm_first=norm_first,
    ).double().eval()  # fmt: skip
    with torch.no_grad():
        for ours, theirs in zip(net.encoder, ref.encoder.layers):
            copy_mha(ours.self_attn, theirs.self_attn)
        for ours, theirs in zip(net.decoder, ref.decoder.layers):
            copy_mha(ours.self_attn, theirs.self_attn)
            copy_mha(ours.cross_attn, theirs.multihead_attn)
        for ours, theirs in [*zip(net.encoder, ref.encoder.layers), *zip(net.decoder, ref.decoder.layers)]:
            for name in ("linear1", "linear2"):
                getattr(theirs, name).load_state_dict(getattr(ours.ff, name).state_dict())
            for name in ("norm1", "norm2", "norm3"):
                if hasattr(ours, name):
                    getattr(theirs, name).load_state_dict(getattr(ours, name).state_dict())
        ref.encoder.norm.load_state_dict(net.encoder_norm.state_dict())
        ref.decoder.norm.load_state_dict(net.decoder_norm.state_dict())
        src, mask, tgt_in = make_batch()
        x = net.src_positions(net.src_embed(src) * net.scale)
        y = net.tgt_positions(net.tgt_embed(tgt_in) * net.scale)
        T = tgt_in.size(1)
        out = ref(x, y, tgt_mask=causal_mask(T), src_key_padding_mask=~mask, memory_key_padding_mask=~mask)
        expected = net.out(out)
        ours = net(src, mask, tgt_in).logits
    torch.testing.assert_close(ours, expected, atol=1e-8, rtol=0)


def test_decoder_layer_cache_equals_the_whole_sequence():
    torch.manual_seed(0)
    layer = DecoderLayer(LayerConfig(d_model=8, n_head=2, d_ff=16, dropout=0.0)).double().eval()
    x, memory = torch.randn(2, 5, 8, dtype=torch.float64), torch.randn(2, 4, 8, dtype=torch.float64)
    pad = torch.tensor([[False] * 4, [False, False, True, True]])
    whole, (_, w_whole) = layer(x, memory, memory_key_padding_mask=pad, need_weights=True)
    cache = {"memory": layer.memory_kv(memory)}
    for t in range(5):
        y, (_, w) = layer(x[:, t : t + 1], memory, memory_key_padding_mask=pad, need_weights=True, cache=cache)
        torch.testing.assert_close(y[:, 0], whole[:, t], atol=1e-12, rtol=0)
        torch.testing.assert_close(w[:, :, 0], w_whole[:, :, t], atol=1e-12, rtol=0)
    assert cache["self"][0].shape == (2, 2, 5, 4)  # (B, h, T, d/h): every position's keys, kept


def test_shared_and_tied_embeddings_are_one_tensor():
    net = make_net("transformer", share_embeddings=True, tie_output=True, src_vocab_size=13)
    assert net.src_embed.weight is net.tgt_embed.weight is net.out.weight
    assert net.src_embed.weight[0].abs().sum() == 0  # the padding row
    from lmlab.lm.models.neural import unique_state_dict

    assert "tgt_embed.weight" not in unique_state_dict(net) and "out.weight" not in unique_state_dict(net)


# ---- every family
@pytest.mark.parametrize(
    "family, changes",
    [(f, {}) for f in FAMILIES]
    + [("luong", {"input_feeding": False}), ("luong", {"cell": "gru"}), ("bahdanau", {"d_maxout": None})],
)
def test_fast_path_equals_step_by_step(family, changes):
    net = make_net(family, **changes)
    src, mask, tgt_in = make_batch()
    with torch.no_grad():
        fast = net(src, mask, tgt_in, need_weights=True)
        slow = net.unrolled(net.encode(src, mask), tgt_in, need_weights=True)
    torch.testing.assert_close(fast.logits, slow.logits, atol=1e-10, rtol=0)
    if net.has_attention:
        torch.testing.assert_close(fast.attention, slow.attention, atol=1e-10, rtol=0)


@pytest.mark.parametrize("family, changes", [("bahdanau", {}), ("luong", {}), ("luong", {"cell": "gru"})])
def test_fast_path_gradients_equal_step_by_step(family, changes):
    """The recurrences written from the cells' equations (input gates of the embeddings computed for every position
    at once) give every parameter the gradient of the torch.nn cells run one step at a time."""
    src, mask, tgt_in = make_batch()
    grads = []
    for path in ("fast", "slow"):
        net = make_net(family, **changes)
        out = net(src, mask, tgt_in) if path == "fast" else net.unrolled(net.encode(src, mask), tgt_in)
        (out.logits * torch.linspace(-1, 1, out.logits.size(-1), dtype=out.logits.dtype)).sum().backward()
        grads.append({n: p.grad for n, p in net.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and len(grads[0]) > 5
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], atol=1e-10, rtol=0, msg=name)


@pytest.mark.parametrize("family", FAMILIES)
def test_padding_changes_nothing_and_attention_sums_to_one(family):
    net = make_net(family)
    src, mask, tgt_in = make_batch()
    padded = torch.cat([src, torch.zeros(3, 2, dtype=src.dtype)], 1)
    with torch.no_grad():
        out = net(src, mask, tgt_in, need_weights=True)
        again = net(padded, padded != 0, tgt_in, need_weights=True)
        alone = net(src[1:2, :3], mask[1:2, :3], tgt_in[1:2])  # a sentence by itself, no padding at all
    torch.testing.assert_close(out.logits, again.logits, atol=1e-10, rtol=0)
    torch.testing.assert_close(out.logits[1:2], alone.logits, atol=1e-10, rtol=0)
    if net.has_attention:
        a = out.attention  # (B, L, h, T, S)
        torch.testing.assert_close(a.sum(-1), torch.ones_like(a.sum(-1)))
        assert (a.masked_select(~mask[:, None, None, None, :].expand_as(a)) == 0).all()
    else:
        assert out.attention is None


@pytest.mark.parametrize("family", ["seq2seq", "bahdanau", "luong"])
def test_scheduled_sampling_reads_the_models_own_guess(family):
    net = make_net(family)
    src, mask, tgt_in = make_batch()
    with torch.no_grad():
        forced = net(src, mask, tgt_in)
        same = net(src, mask, tgt_in, tf_mask=torch.ones(tgt_in.size(1), dtype=torch.bool))
        mixed = net(src, mask, tgt_in, tf_mask=torch.tensor([True, True, False, True, True, True]))
        guess = tgt_in.clone()
        guess[:, 2] = forced.logits[:, 1].argmax(-1)
        by_hand = net(src, mask, guess)
    torch.testing.assert_close(same.logits, forced.logits)
    torch.testing.assert_close(mixed.logits, by_hand.logits, atol=1e-10, rtol=0)


def test_select_rows_keeps_a_state_tree_aligned():
    net = make_net("transformer")
    src, mask, _ = make_batch()
    memory, state = net.start(net.encode(src, mask))
    _, state, _ = net.step(memory, state, torch.tensor([BOS, BOS, BOS]))
    index = torch.tensor([2, 0])
    logits_sel, _, _ = net.step(select_rows(memory, index), select_rows(state, index), torch.tensor([5, 6]))
    logits_all, _, _ = net.step(memory, state, torch.tensor([6, 7, 5]))
    torch.testing.assert_close(logits_sel, logits_all[index], atol=1e-12, rtol=0)
