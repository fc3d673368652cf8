"""Explicit cells = fused torch.nn kernels = a multi-layer torch.nn reference, in float64, outputs and gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lmlab.nn import Recurrent, RecurrentEncoder, reverse_padded

CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
B, T, C, H = 3, 5, 4, 3
TOL = 1e-5


def reference_module(rec: Recurrent, d_input: int) -> nn.RNNBase:
    """One multi-layer torch.nn.RNN/LSTM/GRU holding a copy of ``rec``'s weights (layer l's ``_l0`` -> ``_l{l}``)."""
    cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[rec.cell]
    extra = {"nonlinearity": rec.nonlinearity} if rec.cell == "rnn" else {}
    ref = cls(d_input, rec.d_hidden, num_layers=rec.n_layer, batch_first=True, bidirectional=rec.n_dir == 2, **extra)
    ref = ref.double()
    with torch.no_grad():
        for index, layer in enumerate(rec.layers):
            for name, p in layer.named_parameters():
                getattr(ref, name.replace("_l0", f"_l{index}")).copy_(p)
    return ref


def reference_name(name: str) -> str:
    """``layers.1.weight_hh_l0_reverse`` -> ``weight_hh_l1_reverse``."""
    _, index, attr = name.split(".", 2)
    return attr.replace("_l0", f"_l{index}")


def reference_forward(ref: nn.RNNBase, x, state, lengths):
    hx = state if isinstance(ref, nn.LSTM) else state[0]
    if lengths is None:
        out, hx = ref(x, hx)
    else:
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, hx = ref(packed, hx)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
    return out, (tuple(hx) if isinstance(ref, nn.LSTM) else (hx,))


def outputs_and_grads(forward, params, x, state, seed: int = 1):
    """Outputs, final state and the gradients of a random linear function of both w.r.t. inputs and parameters."""
    x = x.clone().requires_grad_()
    state = tuple(s.clone().requires_grad_() for s in state)
    out, new = forward(x, state)
    g = torch.Generator().manual_seed(seed)
    loss = (out * torch.randn(out.shape, generator=g, dtype=out.dtype)).sum()
    loss = loss + sum((s * torch.randn(s.shape, generator=g, dtype=s.dtype)).sum() for s in new)
    grads = torch.autograd.grad(loss, [x, *state, *params])
    return out.detach(), tuple(s.detach() for s in new), grads


def assert_close(a, b):
    torch.testing.assert_close(a, b, atol=TOL, rtol=TOL)


@pytest.mark.parametrize("cell, nonlinearity", CELLS)
@pytest.mark.parametrize(
    "n_layer, bidirectional, padded", [(1, False, False), (2, False, False), (1, False, True), (2, True, True)]
)
def test_explicit_equals_fused_equals_torch_reference(cell, nonlinearity, n_layer, bidirectional, padded):
    torch.manual_seed(0)
    rec = Recurrent(cell, C, H, n_layer, nonlinearity=nonlinearity, bidirectional=bidirectional).double()
    for p in rec.parameters():  # random weights, larger than the default init so that nonlinearities bite
        nn.init.uniform_(p, -0.8, 0.8)
    ref = reference_module(rec, C)
    x = torch.randn(B, T, C, dtype=torch.float64)
    state = tuple(torch.randn_like(s) for s in rec.init_state(B))
    lengths = torch.tensor([T, 2, 4]) if padded else None

    params = list(rec.parameters())
    ref_params = [ref.get_parameter(reference_name(name)) for name, _ in rec.named_parameters()]
    fused = outputs_and_grads(lambda x, s: rec(x, s, lengths, fused=True), params, x, state)
    explicit = outputs_and_grads(lambda x, s: rec(x, s, lengths, fused=False), params, x, state)
    reference = outputs_and_grads(lambda x, s: reference_forward(ref, x, s, lengths), ref_params, x, state)

    for a, b in ((explicit, fused), (fused, reference)):
        assert_close(a[0], b[0])  # outputs (B, T, D*H)
        for sa, sb in zip(a[1], b[1]):  # final states
            assert_close(sa, sb)
        for ga, gb in zip(a[2], b[2]):  # gradients: input, initial state, every weight and bias
            assert_close(ga, gb)
    assert explicit[0].shape == (B, T, (2 if bidirectional else 1) * H)
    if padded:  # padding positions output zeros
        assert explicit[0][1, 2:].abs().max() == 0


def test_state_layout_matches_torch():
    rec = Recurrent("lstm", C, H, n_layer=3, bidirectional=True)
    h, c = rec.init_state(B)
    assert h.shape == c.shape == (3 * 2, B, H)
    _, (h_n, c_n) = rec(torch.randn(B, T, C))
    assert h_n.shape == (6, B, H)


def test_reverse_padded_is_an_involution():
    x = torch.randn(3, 6, 2)
    lengths = torch.tensor([6, 1, 4])
    torch.testing.assert_close(reverse_padded(reverse_padded(x, lengths), lengths), x)
    torch.testing.assert_close(reverse_padded(x, None), x.flip(1))


def test_carrying_the_state_equals_one_long_sequence():
    torch.manual_seed(0)
    rec = Recurrent("gru", C, H, 2).double()
    x = torch.randn(B, 8, C, dtype=torch.float64)
    whole, s_whole = rec(x)
    first, s = rec(x[:, :3])
    second, s = rec(x[:, 3:], s)
    assert_close(torch.cat([first, second], 1), whole)
    assert_close(s[0], s_whole[0])


def test_encoder_padding_never_reaches_the_summary():
    torch.manual_seed(0)
    enc = RecurrentEncoder(vocab_size=12, cell="gru", d_embed=5, d_hidden=4, n_layer=2).eval()
    a = torch.tensor([[3, 4, 5, 0, 0]])
    b = torch.tensor([[3, 4, 5, 9, 9]])  # different padding
    lengths = torch.tensor([3])
    out_a, sum_a = enc(a, lengths)
    out_b, sum_b = enc(b, lengths)
    torch.testing.assert_close(sum_a, sum_b)
    torch.testing.assert_close(out_a, out_b)
    # and a sequence alone equals the same sequence padded in a batch
    alone, sum_alone = enc(torch.tensor([[3, 4, 5]]))
    torch.testing.assert_close(alone, out_a[:, :3])
    torch.testing.assert_close(sum_alone, sum_a)
    explicit = RecurrentEncoder(vocab_size=12, cell="gru", d_embed=5, d_hidden=4, n_layer=2, fused=False).eval()
    explicit.load_state_dict(enc.state_dict())
    torch.testing.assert_close(explicit(a, lengths)[1], sum_a, atol=1e-5, rtol=1e-5)
