"""Locked dropout, initialisation schemes, safetensors I/O, the fast cross-entropy."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lmlab.errors import LmlabError
from lmlab.nn import LockedDropout, Recurrent, init_parameters, load_tensors, save_tensors
from lmlab.nn.init import INIT_SCHEMES
from lmlab.nn.loss import softmax_cross_entropy


def test_locked_dropout_shares_the_mask_over_time_and_keeps_the_mean():
    torch.manual_seed(0)
    drop = LockedDropout(0.3).train()
    y = drop(torch.ones(64, 10, 32))
    assert ((y == 0) | torch.isclose(y, torch.tensor(1 / 0.7))).all()
    assert (y == y[:, :1]).all()  # one mask per sequence
    assert abs(y.mean().item() - 1.0) < 0.05
    assert torch.equal(drop.eval()(torch.ones(2, 3, 4)), torch.ones(2, 3, 4))
    with pytest.raises(ValueError):
        LockedDropout(1.0)


@pytest.mark.parametrize("scheme", INIT_SCHEMES)
def test_init_schemes(scheme):
    torch.manual_seed(0)
    rec = Recurrent("lstm", 6, 8, 2)
    emb = nn.Embedding(50, 6)
    model = nn.ModuleDict({"embed": emb, "rnn": rec})
    before = {n: p.clone() for n, p in model.named_parameters()}
    init_parameters(model, scheme, init_range=0.05)
    params = dict(model.named_parameters())
    if scheme == "default":
        assert all(torch.equal(before[n], p) for n, p in params.items())
        return
    if scheme == "uniform":
        assert all(p.abs().max() <= 0.05 for p in params.values())
        return
    assert params["rnn.layers.0.bias_ih_l0"].abs().max() == 0
    w_hh = params["rnn.layers.1.weight_hh_l0"]
    if scheme == "orthogonal":
        for block in w_hh.split(8):  # each gate's (H, H) block
            torch.testing.assert_close(block @ block.T, torch.eye(8), atol=1e-5, rtol=0)
    if scheme == "xavier":
        bound = (6 / (50 + 6)) ** 0.5
        assert params["embed.weight"].abs().max() <= bound


def test_init_tied_parameter_once():
    emb = nn.Embedding(10, 4)
    dec = nn.Linear(4, 10)
    dec.weight = emb.weight
    model = nn.ModuleDict({"embed": emb, "decoder": dec})
    init_parameters(model, "uniform", 0.01)
    assert model.decoder.weight is model.embed.weight and model.embed.weight.abs().max() <= 0.01
    with pytest.raises(ValueError, match="init scheme"):
        init_parameters(model, "he", 0.1)


def test_tensors_round_trip_and_damage(tmp_path):
    tensors = {"a": torch.randn(3, 4), "b": torch.arange(5), "c": torch.tensor(2.5, dtype=torch.bfloat16)}
    path = tmp_path / "t.safetensors"
    save_tensors(path, tensors, {"note": "x"})
    back = load_tensors(path)
    assert set(back) == set(tensors) and all(torch.equal(back[k], tensors[k]) for k in tensors)

    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 7])  # truncated
    with pytest.raises(LmlabError, match="corrupted or truncated"):
        load_tensors(path)
    flipped = bytearray(data)
    flipped[-3] ^= 0x40  # a bit of the tensor data
    path.write_bytes(bytes(flipped))
    with pytest.raises(LmlabError, match="checksum"):
        load_tensors(path)
    path.write_bytes(b"\xff" * 40)
    with pytest.raises(LmlabError, match="corrupted"):
        load_tensors(path)
    with pytest.raises(LmlabError, match="not found"):
        load_tensors(tmp_path / "missing.safetensors")


@pytest.mark.parametrize("N, V", [(1, 2), (7, 5), (64, 1000)])
def test_fast_cross_entropy_equals_torch(N, V):
    torch.manual_seed(N)
    logits = (torch.randn(N, V, dtype=torch.float64) * 3).requires_grad_()
    targets = torch.randint(0, V, (N,))
    fast = softmax_cross_entropy(logits, targets)
    (g_fast,) = torch.autograd.grad(fast * 1.7, logits)  # an upstream gradient other than 1
    ref = F.cross_entropy(logits, targets)
    (g_ref,) = torch.autograd.grad(ref * 1.7, logits)
    torch.testing.assert_close(fast, ref, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(g_fast, g_ref, atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("ignore", [None, 0, -1])
def test_fast_cross_entropy_with_label_smoothing_and_padding_equals_torch(smoothing, ignore):
    torch.manual_seed(3)
    N, V = 40, 30
    logits = (torch.randn(N, V, dtype=torch.float64) * 3).requires_grad_()
    targets = torch.randint(0, V, (N,))
    if ignore is not None:
        targets[torch.rand(N) < 0.3] = ignore  # padding rows
    fast = softmax_cross_entropy(logits, targets, label_smoothing=smoothing, ignore_index=ignore)
    (g_fast,) = torch.autograd.grad(fast * 0.7, logits)
    ref = F.cross_entropy(logits, targets, label_smoothing=smoothing, ignore_index=-100 if ignore is None else ignore)
    (g_ref,) = torch.autograd.grad(ref * 0.7, logits)
    torch.testing.assert_close(fast, ref, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(g_fast, g_ref, atol=1e-12, rtol=1e-12)


def test_fast_cross_entropy_refuses_a_second_backward():
    logits = torch.randn(3, 4, requires_grad=True)
    loss = softmax_cross_entropy(logits, torch.tensor([0, 1, 2]))
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="only once"):
        loss.backward()
