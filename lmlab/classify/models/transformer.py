"""A Transformer encoder classifier (``transformer``): self-attention layers over the words, then one vector for
the text by mean pooling or from a first token.

For words w_1 .. w_n::

    x_t = P E[w_t] + pos_t                      embeddings (P a projection when d_embed != d_model), positions
    [CLS] pooling: x_0 = c, a learned vector before the text (position 0), as BERT's [CLS] token
    h   = EncoderLayer_L( .. EncoderLayer_1(x) ..)   self-attention over the real tokens only (key padding mask)
    s   = (1/n) sum_t h_t  ("mean", real tokens)  |  h_0  ("first")
    y   = W s + b                               logits (dropout on s)

Each encoder layer is lmlab's (:mod:`lmlab.nn.transformer`): x = LN(x + MHA(x)), x = LN(x + FFN(x)) (post-LN,
Vaswani et al.), or pre-LN with a final LayerNorm. Padding is a key no query may attend to, and is left out of the
mean, so it never changes a prediction.

References: Vaswani et al. 2017, "Attention Is All You Need"; Devlin, Chang, Lee & Toutanova 2019, "BERT"
(the first-token pooling, learned positions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from lmlab.classify.models.base import (
    ClassifierNet,
    ClassifierOutput,
    EmbeddingClassifierConfig,
    WordEmbedding,
    masked_mean,
)
from lmlab.errors import LmlabError
from lmlab.nn.positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding
from lmlab.nn.transformer import ACTIVATIONS, EncoderLayer, LayerConfig
from lmlab.train.config import check_positive, check_probability

POSITIONS = ("learned", "sinusoidal")
POOLINGS = ("mean", "first")


@dataclass(kw_only=True)
class TransformerClassifierConfig(EmbeddingClassifierConfig):
    """The paper's layer (post-LN, ReLU, d_ff = 4 d_model, dropout 0.1) at a width that trains on a CPU."""

    family: ClassVar[str] = "transformer"

    d_embed: int = 256  # word vectors; projected to d_model when different (300 for word2vec)
    d_model: int = 256  # the residual stream's width (the paper's 512 is slow on a CPU for sentence data)
    n_head: int = 4  # attention heads per layer, 64 dimensions each
    d_ff: int = 1024  # the feed-forward width, 4 d_model as in the paper
    n_layer: int = 2  # encoder layers; sentence classification needs few
    dropout: float = 0.1  # the paper's, on embeddings, sublayers and the pooled vector
    activation: str = "relu"  # relu (the paper) or gelu (BERT)
    norm_first: bool = False  # pre-LN (with a final LayerNorm) when True; the paper is post-LN
    positions: str = "learned"  # learned (BERT) or sinusoidal (the paper)
    max_len: int = 512  # longest text in tokens (the [CLS] token included)
    pooling: str = "mean"  # mean over the real tokens, or first: a learned [CLS] vector prepended

    def __post_init__(self):
        super().__post_init__()
        for name in ("d_model", "n_head", "d_ff", "n_layer", "max_len"):
            check_positive(getattr(self, name), name)
        if self.d_model % self.n_head:
            raise LmlabError(f"--d-model ({self.d_model}) must be divisible by --n-head ({self.n_head})")
        check_probability(self.dropout, "dropout")
        if self.activation not in ACTIVATIONS:
            raise LmlabError(f"--activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        if self.positions not in POSITIONS:
            raise LmlabError(f"--positions must be one of {', '.join(POSITIONS)}, got {self.positions!r}")
        if self.pooling not in POOLINGS:
            raise LmlabError(f"--pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}")


class TransformerClassifier(ClassifierNet):
    """Embeddings and positions, ``n_layer`` encoder layers with a key padding mask, pooling, a linear layer."""

    def __init__(self, cfg: TransformerClassifierConfig):
        super().__init__()
        self.config = cfg
        self.embed = WordEmbedding.from_config(cfg)
        self.proj = nn.Linear(cfg.d_embed, cfg.d_model) if cfg.d_embed != cfg.d_model else None
        self.cls = nn.Parameter(torch.randn(cfg.d_model) * 0.02) if cfg.pooling == "first" else None
        positions = LearnedPositionalEmbedding if cfg.positions == "learned" else SinusoidalPositionalEncoding
        self.positions = positions(cfg.d_model, cfg.max_len)
        self.dropout = nn.Dropout(cfg.dropout)
        layer = LayerConfig(
            d_model=cfg.d_model,
            n_head=cfg.n_head,
            d_ff=cfg.d_ff,
            dropout=cfg.dropout,
            activation=cfg.activation,
            norm_first=cfg.norm_first,
        )
        self.layers = nn.ModuleList(EncoderLayer(layer) for _ in range(cfg.n_layer))
        self.norm = nn.LayerNorm(cfg.d_model) if cfg.norm_first else None  # pre-LN leaves the stream unnormalised
        self.out = nn.Linear(cfg.d_model, cfg.num_classes)

    def encode(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """The last layer's states (B, T', d_model) and their mask (B, T'); T' = T + 1 with a [CLS] token."""
        h = self.embed(x)  # (B, T, d_embed)
        if self.proj is not None:
            h = self.proj(h)  # (B, T, d_model)
        if self.cls is not None:
            B = x.size(0)
            h = torch.cat([self.cls.to(h.dtype).expand(B, 1, -1), h], dim=1)  # (B, T + 1, d_model)
            mask = torch.cat([mask.new_ones(B, 1), mask], dim=1)
        if h.size(1) > self.config.max_len:
            raise LmlabError(f"a text of {h.size(1)} tokens is longer than --max-len {self.config.max_len}")
        h = self.dropout(self.positions(h))
        for layer in self.layers:
            h, _, _ = layer(h, key_padding_mask=~mask)
        if self.norm is not None:
            h = self.norm(h)
        return h, mask

    def forward(self, x: Tensor, mask: Tensor) -> ClassifierOutput:
        h, mask = self.encode(x, mask)
        s = h[:, 0] if self.cls is not None else masked_mean(h, mask)  # (B, d_model)
        return ClassifierOutput(self.out(self.dropout(s)))


__all__ = ["POOLINGS", "POSITIONS", "TransformerClassifier", "TransformerClassifierConfig"]
