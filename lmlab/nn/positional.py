"""Position information for attention models: sinusoidal, learned, and rotary.

    PE(pos, 2i) = sin(pos / 10000^(2i/d)),  PE(pos, 2i+1) = cos(pos / 10000^(2i/d))     (Vaswani et al. 2017)
    RoPE: rotate each pair (x_2i, x_2i+1) of q and k by the angle pos * 10000^(-2i/d)      (Su et al. 2021)

References: Vaswani et al. 2017; Su et al. 2021, "RoFormer: Enhanced Transformer with Rotary Position Embedding".
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def sinusoidal_table(max_len: int, d_model: int) -> Tensor:
    """The ``(max_len, d_model)`` table of sines and cosines.

    >>> [round(x, 3) for x in sinusoidal_table(2, 4)[1].tolist()]
    [0.841, 0.54, 0.01, 1.0]
    """
    pos = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)  # (L, 1)
    inv_freq = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    table = torch.zeros(max_len, d_model)
    table[:, 0::2] = torch.sin(pos * inv_freq)
    table[:, 1::2] = torch.cos(pos * inv_freq[: d_model // 2])
    return table


class SinusoidalPositionalEncoding(nn.Module):
    """Adds the fixed sinusoidal table: x (B, T, C) -> x + PE[offset : offset + T]."""

    def __init__(self, d_model: int, max_len: int):
        super().__init__()
        self.register_buffer("table", sinusoidal_table(max_len, d_model), persistent=False)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        return x + self.table[offset : offset + x.size(1)].to(x.dtype)


class LearnedPositionalEmbedding(nn.Module):
    """Adds a trained vector per position (GPT-2): x (B, T, C) -> x + P[offset : offset + T]."""

    def __init__(self, d_model: int, max_len: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(max_len, d_model))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        return x + self.weight[offset : offset + x.size(1)]


class RotaryEmbedding(nn.Module):
    """Rotates query and key features in pairs by position-dependent angles; applied inside attention."""

    def __init__(self, head_dim: int, max_len: int, base: float = 10000.0):
        super().__init__()
        if head_dim % 2:
            raise ValueError(f"rotary embeddings need an even head size, got {head_dim}")
        inv_freq = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
        angles = torch.arange(max_len, dtype=torch.float32).unsqueeze(1) * inv_freq  # (L, hd/2)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, x: Tensor, offset: int = 0) -> Tensor:
        """x (B, h, T, hd) -> the same shape, pairs (x_2i, x_2i+1) rotated by their position's angles."""
        T = x.size(-2)
        cos = self.cos[offset : offset + T].to(x.dtype)  # (T, hd/2)
        sin = self.sin[offset : offset + T].to(x.dtype)
        x1, x2 = x[..., 0::2], x[..., 1::2]
        out = torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)  # (B, h, T, hd/2, 2)
        return out.flatten(-2)
