"""Attention pooling over a bidirectional recurrent encoder (``attention``): each word gets a weight, the sentence
is the weighted sum of the word states, and the weights can be drawn over the words.

Word attention (Yang et al. 2016), one hop::

    h_t = [h->_t ; h<-_t]                      bidirectional GRU or LSTM states (B, T, 2H)
    u_t = tanh(W_w h_t + b_w)                  a one-layer MLP (d_attention,)
    a_t = exp(u_t^T u_w) / sum_t' exp(u_t'^T u_w)   similarity to a learned word context vector u_w; real t' only
    s   = sum_t a_t h_t                        the sentence vector (2H,)
    y   = W s + b                              logits (dropout on s)

This is Bahdanau's additive score v^T tanh(W_k h_t + W_q q) with a learned query folded into the bias and v = u_w.
Several hops (Lin et al. 2017's structured self-attention) stack r context vectors as the rows of W_s2 over one
shared W_s1 (here with Yang's bias b_w; Lin's has none)::

    A = softmax(W_s2 tanh(W_s1 H^T + b))       (r, T), each row over the real tokens
    M = A H                                    (r, 2H), flattened into the linear layer
    P = ||A A^T - I||_F^2                      penalises rows that attend to the same words

``ClassifierOutput.penalty`` is ``penalty_coef`` times P averaged over the batch, for the task to add to the mean
cross-entropy; ``attention`` is A, (B, r, T). (Lin et al. put a hidden layer of 2000 units between M and the
output; this model keeps Yang's single linear layer.)

References: Yang, Yang, Dyer, He, Smola & Hovy 2016, "Hierarchical Attention Networks for Document
Classification" (word attention); Lin, Feng, Santos, Yu, Xiang, Zhou & Bengio 2017, "A Structured Self-attentive
Sentence Embedding" (hops and the penalty); Bahdanau, Cho & Bengio 2015 (additive attention).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from lmlab.classify.models.base import ClassifierNet, ClassifierOutput, EmbeddingClassifierConfig, WordEmbedding
from lmlab.errors import LmlabError
from lmlab.nn.recurrent import Recurrent
from lmlab.train.config import check_positive, check_probability


@dataclass(kw_only=True)
class AttentionClassifierConfig(EmbeddingClassifierConfig):
    """A bidirectional encoder and word attention; the sizes are Yang et al.'s."""

    family: ClassVar[str] = "attention"

    cell: str = "gru"  # gru (Yang et al.) or lstm (Lin et al.)
    d_embed: int = 200  # Yang et al.'s word2vec dimension
    d_hidden: int = 50  # units per direction (Yang et al.), so h_t has 100
    n_layer: int = 1  # stacked bidirectional layers
    d_attention: int = 100  # size of u_t and u_w (Yang et al.; Lin et al.'s d_a is 350)
    hops: int = 1  # r attention rows: 1 is Yang's word attention, more is Lin et al.'s (they use 30)
    penalty_coef: float = 1.0  # Lin et al.'s coefficient on ||A A^T - I||_F^2; used when hops > 1
    dropout: float = 0.5  # on embeddings, between layers and on the sentence vector (not in Yang et al.)
    fused: bool = True  # torch.nn kernels; False runs lmlab's explicit cells (same numbers, slower)

    def __post_init__(self):
        super().__post_init__()
        if self.cell not in ("gru", "lstm"):
            raise LmlabError(f"--cell must be gru or lstm, got {self.cell!r}")
        for name in ("d_hidden", "n_layer", "d_attention", "hops"):
            check_positive(getattr(self, name), name)
        c = self.penalty_coef
        if not (isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c) and c >= 0):
            raise LmlabError(f"--penalty-coef must be >= 0, got {c!r}")
        check_probability(self.dropout, "dropout")


def attention_penalty(A: Tensor) -> Tensor:
    """Lin et al.'s redundancy penalty ||A A^T - I||_F^2 for each example: A (B, r, T) -> (B,).

    Zero when the r rows are one-hot on different words; two identical one-hot rows cost 2.

    >>> attention_penalty(torch.tensor([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [1.0, 0.0]]]))
    tensor([0., 2.])
    """
    eye = torch.eye(A.size(1), dtype=A.dtype, device=A.device)
    return ((A @ A.transpose(1, 2) - eye) ** 2).sum(dim=(1, 2))


class WordAttention(nn.Module):
    """``hops`` learned context vectors score every position; softmax over the real tokens; weighted sums.

    ``proj`` is W_w, b_w (Yang) or W_s1 (Lin); the rows of ``context`` are u_w (Yang) or W_s2 (Lin).
    """

    def __init__(self, d_input: int, d_attention: int, hops: int):
        super().__init__()
        self.proj = nn.Linear(d_input, d_attention)
        self.context = nn.Linear(d_attention, hops, bias=False)

    def forward(self, h: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
        """h (B, T, d), mask (B, T) True at real tokens -> M (B, hops, d), A (B, hops, T)."""
        scores = self.context(torch.tanh(self.proj(h))).transpose(1, 2)  # u_t^T u_w: (B, hops, T)
        A = torch.softmax(scores.masked_fill(~mask.unsqueeze(1), float("-inf")), dim=-1)  # exactly 0 at padding
        return A @ h, A


class AttentionClassifier(ClassifierNet):
    """Embedding, a bidirectional recurrent encoder, word attention (one or several hops), a linear layer."""

    def __init__(self, cfg: AttentionClassifierConfig):
        super().__init__()
        self.config = cfg
        self.embed = WordEmbedding.from_config(cfg)
        self.dropout = nn.Dropout(cfg.dropout)
        self.rnn = Recurrent(
            cfg.cell, cfg.d_embed, cfg.d_hidden, cfg.n_layer, dropout=cfg.dropout, bidirectional=True, fused=cfg.fused
        )
        self.attention = WordAttention(2 * cfg.d_hidden, cfg.d_attention, cfg.hops)
        self.out = nn.Linear(cfg.hops * 2 * cfg.d_hidden, cfg.num_classes)

    def forward(self, x: Tensor, mask: Tensor) -> ClassifierOutput:
        h, _ = self.rnn(self.dropout(self.embed(x)), lengths=mask.sum(dim=1))  # (B, T, 2H), zeros at padding
        M, A = self.attention(h, mask)  # (B, hops, 2H), (B, hops, T)
        logits = self.out(self.dropout(M.flatten(1)))  # (B, C)
        penalty = None
        if self.config.hops > 1 and self.config.penalty_coef > 0:
            penalty = self.config.penalty_coef * attention_penalty(A).mean()
        return ClassifierOutput(logits, A, penalty)


__all__ = [
    "AttentionClassifier",
    "AttentionClassifierConfig",
    "WordAttention",
    "attention_penalty",
]
