"""The Transformer encoder-decoder (``transformer``): self-attention over the source, masked self-attention over
the target so far, cross-attention from the target to the source.

For source x (B, S) and target input y (B, T) (y_0 = <s>)::

    z_0 = Dropout(sqrt(d) E_x[x] + P_S)          embeddings scaled by sqrt(d_model), positions (learned or sines)
    z_l = EncoderLayer(z_{l-1}, key padding mask)          l = 1 .. N;  m = LN(z_N): the memory (B, S, d)
    u_0 = Dropout(sqrt(d) E_y[y] + P_T)
    u_l = DecoderLayer(u_{l-1}, m)               masked self-attention (position t sees 0..t), cross-attention
                                                 to the memory's real positions, feed-forward
    p(y_{t+1} | y_<=t, x) = softmax(W LN(u_N)_t)

The layers are lmlab's (:mod:`lmlab.nn.transformer`), post-LN as in the paper or pre-LN; the final LayerNorms
follow ``torch.nn.Transformer``, which the tests copy the weights into and compare. ``share_embeddings`` makes
one table for both sides (a joint vocabulary), ``tie_output`` uses the target table as W (Press & Wolf 2017).
Incremental decoding keeps each decoder layer's keys and values (a KV cache) and the cross-attention's
projections of the memory, made once per sentence by :meth:`Transformer.start`; a step then costs one position.
Every matrix starts Xavier-uniform (as ``torch.nn.Transformer`` does), padding rows zero.

References: Vaswani et al. 2017, "Attention Is All You Need"; Press & Wolf 2017, "Using the Output Embedding to
Improve Language Models".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.nn.positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding
from lmlab.nn.transformer import ACTIVATIONS, DecoderLayer, EncoderLayer, LayerConfig
from lmlab.train.config import check_positive
from lmlab.translate.models.base import Memory, Seq2SeqOutput, TranslationConfig, TranslationNet, check_choice

POSITIONS = ("learned", "sinusoidal")


@dataclass(kw_only=True)
class TransformerConfig(TranslationConfig):
    """Sized for minutes on a laptop's CPU: 2 + 2 layers of width 128, 4 heads, d_ff 512 (about 4M parameters on
    Multi30k). The published sizes are presets (lmlab.translate.presets): the Multi30k baselines' 3 + 3 layers of
    256 (``--preset multi30k-baseline``) and the paper's base model, 6 + 6 layers of 512 with d_ff 2048
    (``--preset vaswani-base``)."""

    family: ClassVar[str] = "transformer"

    d_model: int = 128  # the residual stream's width
    n_head: int = 4  # attention heads per layer
    d_ff: int = 512  # the feed-forward layer's width
    n_encoder_layer: int = 2  # encoder layers (the paper: 6)
    n_decoder_layer: int = 2  # decoder layers (the paper: 6)
    dropout: float = 0.1  # the paper's: embeddings, sublayers, attention weights
    activation: str = "relu"  # relu (the paper) or gelu
    norm_first: bool = False  # pre-LN when True; the paper is post-LN
    positions: str = "learned"  # learned or sinusoidal (the paper)
    share_embeddings: bool = False  # one embedding table for both sides (needs --joint-vocab)
    tie_output: bool = False  # the output layer's matrix is the target embedding table

    def __post_init__(self):
        super().__post_init__()
        for name in ("d_model", "n_head", "d_ff", "n_encoder_layer", "n_decoder_layer"):
            check_positive(getattr(self, name), "n_layer" if "layer" in name else name)
        if self.d_model % self.n_head:
            raise LmlabError(f"--d-model ({self.d_model}) must be divisible by --n-head ({self.n_head})")
        check_choice(self.activation, "activation", tuple(ACTIVATIONS))
        check_choice(self.positions, "positions", POSITIONS)
        if self.share_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise LmlabError("--share-embeddings needs one vocabulary for both sides: train with --joint-vocab")


class Transformer(TranslationNet):
    """Embeddings and positions, N encoder layers, N decoder layers, final LayerNorms, a linear output."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.config = cfg
        d = cfg.d_model
        self.scale = math.sqrt(d)
        self.src_embed = nn.Embedding(cfg.src_vocab_size, d, padding_idx=0)
        self.tgt_embed = self.src_embed if cfg.share_embeddings else nn.Embedding(cfg.tgt_vocab_size, d, padding_idx=0)
        positions = LearnedPositionalEmbedding if cfg.positions == "learned" else SinusoidalPositionalEncoding
        self.src_positions = positions(d, cfg.max_len)
        self.tgt_positions = positions(d, cfg.max_len)
        self.drop = nn.Dropout(cfg.dropout)
        layer = LayerConfig(
            d_model=d,
            n_head=cfg.n_head,
            d_ff=cfg.d_ff,
            dropout=cfg.dropout,
            activation=cfg.activation,
            norm_first=cfg.norm_first,
        )
        self.encoder = nn.ModuleList(EncoderLayer(layer) for _ in range(cfg.n_encoder_layer))
        self.decoder = nn.ModuleList(DecoderLayer(layer) for _ in range(cfg.n_decoder_layer))
        self.encoder_norm = nn.LayerNorm(d)
        self.decoder_norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, cfg.tgt_vocab_size)
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        with torch.no_grad():
            self.src_embed.weight[0].zero_()
            self.tgt_embed.weight[0].zero_()
        if cfg.tie_output:
            self.out.weight = self.tgt_embed.weight

    def _check_length(self, n: int, side: str) -> None:
        if n > self.config.max_len:
            raise LmlabError(f"a {side} of {n} tokens is longer than the model's --max-len {self.config.max_len}")

    def encode(self, src: Tensor, src_mask: Tensor) -> Memory:
        self._check_length(src.size(1), "source")
        z = self.drop(self.src_positions(self.src_embed(src) * self.scale))  # (B, S, d)
        for layer in self.encoder:
            z, _, _ = layer(z, key_padding_mask=~src_mask)
        return Memory(self.encoder_norm(z), src_mask)

    def start(self, memory: Memory) -> tuple[Memory, Any]:
        kv = [layer.memory_kv(memory.outputs) for layer in self.decoder]  # each (B, h, S, d/h) x 2
        return memory._replace(extra=kv), [None] * len(self.decoder)

    def _embed_target(self, y: Tensor, offset: int) -> Tensor:
        return self.drop(self.tgt_positions(self.tgt_embed(y) * self.scale, offset))

    def step(self, memory: Memory, state: Any, y_prev: Tensor, need_weights: bool = False):
        offset = 0 if state[0] is None else state[0][0].size(2)  # positions already in the cache
        self._check_length(offset + 1, "target")
        u = self._embed_target(y_prev.unsqueeze(1), offset)  # (B, 1, d)
        new_state, weights = [], []
        for layer, past, kv in zip(self.decoder, state, memory.extra):
            cache = {"memory": kv} if past is None else {"memory": kv, "self": past}
            u, (_, w) = layer(
                u,
                memory.outputs,
                memory_key_padding_mask=~memory.mask,
                need_weights=need_weights,
                cache=cache,
            )
            new_state.append(cache["self"])
            weights.append(w)
        logits = self.out(self.decoder_norm(u)).squeeze(1)
        attention = torch.stack(weights, dim=1).squeeze(3) if need_weights else None  # (B, L, h, S)
        return logits, new_state, attention

    def teacher_forced(self, memory: Memory, tgt_in: Tensor, need_weights: bool = False) -> Seq2SeqOutput:
        self._check_length(tgt_in.size(1), "target")
        u = self._embed_target(tgt_in, 0)  # (B, T, d)
        weights = []
        for layer in self.decoder:
            u, (_, w) = layer(
                u, memory.outputs, memory_key_padding_mask=~memory.mask, tgt_is_causal=True, need_weights=need_weights
            )
            weights.append(w)
        logits = self.out(self.decoder_norm(u))
        return Seq2SeqOutput(logits, torch.stack(weights, dim=1) if need_weights else None)  # (B, L, h, T, S)


__all__ = ["POSITIONS", "Transformer", "TransformerConfig"]
