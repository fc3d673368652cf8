"""A bidirectional recurrent encoder: token ids to one vector per position, reading the sequence both ways.

Not a language model (a backward reader sees the future); it is the encoder of sequence classifiers and of
attention-based translation models::

    e_t  = E[w_t]                                        embedding
    h->_t = cell(e_t, h->_{t-1})                         left to right
    h<-_t = cell(e_t, h<-_{t+1})                         right to left
    h_t  = [h->_t ; h<-_t]                               (B, T, 2H), per layer, L layers stacked

The summary vector of a sequence is ``[h->_T ; h<-_1]``, the last state of each direction. Padded batches pass
``lengths``; padding positions output zeros and never reach the states.

References: Schuster & Paliwal 1997, "Bidirectional Recurrent Neural Networks"; Bahdanau, Cho & Bengio 2015,
"Neural Machine Translation by Jointly Learning to Align and Translate" (the bidirectional RNN encoder).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from lmlab.nn.dropout import sequence_dropout
from lmlab.nn.recurrent import Recurrent


class RecurrentEncoder(nn.Module):
    """Embedding, then ``n_layer`` bidirectional recurrent layers of kind ``cell`` ("rnn", "lstm", "gru").

    >>> enc = RecurrentEncoder(vocab_size=10, d_embed=8, d_hidden=6, n_layer=2)
    >>> out, summary = enc(torch.tensor([[4, 5, 6], [7, 8, 0]]), lengths=torch.tensor([3, 2]))
    >>> tuple(out.shape), tuple(summary.shape), out[1, 2].abs().sum().item()
    ((2, 3, 12), (2, 12), 0.0)
    """

    def __init__(
        self,
        vocab_size: int,
        *,
        cell: str = "lstm",
        d_embed: int = 256,
        d_hidden: int = 256,
        n_layer: int = 1,
        dropout: float = 0.0,
        locked_dropout: bool = False,
        fused: bool = True,
        nonlinearity: str = "tanh",
    ):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_embed)
        self.drop = sequence_dropout(dropout, locked_dropout)
        self.rnn = Recurrent(
            cell,
            d_embed,
            d_hidden,
            n_layer,
            nonlinearity=nonlinearity,
            dropout=dropout,
            locked_dropout=locked_dropout,
            bidirectional=True,
            fused=fused,
        )
        self.d_output = 2 * d_hidden

    def forward(self, idx: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``idx`` (B, T) -> outputs (B, T, 2H) of the last layer and the summary (B, 2H)."""
        x = self.drop(self.embed(idx))  # (B, T, E)
        out, state = self.rnn(x, lengths=lengths)  # out (B, T, 2H); state[0] (L*2, B, H)
        h = state[0]
        summary = torch.cat([h[-2], h[-1]], dim=-1)  # last layer: forward final, backward final -> (B, 2H)
        return self.drop(out), summary


__all__ = ["RecurrentEncoder"]
