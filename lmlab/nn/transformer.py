"""Transformer layers: position-wise feed-forward, encoder layer, decoder layer (masked self-attention and
cross-attention), each with residual connections and LayerNorm before (pre-LN) or after (post-LN) the sublayer.

    post-LN:  x = LN(x + Dropout(Sublayer(x)))          (Vaswani et al. 2017)
    pre-LN:   x = x + Dropout(Sublayer(LN(x)))          (Xiong et al. 2020; GPT-2)
    FFN(x) = W_2 Dropout(act(W_1 x + b_1)) + b_2,  act = ReLU or GELU

The parameter layout follows ``nn.TransformerEncoderLayer`` / ``nn.TransformerDecoderLayer`` (``linear1``,
``linear2``, ``norm1..3``), so the tests copy weights across and compare outputs.

References: Vaswani et al. 2017; Xiong et al. 2020, "On Layer Normalization in the Transformer Architecture".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch.nn.functional as F
from torch import Tensor, nn

from lmlab.nn.attention import MultiHeadAttention

ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


@dataclass
class LayerConfig:
    d_model: int = 512
    n_head: int = 8
    d_ff: int = 2048  # the feed-forward width, 4 * d_model as in the paper
    dropout: float = 0.1
    activation: str = "relu"  # "relu" (the paper) or "gelu" (GPT, BERT)
    norm_first: bool = False  # pre-LN when True: trains deep stacks without warm-up tricks
    bias: bool = True
    layer_norm_eps: float = 1e-5

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")


class FeedForward(nn.Module):
    def __init__(self, cfg: LayerConfig):
        super().__init__()
        self.linear1 = nn.Linear(cfg.d_model, cfg.d_ff, bias=cfg.bias)
        self.linear2 = nn.Linear(cfg.d_ff, cfg.d_model, bias=cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)
        self.act = ACTIVATIONS[cfg.activation]

    def forward(self, x: Tensor) -> Tensor:
        return self.linear2(self.dropout(self.act(self.linear1(x))))


class EncoderLayer(nn.Module):
    """Self-attention then feed-forward, each in a residual block."""

    def __init__(self, cfg: LayerConfig):
        super().__init__()
        self.cfg = cfg
        self.self_attn = MultiHeadAttention(cfg.d_model, cfg.n_head, cfg.dropout, cfg.bias)
        self.ff = FeedForward(cfg)
        self.norm1 = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps, bias=cfg.bias)
        self.norm2 = nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps, bias=cfg.bias)
        self.dropout1 = nn.Dropout(cfg.dropout)
        self.dropout2 = nn.Dropout(cfg.dropout)

    def forward(
        self, x: Tensor, *, attn_mask=None, key_padding_mask=None, is_causal=False, need_weights=False, past_kv=None
    ):
        """x (B, T, C) -> (B, T, C), the attention weights (B, h, T, T_k) when ``need_weights`` (else None), and
        this layer's keys and values with ``past_kv`` before them (a KV cache for causal decoding)."""

        def sa(h):
            y, w, kv = self.self_attn(
                h,
                attn_mask=attn_mask,
                key_padding_mask=key_padding_mask,
                is_causal=is_causal,
                need_weights=need_weights,
                past_kv=past_kv,
            )
            return self.dropout1(y), w, kv

        if self.cfg.norm_first:
            y, w, kv = sa(self.norm1(x))
            x = x + y
            x = x + self.dropout2(self.ff(self.norm2(x)))
        else:
            y, w, kv = sa(x)
            x = self.norm1(x + y)
            x = self.norm2(x + self.dropout2(self.ff(x)))
        return x, w, kv


class DecoderLayer(nn.Module):
    """Masked self-attention, cross-attention over the encoder's memory, feed-forward; residual blocks."""

    def __init__(self, cfg: LayerConfig):
        super().__init__()
        self.cfg = cfg
        self.self_attn = MultiHeadAttention(cfg.d_model, cfg.n_head, cfg.dropout, cfg.bias)
        self.cross_attn = MultiHeadAttention(cfg.d_model, cfg.n_head, cfg.dropout, cfg.bias)
        self.ff = FeedForward(cfg)
        self.norm1, self.norm2, self.norm3 = (
            nn.LayerNorm(cfg.d_model, eps=cfg.layer_norm_eps, bias=cfg.bias) for _ in range(3)
        )
        self.dropout1, self.dropout2, self.dropout3 = (nn.Dropout(cfg.dropout) for _ in range(3))

    def forward(
        self,
        x: Tensor,
        memory: Tensor,
        *,
        tgt_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        tgt_is_causal: bool = True,
        need_weights: bool = False,
        cache: dict | None = None,
    ):
        """x (B, T, C), memory (B, S, C) -> (B, T, C), (self-attention weights, cross-attention weights).

        ``cache`` (incremental decoding): a dict this call reads and updates. ``cache["self"]`` holds the keys and
        values of the positions before ``x`` (a KV cache; ``x`` then holds the next positions only) and is replaced
        by them with ``x``'s appended; ``cache["memory"]``, when present, holds :meth:`memory_kv` of ``memory``,
        so the memory is not projected again at every step.
        """

        def sa(h):
            y, w, kv = self.self_attn(
                h,
                attn_mask=tgt_mask,
                key_padding_mask=tgt_key_padding_mask,
                is_causal=tgt_is_causal,
                need_weights=need_weights,
                past_kv=None if cache is None else cache.get("self"),
            )
            if cache is not None:
                cache["self"] = kv
            return self.dropout1(y), w

        def ca(h):
            if cache is not None and "memory" in cache:
                none = memory[:, :0]  # no new keys: the cached projections of the memory are all of them
                y, w, _ = self.cross_attn(
                    h,
                    none,
                    none,
                    key_padding_mask=memory_key_padding_mask,
                    need_weights=need_weights,
                    past_kv=cache["memory"],
                )
            else:
                y, w, _ = self.cross_attn(
                    h, memory, memory, key_padding_mask=memory_key_padding_mask, need_weights=need_weights
                )
            return self.dropout2(y), w

        if self.cfg.norm_first:
            y, w_self = sa(self.norm1(x))
            x = x + y
            y, w_cross = ca(self.norm2(x))
            x = x + y
            x = x + self.dropout3(self.ff(self.norm3(x)))
        else:
            y, w_self = sa(x)
            x = self.norm1(x + y)
            y, w_cross = ca(x)
            x = self.norm2(x + y)
            x = self.norm3(x + self.dropout3(self.ff(x)))
        return x, (w_self, w_cross)

    def memory_kv(self, memory: Tensor) -> tuple[Tensor, Tensor]:
        """The cross-attention's keys and values of ``memory`` (B, S, C), each (B, h, S, C/h): computed once per
        source sentence for incremental decoding (``cache={"memory": ...}``)."""
        _, _, kv = self.cross_attn(memory[:, :1], memory, memory)
        return kv
