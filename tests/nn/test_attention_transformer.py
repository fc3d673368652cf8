"""Attention and Transformer layers equal PyTorch's own layers with the same weights."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from lmlab.nn.attention import (
    CPU_BMM_MAX_CONTEXT,
    AdditiveAttention,
    MultiHeadAttention,
    causal_attention,
    causal_mask,
    scaled_dot_product_attention,
)
from lmlab.nn.positional import LearnedPositionalEmbedding, RotaryEmbedding, SinusoidalPositionalEncoding
from lmlab.nn.transformer import DecoderLayer, EncoderLayer, LayerConfig

torch.manual_seed(0)
B, T, S, C, H = 3, 7, 5, 16, 4


def copy_mha(ours: MultiHeadAttention, ref: nn.MultiheadAttention) -> None:
    with torch.no_grad():
        ref.in_proj_weight.copy_(ours.in_proj.weight)
        ref.in_proj_bias.copy_(ours.in_proj.bias)
        ref.out_proj.weight.copy_(ours.out_proj.weight)
        ref.out_proj.bias.copy_(ours.out_proj.bias)


def test_explicit_attention_equals_fused_sdpa():
    q, k, v = (torch.randn(B, H, T, 8, dtype=torch.float64) for _ in range(3))
    mask = torch.zeros(T, T, dtype=torch.float64).masked_fill(causal_mask(T), float("-inf"))
    y, w = scaled_dot_product_attention(q, k, v, mask)
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert torch.allclose(y, ref, atol=1e-10)
    assert torch.allclose(w.sum(-1), torch.ones(B, H, T, dtype=torch.float64))
    assert (w.triu(1) == 0).all()


@pytest.mark.parametrize("t", [1, 9, CPU_BMM_MAX_CONTEXT, CPU_BMM_MAX_CONTEXT + 1])  # batched products, then SDPA
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_causal_attention_equals_sdpa(t, dtype):
    q, k, v = (torch.randn(2, 3, t, 8, dtype=dtype, requires_grad=True) for _ in range(3))
    y = causal_attention(q, k, v)
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    tol = 1e-10 if dtype == torch.float64 else 1e-5
    assert y.shape == ref.shape and torch.allclose(y, ref, atol=tol)
    g = torch.randn_like(y)
    grads = torch.autograd.grad(y, (q, k, v), g)
    grads_ref = torch.autograd.grad(ref, (q, k, v), g)
    assert all(torch.allclose(a, b, atol=tol) for a, b in zip(grads, grads_ref))


def test_is_causal_self_attention_equals_torch_with_a_causal_mask():
    ours = MultiHeadAttention(C, H).double()
    ref = nn.MultiheadAttention(C, H, batch_first=True).double()
    copy_mha(ours, ref)
    x = torch.randn(B, T, C, dtype=torch.float64, requires_grad=True)
    y, _, _ = ours(x, is_causal=True)
    y_ref, _ = ref(x, x, x, attn_mask=causal_mask(T))
    assert torch.allclose(y, y_ref, atol=1e-10)
    (g,) = torch.autograd.grad(y.sum(), x)
    (g_ref,) = torch.autograd.grad(y_ref.sum(), x)
    assert torch.allclose(g, g_ref, atol=1e-10)


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("causal", [True, False])
def test_multi_head_attention_equals_torch(fast, causal):
    ours = MultiHeadAttention(C, H).double()
    ref = nn.MultiheadAttention(C, H, batch_first=True).double()
    copy_mha(ours, ref)
    x = torch.randn(B, T, C, dtype=torch.float64, requires_grad=True)
    pad = torch.zeros(B, T, dtype=torch.bool)
    pad[0, -2:] = True
    mask = causal_mask(T) if causal else None
    y, w, _ = ours(x, attn_mask=mask, key_padding_mask=pad, need_weights=not fast, fast=fast)
    y_ref, w_ref = ref(x, x, x, attn_mask=mask, key_padding_mask=pad, average_attn_weights=False)
    assert torch.allclose(y, y_ref, atol=1e-10)
    if not fast:
        assert torch.allclose(w, w_ref, atol=1e-10)
    (g,) = torch.autograd.grad(y.sum(), x)
    (g_ref,) = torch.autograd.grad(y_ref.sum(), x)
    assert torch.allclose(g, g_ref, atol=1e-10)


def test_cross_attention_and_kv_cache():
    mha = MultiHeadAttention(C, H).double().eval()
    x = torch.randn(B, T, C, dtype=torch.float64)
    full, _, _ = mha(x, is_causal=True)
    past, outs = None, []
    for t in range(T):  # one token at a time with a cache gives the same outputs
        y, _, past = mha(x[:, t : t + 1], is_causal=True, past_kv=past)
        outs.append(y)
    assert torch.allclose(torch.cat(outs, 1), full, atol=1e-10)
    mem = torch.randn(B, S, C, dtype=torch.float64)
    y, w, _ = mha(x, mem, mem, need_weights=True)
    assert y.shape == (B, T, C) and w.shape == (B, H, T, S)


def test_additive_attention_weights_and_padding():
    att = AdditiveAttention(6, C, 10)
    keys = torch.randn(B, S, C)
    pad = torch.zeros(B, S, dtype=torch.bool)
    pad[1, 3:] = True
    ctx, a = att(torch.randn(B, 6), keys, pad)
    assert ctx.shape == (B, C) and torch.allclose(a.sum(-1), torch.ones(B))
    assert (a[1, 3:] == 0).all()
    assert torch.allclose(ctx[2], (a[2].unsqueeze(1) * keys[2]).sum(0), atol=1e-6)


def copy_layer(ours, ref, decoder: bool):
    copy_mha(ours.self_attn, ref.self_attn)
    if decoder:
        copy_mha(ours.cross_attn, ref.multihead_attn)
    with torch.no_grad():
        for name in ["linear1", "linear2", "norm1", "norm2"] + (["norm3"] if decoder else []):
            src = getattr(ours.ff, name) if name.startswith("linear") else getattr(ours, name)
            getattr(ref, name).load_state_dict(src.state_dict())


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_layer_equals_torch(norm_first, activation):
    cfg = LayerConfig(d_model=C, n_head=H, d_ff=32, dropout=0.0, activation=activation, norm_first=norm_first)
    ours = EncoderLayer(cfg).double().eval()
    ref = nn.TransformerEncoderLayer(C, H, 32, 0.0, activation, batch_first=True, norm_first=norm_first).double()
    copy_layer(ours, ref, decoder=False)
    ref.eval()
    x = torch.randn(B, T, C, dtype=torch.float64)
    pad = torch.zeros(B, T, dtype=torch.bool)
    pad[2, -3:] = True
    y, _, _ = ours(x, key_padding_mask=pad)
    with torch.no_grad():
        y_ref = ref(x, src_key_padding_mask=pad)
    keep = ~pad  # torch's fast path may zero padded rows; compare the real positions
    assert torch.allclose(y[keep], y_ref[keep], atol=1e-8)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_equals_torch(norm_first):
    cfg = LayerConfig(d_model=C, n_head=H, d_ff=32, dropout=0.0, norm_first=norm_first)
    ours = DecoderLayer(cfg).double().eval()
    ref = nn.TransformerDecoderLayer(C, H, 32, 0.0, batch_first=True, norm_first=norm_first).double().eval()
    copy_layer(ours, ref, decoder=True)
    x, mem = torch.randn(B, T, C, dtype=torch.float64), torch.randn(B, S, C, dtype=torch.float64)
    mem_pad = torch.zeros(B, S, dtype=torch.bool)
    mem_pad[0, -1] = True
    y, (w_self, w_cross) = ours(x, mem, memory_key_padding_mask=mem_pad, need_weights=True)
    y_ref = ref(x, mem, tgt_mask=causal_mask(T), memory_key_padding_mask=mem_pad)
    assert torch.allclose(y, y_ref, atol=1e-8)
    assert (w_self.triu(1) == 0).all() and (w_cross[0, :, :, -1] == 0).all()


def test_positional_encodings():
    x = torch.zeros(2, 5, 8)
    pe = SinusoidalPositionalEncoding(8, 16)
    assert torch.allclose(pe(x)[0, 3, 0], torch.tensor(math.sin(3.0)))
    assert torch.allclose(pe(x[:, :1], offset=3), pe(x)[:, 3:4])
    assert LearnedPositionalEmbedding(8, 16)(x).shape == x.shape
    rope = RotaryEmbedding(8, 16)
    q, k = torch.randn(1, 2, 5, 8), torch.randn(1, 2, 5, 8)
    # rotary: the score of (q at i, k at j) depends only on i - j, and norms are kept
    s1 = rope(q[:, :, :1], 2) @ rope(k[:, :, :1], 0).transpose(-2, -1)
    s2 = rope(q[:, :, :1], 7) @ rope(k[:, :, :1], 5).transpose(-2, -1)
    assert torch.allclose(s1, s2, atol=1e-5)
    assert torch.allclose(rope(q).norm(dim=-1), q.norm(dim=-1), atol=1e-5)
