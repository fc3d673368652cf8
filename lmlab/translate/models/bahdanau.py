"""The RNN encoder-decoder with additive attention (``bahdanau``): when decoding a target word, look at the source
words that help.

For source x_1 .. x_S and target y_1 .. y_T (y_0 = <s>)::

    h_j    = [h->_j ; h<-_j]                          a bidirectional GRU reads the source both ways (B, S, 2H)
    s_0    = tanh(W_s h<-_1)                          the backward reader's summary of the whole source
    e_ij   = v_a^T tanh(W_a s_{i-1} + U_a h_j)        alignment model: how well source j fits target i
    a_ij   = softmax_j(e_ij)                          the alignment (zero at padding)
    c_i    = sum_j a_ij h_j                           a context vector for every target word
    s_i    = GRU([E y_{i-1} ; c_i], s_{i-1})          the context fed to the decoder's input ...
    p(y_i) = softmax(W_o [s_i ; c_i ; E y_{i-1}])     ... and to its output

``U_a h_j`` does not depend on i: :meth:`Bahdanau.start` computes it once per sentence and every step reuses it
(:func:`additive_scores` equals :class:`lmlab.nn.attention.AdditiveAttention` on the same weights). The weights
a_ij, drawn as a matrix, are the soft alignment of the paper's figure 3. Initialisation as in the paper's
appendix: recurrent matrices orthogonal, other matrices N(0, 0.01^2), biases zero. The output layer is linear
(the paper's maxout layer is left out, as in most re-implementations).

References: Bahdanau, Cho & Bengio 2015, "Neural Machine Translation by Jointly Learning to Align and Translate".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from lmlab.nn.attention import AdditiveAttention
from lmlab.nn.encoder import RecurrentEncoder
from lmlab.train.config import check_positive
from lmlab.translate.models.base import Memory, TranslationConfig, TranslationNet, check_ratio, gaussian_init_


@dataclass(kw_only=True)
class BahdanauConfig(TranslationConfig):
    """The paper's model at the size of the Multi30k baselines (the paper: 620-dim embeddings, 1000 units)."""

    family: ClassVar[str] = "bahdanau"

    d_embed: int = 256  # word vectors of each side
    d_hidden: int = 512  # each direction of the encoder, and the decoder's state
    d_attention: int = 512  # the alignment model's hidden layer (n' in the paper)
    dropout: float = 0.5  # on the embeddings and the annotations
    teacher_forcing: float = 1.0  # the share of training steps that read the reference's previous token

    def __post_init__(self):
        super().__post_init__()
        for name in ("d_embed", "d_hidden", "d_attention"):
            check_positive(getattr(self, name), name)
        check_ratio(self.teacher_forcing, "teacher_forcing")


def additive_scores(attention: AdditiveAttention, query: Tensor, projected_keys: Tensor) -> Tensor:
    """e_j = v^T tanh(W_q q + U k_j) for query (B, d_q) and keys already projected, U k_j (B, S, A) -> (B, S).

    The same numbers as :class:`AdditiveAttention` (before its softmax), with the key projection done once.
    """
    return attention.v(torch.tanh(attention.w_q(query).unsqueeze(1) + projected_keys)).squeeze(-1)


class Bahdanau(TranslationNet):
    """A bidirectional GRU encoder, an additive attention, a GRU decoder fed the context at input and output."""

    def __init__(self, cfg: BahdanauConfig):
        super().__init__()
        self.config = cfg
        E, H, A = cfg.d_embed, cfg.d_hidden, cfg.d_attention
        self.encoder = RecurrentEncoder(cfg.src_vocab_size, cell="gru", d_embed=E, d_hidden=H, dropout=cfg.dropout)
        self.init_state = nn.Linear(H, H)  # W_s
        self.attention = AdditiveAttention(query_dim=H, key_dim=2 * H, hidden_dim=A)
        self.tgt_embed = nn.Embedding(cfg.tgt_vocab_size, E, padding_idx=0)
        self.drop = nn.Dropout(cfg.dropout)
        self.cell = nn.GRUCell(E + 2 * H, H)
        self.out = nn.Linear(H + 2 * H + E, cfg.tgt_vocab_size)
        gaussian_init_(self, 0.01)

    def encode(self, src: Tensor, src_mask: Tensor) -> Memory:
        annotations, summary = self.encoder(src, lengths=src_mask.sum(1))  # (B, S, 2H), (B, 2H) = [h->_S; h<-_1]
        return Memory(annotations, src_mask, final=summary)

    def start(self, memory: Memory) -> tuple[Memory, Any]:
        H = self.config.d_hidden
        s0 = torch.tanh(self.init_state(memory.final[:, H:]))  # from h<-_1, the backward reader's last state
        return memory._replace(extra=self.attention.w_k(memory.outputs)), s0  # U_a h_j, once per sentence

    def step(self, memory: Memory, state: Any, y_prev: Tensor, need_weights: bool = False):
        e = self.drop(self.tgt_embed(y_prev))  # (B, E)
        scores = additive_scores(self.attention, state, memory.extra)  # (B, S), from s_{i-1}
        a = torch.softmax(scores.masked_fill(~memory.mask, float("-inf")), dim=-1)
        c = (a.unsqueeze(1) @ memory.outputs).squeeze(1)  # (B, 2H)
        s = self.cell(torch.cat([e, c], dim=-1), state)  # (B, H)
        logits = self.out(torch.cat([s, c, e], dim=-1))
        return logits, s, a[:, None, None]  # attention (B, 1, 1, S)


__all__ = ["Bahdanau", "BahdanauConfig", "additive_scores"]
