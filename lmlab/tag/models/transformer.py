"""A Transformer encoder tagger (``transformer``): self-attention layers over word and character features, a
softmax for every word.

For words w_1 .. w_n::

    x_t = P [W[w_t] ; charBiLSTM(w_t)] + pos_t          features projected to d_model, positions added
    h   = EncoderLayer_L( .. EncoderLayer_1(x) ..)      self-attention over the real words (key padding mask)
    p(y_t | w_1..n) = softmax(U h_t + b)

Each encoder layer is lmlab's (:mod:`lmlab.nn.transformer`): post-LN as in Vaswani et al., or pre-LN with a final
LayerNorm. Padding is a key no word attends to, so it never changes a real word's scores. Trained from scratch on a
treebank of 10k sentences, a Transformer tags a little worse than a BiLSTM (Yan et al. 2019 find the same for NER);
the character features carry most of what it knows about rare words.

References: Vaswani et al. 2017, "Attention Is All You Need"; Yan, Deng, Li & Qiu 2019, "TENER: Adapting
Transformer Encoder for Named Entity Recognition".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.nn.positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding
from lmlab.nn.transformer import ACTIVATIONS, EncoderLayer, LayerConfig
from lmlab.tag.models.base import TagBatch, TaggerNet, WordCharConfig, WordCharFeatures
from lmlab.train.config import check_positive

POSITIONS = ("learned", "sinusoidal")


@dataclass(kw_only=True)
class TransformerTaggerConfig(WordCharConfig):
    """A small encoder (2 layers of 128 dimensions) that trains on a CPU."""

    family: ClassVar[str] = "transformer"

    d_model: int = 128  # the residual stream's width
    n_head: int = 4  # attention heads per layer, 32 dimensions each
    d_ff: int = 512  # the feed-forward width, 4 d_model as in the paper
    n_layer: int = 2  # encoder layers
    activation: str = "relu"  # relu (the paper) or gelu
    norm_first: bool = True  # pre-LN (with a final LayerNorm): trains without warm-up tricks; False: post-LN
    positions: str = "sinusoidal"  # sinusoidal (the paper) or learned
    max_len: int = 1024  # longest sentence in words

    def __post_init__(self):
        super().__post_init__()
        for name in ("d_model", "n_head", "d_ff", "n_layer", "max_len"):
            check_positive(getattr(self, name), name)
        if self.d_model % self.n_head:
            raise LmlabError(f"--d-model ({self.d_model}) must be divisible by --n-head ({self.n_head})")
        if self.activation not in ACTIVATIONS:
            raise LmlabError(f"--activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        if self.positions not in POSITIONS:
            raise LmlabError(f"--positions must be one of {', '.join(POSITIONS)}, got {self.positions!r}")


class TransformerTagger(TaggerNet):
    """Word and character features, a projection, positions, ``n_layer`` encoder layers, tag scores."""

    def __init__(self, cfg: TransformerTaggerConfig):
        super().__init__()
        self.config = cfg
        self.features = WordCharFeatures(cfg)
        self.proj = nn.Linear(self.features.d_output, cfg.d_model)
        positions = LearnedPositionalEmbedding if cfg.positions == "learned" else SinusoidalPositionalEncoding
        self.positions = positions(cfg.d_model, cfg.max_len)
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
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(cfg.d_model, cfg.num_tags)

    def encode(self, batch: TagBatch) -> Tensor:
        """The last layer's states (B, T, d_model)."""
        n_words, max_len = batch.words.size(1), self.config.max_len
        if n_words > max_len:
            raise LmlabError(f"a sentence of {n_words} words is longer than the model's --max-len {max_len}")
        h = self.positions(self.proj(self.features(batch)))  # (B, T, d_model)
        for layer in self.layers:
            h, _, _ = layer(h, key_padding_mask=~batch.mask)
        return self.norm(h) if self.norm is not None else h

    def emissions(self, batch: TagBatch) -> Tensor:
        return self.out(self.dropout(self.encode(batch)))  # (B, T, K)


__all__ = ["POSITIONS", "TransformerTagger", "TransformerTaggerConfig"]
