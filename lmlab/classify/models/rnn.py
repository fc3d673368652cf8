"""A many-to-one recurrent classifier (``rnn``): read the sentence with an Elman RNN, LSTM or GRU, pool the
states into one vector, classify it.

For words w_1 .. w_n::

    e_t   = E[w_t]                                       embedding (dropout on it)
    h^l_t = cell(h^{l-1}_t, h^l_{t-1}),  h^0_t = e_t     l = 1 .. L layers (dropout between them)
    bidirectional: h_t = [h->_t ; h<-_t]                 a forward and a backward reader per layer
    s = [h->_n ; h<-_1]                                  "last": each direction's final state at the sentence's
                                                         own length n (the forward reader's h_n alone when
                                                         unidirectional)
      | (1/n) sum_t h_t                                  "mean" over the real tokens
      | max_t h_t                                        "max", elementwise over the real tokens
    y = W s + b                                          logits (dropout on s)

The cells and the stack are lmlab's (:mod:`lmlab.nn.cells`, :mod:`lmlab.nn.recurrent`): a fused path (the torch.nn
kernels on packed sequences) and an explicit path on the same weights. Padding is never read: each sequence
stops at its own length.

References: Elman 1990; Hochreiter & Schmidhuber 1997; Cho et al. 2014 (the cells); Schuster & Paliwal 1997
(bidirectional); Tai, Socher & Manning 2015, "Improved Semantic Representations From Tree-Structured Long Short-Term
Memory Networks" (the LSTM baselines on SST whose sizes are the defaults here).
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
    masked_max,
    masked_mean,
)
from lmlab.errors import LmlabError
from lmlab.nn.recurrent import Recurrent
from lmlab.train.config import check_positive, check_probability

CELLS = ("rnn", "lstm", "gru")
POOLINGS = ("last", "mean", "max")


@dataclass(kw_only=True)
class RNNClassifierConfig(EmbeddingClassifierConfig):
    """A many-to-one recurrent network; the sizes are Tai et al.'s LSTM on SST (300-d vectors, 168 units)."""

    family: ClassVar[str] = "rnn"

    cell: str = "lstm"  # rnn (Elman), lstm or gru
    nonlinearity: str = "tanh"  # the Elman cell's: tanh or relu
    d_embed: int = 300  # word2vec's and GloVe's dimension, as in Tai et al.
    d_hidden: int = 168  # units per direction and layer (Tai et al.'s LSTM; 150 for their bidirectional one)
    n_layer: int = 1  # stacked layers (Tai et al.: 1 or 2)
    bidirectional: bool = False  # also read right to left and concatenate the two directions
    pooling: str = "last"  # last (final states), mean or max over the real tokens
    dropout: float = 0.5  # on embeddings, between layers and on s (Tai et al. use 0.5)
    fused: bool = True  # torch.nn kernels; False runs lmlab's explicit cells (same numbers, slower)

    def __post_init__(self):
        super().__post_init__()
        if self.cell not in CELLS:
            raise LmlabError(f"--cell must be one of {', '.join(CELLS)}, got {self.cell!r}")
        if self.nonlinearity not in ("tanh", "relu"):
            raise LmlabError(f"--nonlinearity must be tanh or relu, got {self.nonlinearity!r}")
        if self.pooling not in POOLINGS:
            raise LmlabError(f"--pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}")
        for name in ("d_hidden", "n_layer"):
            check_positive(getattr(self, name), name)
        check_probability(self.dropout, "dropout")


def last_states(h_n: Tensor, n_dir: int) -> Tensor:
    """The last layer's final states, directions concatenated: h_n (L*D, B, H) -> (B, D*H).

    >>> h_n = torch.arange(8.0).view(4, 1, 2)    # L = 2 layers, D = 2 directions, B = 1, H = 2
    >>> last_states(h_n, 2)                      # layer 2: forward [4, 5], backward [6, 7]
    tensor([[4., 5., 6., 7.]])
    """
    return torch.cat(list(h_n[-n_dir:]), dim=-1)


class RNNClassifier(ClassifierNet):
    """Embedding, a recurrent stack read up to each sentence's length, pooling, dropout, a linear layer."""

    def __init__(self, cfg: RNNClassifierConfig):
        super().__init__()
        self.config = cfg
        self.embed = WordEmbedding.from_config(cfg)
        self.dropout = nn.Dropout(cfg.dropout)
        self.rnn = Recurrent(
            cfg.cell,
            cfg.d_embed,
            cfg.d_hidden,
            cfg.n_layer,
            nonlinearity=cfg.nonlinearity,
            dropout=cfg.dropout,
            bidirectional=cfg.bidirectional,
            fused=cfg.fused,
        )
        self.out = nn.Linear(self.rnn.n_dir * cfg.d_hidden, cfg.num_classes)

    def sentence_vector(self, x: Tensor, mask: Tensor) -> Tensor:
        """s (B, D*H), pooled as the config says."""
        lengths = mask.sum(dim=1)  # (B,)
        h, state = self.rnn(self.dropout(self.embed(x)), lengths=lengths)  # h (B, T, D*H); state[0] (L*D, B, H)
        if self.config.pooling == "last":
            return last_states(state[0], self.rnn.n_dir)
        if self.config.pooling == "mean":
            return masked_mean(h, mask)
        return masked_max(h, mask)

    def forward(self, x: Tensor, mask: Tensor) -> ClassifierOutput:
        return ClassifierOutput(self.out(self.dropout(self.sentence_vector(x, mask))))


__all__ = ["CELLS", "POOLINGS", "RNNClassifier", "RNNClassifierConfig", "last_states"]
