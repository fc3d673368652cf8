"""The RNN encoder-decoder with additive attention (``bahdanau``): when decoding a target word, look at the source
words that help.

For source x_1 .. x_S and target y_1 .. y_T (y_0 = <s>)::

    h_j    = [h->_j ; h<-_j]                          a bidirectional GRU reads the source both ways (B, S, 2H)
    s_0    = tanh(W_s h<-_1)                          the backward reader's summary of the whole source
    e_ij   = v_a^T tanh(W_a s_{i-1} + U_a h_j)        alignment model: how well source j fits target i
    a_ij   = softmax_j(e_ij)                          the alignment (zero at padding)
    c_i    = sum_j a_ij h_j                           a context vector for every target word
    s_i    = GRU([E y_{i-1} ; c_i], s_{i-1})          the context fed to the decoder's input ...
    p(y_i) = softmax(W_o [s_i ; c_i ; E y_{i-1}])     ... and to its output (a linear output, d_maxout None)
    t~_i   = U_o [s_i ; c_i ; E y_{i-1}]              or the paper's deep output: 2l units (d_maxout = l) ...
    t_i    = [max(t~_{i,2k-1}, t~_{i,2k})]_k          ... a maxout layer of l units (Goodfellow et al. 2013)
    p(y_i) = softmax(W_o t_i)

``U_a h_j`` does not depend on i: :meth:`Bahdanau.start` computes it once per sentence and every step reuses it
(:func:`additive_scores` equals :class:`lmlab.nn.attention.AdditiveAttention` on the same weights). The weights
a_ij, drawn as a matrix, are the soft alignment of the paper's figure 3. Initialisation as in the paper's
appendix: recurrent matrices orthogonal, other matrices N(0, 0.01^2), biases zero. The maxout layer (the paper's
l = 500) also makes the output cheaper: W_o reads l numbers instead of 3H + E, and W_o times the vocabulary is
most of the model's arithmetic. The paper's appendix writes the output from s_{i-1}; its equation (4), followed
here as in most re-implementations, from s_i.

Teacher forcing runs the recurrence (attention, GRU cell) one position at a time, since c_i needs s_{i-1}, and
then the output layer once over every position (:meth:`Bahdanau.teacher_forced`, the fast path; the embedding's
share of the GRU's input gates is also computed for every position at once); :meth:`step` does both per position
with ``nn.GRUCell`` (the readable path, decoding), and the tests hold the two equal.

References: Bahdanau, Cho & Bengio 2015, "Neural Machine Translation by Jointly Learning to Align and Translate";
Goodfellow et al. 2013, "Maxout Networks".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmlab.nn.attention import AdditiveAttention
from lmlab.nn.cells import gru_from_gates
from lmlab.nn.encoder import RecurrentEncoder
from lmlab.train.config import check_positive
from lmlab.translate.models.base import (
    Memory,
    Seq2SeqOutput,
    TranslationConfig,
    TranslationNet,
    check_ratio,
    gaussian_init_,
)


@dataclass(kw_only=True)
class BahdanauConfig(TranslationConfig):
    """Sized for minutes on a laptop's CPU: 128-d embeddings, 256 units, a maxout output of 128 (about 4M
    parameters on Multi30k). The published sizes are presets (lmlab.translate.presets): the paper's RNNsearch-50
    (``--preset rnnsearch-50``: 620-d embeddings, 1000 units, maxout 500, Adadelta) and the Multi30k baseline's
    256-d embeddings and 512 units (``--preset multi30k-bahdanau``)."""

    family: ClassVar[str] = "bahdanau"

    d_embed: int = 128  # word vectors of each side
    d_hidden: int = 256  # each direction of the encoder, and the decoder's state
    d_attention: int = 256  # the alignment model's hidden layer (n' in the paper)
    d_maxout: int | None = 128  # the deep output's maxout units (l in the paper: 500); None: a linear output
    dropout: float = 0.3  # on the embeddings and the annotations
    teacher_forcing: float = 1.0  # the share of training steps that read the reference's previous token

    def __post_init__(self):
        super().__post_init__()
        for name in ("d_embed", "d_hidden", "d_attention"):
            check_positive(getattr(self, name), name)
        if self.d_maxout is not None:
            check_positive(self.d_maxout, "d_maxout")
        check_ratio(self.teacher_forcing, "teacher_forcing")


def maxout(x: Tensor, pieces: int = 2) -> Tensor:
    """The largest of each group of ``pieces`` neighbouring units: (..., pieces * l) -> (..., l).

    >>> maxout(torch.tensor([[1.0, 3.0, -2.0, -5.0]])).tolist()
    [[3.0, -2.0]]
    """
    return x.unflatten(-1, (-1, pieces)).amax(-1)  # (..., l, pieces) -> (..., l)


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
        if cfg.d_maxout is None:
            self.readout = None
            self.out = nn.Linear(H + 2 * H + E, cfg.tgt_vocab_size)  # W_o
        else:
            self.readout = nn.Linear(H + 2 * H + E, 2 * cfg.d_maxout)  # U_o, V_o and C_o side by side
            self.out = nn.Linear(cfg.d_maxout, cfg.tgt_vocab_size)  # W_o
        gaussian_init_(self, 0.01)

    def encode(self, src: Tensor, src_mask: Tensor) -> Memory:
        annotations, summary = self.encoder(src, lengths=src_mask.sum(1))  # (B, S, 2H), (B, 2H) = [h->_S; h<-_1]
        return Memory(annotations, src_mask, final=summary)

    def start(self, memory: Memory) -> tuple[Memory, Any]:
        H = self.config.d_hidden
        s0 = torch.tanh(self.init_state(memory.final[:, H:]))  # from h<-_1, the backward reader's last state
        return memory._replace(extra=self.attention.w_k(memory.outputs)), s0  # U_a h_j, once per sentence

    def align(self, memory: Memory, s_prev: Tensor) -> Tensor:
        """a_i (B, S): the alignment of target position i from s_{i-1} (B, H), zero at padding."""
        scores = additive_scores(self.attention, s_prev, memory.extra)  # (B, S)
        return torch.softmax(scores.masked_fill(~memory.mask, float("-inf")), dim=-1)

    def recur(self, memory: Memory, s_prev: Tensor, e: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """One position of the recurrence: s_{i-1} (B, H), E y_{i-1} (B, E) -> s_i (B, H), c_i (B, 2H), a_i (B, S)."""
        a = self.align(memory, s_prev)
        c = (a.unsqueeze(1) @ memory.outputs).squeeze(1)  # (B, 2H)
        s = self.cell(torch.cat([e, c], dim=-1), s_prev)  # (B, H)
        return s, c, a

    def output(self, s: Tensor, c: Tensor, e: Tensor) -> Tensor:
        """Logits (..., V) from s_i, c_i and E y_{i-1}, any leading shape."""
        x = torch.cat([s, c, e], dim=-1)  # (..., 3H + E)
        if self.readout is not None:
            x = maxout(self.readout(x))  # (..., l)
        return self.out(x)

    def step(self, memory: Memory, state: Any, y_prev: Tensor, need_weights: bool = False):
        e = self.drop(self.tgt_embed(y_prev))  # (B, E)
        s, c, a = self.recur(memory, state, e)
        return self.output(s, c, e), s, a[:, None, None]  # attention (B, 1, 1, S)

    def teacher_forced(self, memory: Memory, tgt_in: Tensor, need_weights: bool = False) -> Seq2SeqOutput:
        memory, s = self.start(memory)
        e = self.drop(self.tgt_embed(tgt_in))  # (B, T, E)
        cell, E = self.cell, self.config.d_embed
        # GRU([E y_{i-1}; c_i]): the embedding's share of the input gates, W_ih[:, :E] E y + b_ih, for every
        # position in one product; only the context's share, W_ih[:, E:] c_i, waits for the step
        x_gates = F.linear(e, cell.weight_ih[:, :E], cell.bias_ih)  # (B, T, 3H)
        w_context = cell.weight_ih[:, E:]  # (3H, 2H)
        states, contexts, weights = [], [], []
        for i in range(tgt_in.size(1)):
            a = self.align(memory, s)
            c = (a.unsqueeze(1) @ memory.outputs).squeeze(1)  # (B, 2H)
            s = gru_from_gates(x_gates[:, i] + F.linear(c, w_context), s, cell.weight_hh, cell.bias_hh)  # (B, H)
            states.append(s)
            contexts.append(c)
            weights.append(a)
        logits = self.output(torch.stack(states, 1), torch.stack(contexts, 1), e)  # (B, T, V): one matmul
        attention = torch.stack(weights, 1)[:, None, None] if need_weights else None  # (B, 1, 1, T, S)
        return Seq2SeqOutput(logits, attention)


__all__ = ["Bahdanau", "BahdanauConfig", "additive_scores", "maxout"]
