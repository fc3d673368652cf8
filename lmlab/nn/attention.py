"""Attention: additive (Bahdanau), scaled dot-product (written out, and fused), and multi-head.

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k) + M) V              (Vaswani et al. 2017, eq. 1)
    MultiHead(Q, K, V) = Concat(head_1 .. head_h) W^O,  head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)
    additive score(s, h_j) = v^T tanh(W_q s + W_k h_j)                  (Bahdanau et al. 2015)

Masks follow PyTorch's conventions: a boolean ``attn_mask`` of shape ``(T_q, T_k)`` is True where attention is
*not* allowed (as ``nn.MultiheadAttention``), a float one is added to the scores; ``key_padding_mask`` ``(B, T_k)``
is True at padding positions.

References: Bahdanau, Cho & Bengio 2015; Vaswani et al. 2017, "Attention Is All You Need".
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def causal_mask(t_q: int, t_k: int | None = None, device=None) -> Tensor:
    """Boolean ``(t_q, t_k)`` mask, True above the diagonal: position i may not see j > i (+ offset of a cache).

    >>> causal_mask(3).int().tolist()
    [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
    """
    t_k = t_q if t_k is None else t_k
    return torch.ones(t_q, t_k, dtype=torch.bool, device=device).triu(t_k - t_q + 1)


def _additive_mask(attn_mask: Tensor | None, key_padding_mask: Tensor | None, dtype) -> Tensor | None:
    """One float mask ``(B or 1, 1, T_q or 1, T_k)`` of 0 and -inf from the boolean or float masks given."""
    mask = None
    if attn_mask is not None:
        mask = (
            torch.zeros_like(attn_mask, dtype=dtype).masked_fill(attn_mask, float("-inf"))
            if attn_mask.dtype == torch.bool
            else attn_mask.to(dtype)
        )
        mask = mask.view(1, 1, *mask.shape[-2:]) if mask.dim() == 2 else mask
    if key_padding_mask is not None:
        pad = torch.zeros_like(key_padding_mask, dtype=dtype).masked_fill(key_padding_mask, float("-inf"))
        pad = pad.view(pad.size(0), 1, 1, pad.size(1))
        mask = pad if mask is None else mask + pad
    return mask


def scaled_dot_product_attention(
    q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None = None, dropout_p: float = 0.0
) -> tuple[Tensor, Tensor]:
    """The readable path: ``softmax(q k^T / sqrt(d) + mask) v`` and the weights.

    q: (B, h, T_q, d), k: (B, h, T_k, d), v: (B, h, T_k, d_v), mask: additive, broadcastable to (B, h, T_q, T_k).
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))  # (B, h, T_q, T_k)
    if mask is not None:
        scores = scores + mask
    weights = torch.softmax(scores, dim=-1)
    if dropout_p > 0:
        weights = F.dropout(weights, dropout_p)
    return weights @ v, weights  # (B, h, T_q, d_v), (B, h, T_q, T_k)


#: Longest context for which :func:`causal_attention` uses batched matrix products on a CPU.
CPU_BMM_MAX_CONTEXT = 128


def causal_attention(q: Tensor, k: Tensor, v: Tensor, dropout_p: float = 0.0) -> Tensor:
    """``softmax(q k^T / sqrt(d) + causal mask) v`` by the fastest path for the device and the context length.

    q, k, v: (B, h, T, d). On a CPU with T <= :data:`CPU_BMM_MAX_CONTEXT` it is three batched products, the mask
    added inside the first (``baddbmm``); PyTorch's fused CPU kernel is built for long contexts and is slower on
    short ones (forward and backward, 2 cores: 2.8 against 2.1 ms at B=12, h=4, T=64, d=32; 7.2 against 5.4 ms
    at T=128; 282 against 468 ms at B=64, h=6, T=256, d=64). Elsewhere ``F.scaled_dot_product_attention``.
    """
    B, h, T, d = q.shape
    if q.device.type != "cpu" or T > CPU_BMM_MAX_CONTEXT or k.size(2) != T:
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)
    mask = torch.full((T, T), float("-inf"), dtype=q.dtype, device=q.device).triu_(1)  # (T, T), 0 on and below
    scores = torch.baddbmm(mask, q.reshape(B * h, T, d), k.reshape(B * h, T, d).transpose(1, 2), alpha=d**-0.5)
    weights = torch.softmax(scores, dim=-1)  # (B h, T, T)
    if dropout_p > 0:
        weights = F.dropout(weights, dropout_p)
    return torch.bmm(weights, v.reshape(B * h, T, d)).view(B, h, T, d)


class AdditiveAttention(nn.Module):
    """Bahdanau attention: a one-hidden-layer network scores each key against the query.

    e_j = v^T tanh(W_q s + W_k h_j),  a = softmax(e),  context = sum_j a_j h_j
    """

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int):
        super().__init__()
        self.w_q = nn.Linear(query_dim, hidden_dim, bias=False)
        self.w_k = nn.Linear(key_dim, hidden_dim, bias=True)
        self.v = nn.Linear(hidden_dim, 1, bias=False)

    def forward(self, query: Tensor, keys: Tensor, padding_mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """query (B, d_q), keys (B, T, d_k), padding_mask (B, T) True at padding -> context (B, d_k), weights (B, T)."""
        e = self.v(torch.tanh(self.w_q(query).unsqueeze(1) + self.w_k(keys))).squeeze(-1)  # (B, T)
        if padding_mask is not None:
            e = e.masked_fill(padding_mask, float("-inf"))
        a = torch.softmax(e, dim=-1)
        return (a.unsqueeze(1) @ keys).squeeze(1), a


class MultiHeadAttention(nn.Module):
    """Multi-head attention; the fused SDPA kernel or the explicit path.

    ``fast=True`` uses ``F.scaled_dot_product_attention`` (FlashAttention or memory-efficient kernels where
    available); weights are only returned by the explicit path, so ``need_weights=True`` takes it.
    """

    def __init__(self, d_model: int, n_head: int, dropout: float = 0.0, bias: bool = True):
        super().__init__()
        if d_model % n_head:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_head ({n_head})")
        self.d_model, self.n_head, self.head_dim = d_model, n_head, d_model // n_head
        self.dropout = dropout
        # W^Q, W^K, W^V stacked (3C, C) as in nn.MultiheadAttention: one matmul for self-attention
        self.in_proj = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        self.rotary = None  # a RotaryEmbedding, applied to q and k when set

    def _heads(self, x: Tensor) -> Tensor:
        B, T, _ = x.shape
        return x.view(B, T, self.n_head, self.head_dim).transpose(1, 2)  # (B, h, T, hd)

    def forward(
        self,
        query: Tensor,
        key: Tensor | None = None,
        value: Tensor | None = None,
        *,
        attn_mask: Tensor | None = None,
        key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
        need_weights: bool = False,
        fast: bool = True,
        past_kv: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, Tensor | None, tuple[Tensor, Tensor]]:
        """query (B, T_q, C); key/value (B, T_k, C), default the query (self-attention).

        Returns the output (B, T_q, C), the weights (B, h, T_q, T_k) when asked, and the (k, v) of this call
        with ``past_kv`` prepended, for a KV cache.
        """
        B, T_q, C = query.shape
        if key is None:  # self-attention
            q, k, v = self.in_proj(query).split(C, dim=2)
        else:
            value = key if value is None else value
            w, b = self.in_proj.weight, self.in_proj.bias
            bq, bk, bv = (None, None, None) if b is None else b.split(C)
            q = F.linear(query, w[:C], bq)
            k = F.linear(key, w[C : 2 * C], bk)
            v = F.linear(value, w[2 * C :], bv)
        q, k, v = self._heads(q), self._heads(k), self._heads(v)  # (B, h, T, hd)
        offset = 0 if past_kv is None else past_kv[0].size(2)
        if self.rotary is not None:
            q = self.rotary(q, offset)
            k = self.rotary(k, offset)
        if past_kv is not None:
            k = torch.cat([past_kv[0], k], dim=2)
            v = torch.cat([past_kv[1], v], dim=2)
        p = self.dropout if self.training else 0.0
        plain_causal = is_causal and attn_mask is None and key_padding_mask is None and k.size(2) == T_q
        if fast and not need_weights and plain_causal:  # the kernel's own causal mode: no mask tensor at all
            y = causal_attention(q, k, v, dropout_p=p)
            return self.out_proj(y.transpose(1, 2).reshape(B, T_q, C)), None, (k, v)
        if is_causal:
            causal = causal_mask(T_q, k.size(2), device=q.device)
            attn_mask = causal if attn_mask is None else (attn_mask | causal)
        mask = _additive_mask(attn_mask, key_padding_mask, q.dtype)
        if fast and not need_weights:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)
            weights = None
        else:
            y, weights = scaled_dot_product_attention(q, k, v, mask, p)
        y = y.transpose(1, 2).reshape(B, T_q, C)  # (B, T_q, C)
        return self.out_proj(y), weights, (k, v)
