"""Global attention (``luong``): a stacked RNN decoder that attends over every source state after its own step.

For source states h̄_1 .. h̄_S (an L-layer encoder, top layer) and the decoder's top state h_t::

    h_t     = RNN_dec([E y_{t-1} ; h̃_{t-1}], h_{t-1})    with input feeding (the previous attentional vector)
    h_t     = RNN_dec(E y_{t-1}, h_{t-1})                without
    score(h_t, h̄_s) = h_t^T h̄_s                          dot
                    = h_t^T W_a h̄_s                      general
                    = v_a^T tanh(W_a [h_t ; h̄_s])        concat
    a_t     = softmax_s(score(h_t, h̄_s)),  c_t = sum_s a_ts h̄_s
    h̃_t     = tanh(W_c [c_t ; h_t])                       the attentional vector
    p(y_t)  = softmax(W_s h̃_t)

Unlike Bahdanau's, the attention reads the decoder's *current* state, so without input feeding the whole target
runs through one fused RNN call and the attention is taken for all positions at once (the fast path beside the
step-by-step one). Input feeding makes each step depend on the last h̃, so the recurrence runs position by
position (there the decoder's cells run from their equations, :mod:`lmlab.nn.cells`, the embedding's share of the
first layer's input gates computed for every position in one product), and the output layer (W_s times the
vocabulary, most of the arithmetic) once over all of them; :meth:`Luong.step`, one torch.nn call per position, is
the readable path, and the tests hold the two equal. The decoder starts from the encoder's final states; every
parameter from U(-0.1, 0.1), as in the paper.

References: Luong, Pham & Manning 2015, "Effective Approaches to Attention-based Neural Machine Translation".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmlab.nn.attention import AdditiveAttention
from lmlab.nn.cells import gru_from_gates, lstm_from_gates
from lmlab.nn.recurrent import Recurrent
from lmlab.train.config import check_positive
from lmlab.translate.models.base import (
    Memory,
    Seq2SeqOutput,
    TranslationConfig,
    TranslationNet,
    check_choice,
    check_ratio,
)
from lmlab.translate.models.seq2seq import CELLS, batch_first, layer_first

SCORES = ("dot", "general", "concat")


@dataclass(kw_only=True)
class LuongConfig(TranslationConfig):
    """Sized for minutes on a laptop's CPU: one LSTM layer of 256 each side, 128-d embeddings (about 5M parameters
    on Multi30k). The published sizes are presets (lmlab.translate.presets): the paper's 4 layers of 1000
    (``--preset luong-2015``) and the Multi30k baselines' 2 layers of 512 (``--preset multi30k-luong``)."""

    family: ClassVar[str] = "luong"

    cell: str = "lstm"  # lstm (the paper) or gru
    d_embed: int = 128  # word vectors of each side
    d_hidden: int = 256  # every layer's state, and the attentional vector
    n_layer: int = 1  # layers of the encoder and of the decoder
    dropout: float = 0.3  # on the embeddings, between layers and on h̃ (the paper: 0.2)
    score: str = "general"  # dot, general or concat
    input_feeding: bool = True  # feed h̃_{t-1} to the next step's input
    teacher_forcing: float = 1.0  # the share of training steps that read the reference's previous token

    def __post_init__(self):
        super().__post_init__()
        check_choice(self.cell, "cell", CELLS)
        check_choice(self.score, "score", SCORES)
        for name in ("d_embed", "d_hidden", "n_layer"):
            check_positive(getattr(self, name), name)
        check_ratio(self.teacher_forcing, "teacher_forcing")


def cell_from_gates(cell: str, x_gates: Tensor, state: tuple[Tensor, ...], w_hh: Tensor, b_hh: Tensor | None):
    """One step of an LSTM or GRU layer from its input gates (B, G H): ``(h, c)`` or ``(h,)``, each (B, H)."""
    if cell == "lstm":
        return lstm_from_gates(x_gates, (state[0], state[1]), w_hh, b_hh)
    return (gru_from_gates(x_gates, state[0], w_hh, b_hh),)


class Luong(TranslationNet):
    """An L-layer encoder and decoder, global attention on the decoder's top state, the attentional layer."""

    def __init__(self, cfg: LuongConfig):
        super().__init__()
        self.config = cfg
        E, H, L = cfg.d_embed, cfg.d_hidden, cfg.n_layer
        self.src_embed = nn.Embedding(cfg.src_vocab_size, E, padding_idx=0)
        self.tgt_embed = nn.Embedding(cfg.tgt_vocab_size, E, padding_idx=0)
        self.drop = nn.Dropout(cfg.dropout)
        self.encoder = Recurrent(cfg.cell, E, H, L, dropout=cfg.dropout)
        self.decoder = Recurrent(cfg.cell, E + (H if cfg.input_feeding else 0), H, L, dropout=cfg.dropout)
        self.w_a = nn.Linear(H, H, bias=False) if cfg.score == "general" else None
        self.concat = AdditiveAttention(H, H, H) if cfg.score == "concat" else None  # v_a^T tanh(W_a [h; h̄])
        self.w_c = nn.Linear(2 * H, H, bias=False)
        self.out = nn.Linear(H, cfg.tgt_vocab_size)  # W_s
        for p in self.parameters():
            nn.init.uniform_(p, -0.1, 0.1)

    def encode(self, src: Tensor, src_mask: Tensor) -> Memory:
        x = self.drop(self.src_embed(src))  # (B, S, E)
        out, state = self.encoder(x, lengths=src_mask.sum(1))  # (B, S, H); each (L, B, H)
        return Memory(out, src_mask, final=batch_first(state))

    def start(self, memory: Memory) -> tuple[Memory, Any]:
        keys = memory.outputs  # dot: h̄_s itself
        if self.w_a is not None:
            keys = self.w_a(memory.outputs)  # W_a h̄_s, once per sentence
        elif self.concat is not None:
            keys = self.concat.w_k(memory.outputs)  # the h̄ half of W_a [h; h̄]
        B, H = memory.outputs.size(0), self.config.d_hidden
        feed = memory.outputs.new_zeros(B, H)  # h̃_0
        return memory._replace(extra=keys), (memory.final, feed)

    def attend(self, h: Tensor, memory: Memory) -> tuple[Tensor, Tensor]:
        """The attentional vectors h̃ (B, T, H) and the weights (B, T, S) of decoder states h (B, T, H)."""
        if self.concat is not None:  # v^T tanh(W_1 h_t + W_2 h̄_s): (B, T, S, H) before v
            scores = self.concat.v(torch.tanh(self.concat.w_q(h).unsqueeze(2) + memory.extra.unsqueeze(1)))
            scores = scores.squeeze(-1)
        else:
            scores = h @ memory.extra.transpose(1, 2)  # (B, T, S)
        a = torch.softmax(scores.masked_fill(~memory.mask.unsqueeze(1), float("-inf")), dim=-1)
        c = a @ memory.outputs  # (B, T, H)
        return torch.tanh(self.w_c(torch.cat([c, h], dim=-1))), a

    def recur(self, memory: Memory, state: Any, e: Tensor) -> tuple[Tensor, Any, Tensor]:
        """One position: E y_{t-1} (B, E) and the state -> h̃_t (B, 1, H), the new state, a_t (B, 1, S)."""
        rnn_state, feed = state
        x = torch.cat([e, feed], dim=-1) if self.config.input_feeding else e
        h, rnn_state = self.decoder(x.unsqueeze(1), layer_first(rnn_state))  # (B, 1, H)
        h_att, a = self.attend(h, memory)
        return h_att, (batch_first(rnn_state), h_att.squeeze(1)), a

    def step(self, memory: Memory, state: Any, y_prev: Tensor, need_weights: bool = False):
        h_att, state, a = self.recur(memory, state, self.drop(self.tgt_embed(y_prev)))
        logits = self.out(self.drop(h_att)).squeeze(1)
        return logits, state, a[:, None]  # attention (B, 1, 1, S)

    def teacher_forced(self, memory: Memory, tgt_in: Tensor, need_weights: bool = False) -> Seq2SeqOutput:
        if self.config.input_feeding:  # each position reads the last h̃: the recurrence one position at a time,
            memory, (rnn_state, feed) = self.start(memory)  # then the output layer once over the whole target
            e = self.drop(self.tgt_embed(tgt_in))  # (B, T, E)
            layers, E, cell = self.decoder.layers, self.config.d_embed, self.config.cell
            # the first layer reads [E y_{t-1}; h̃_{t-1}]: the embedding's share of its input gates for every
            # position in one product, W_ih[:, :E] E y + b_ih; only h̃'s share, W_ih[:, E:] h̃, waits for the step
            x_gates = F.linear(e, layers[0].weight_ih_l0[:, :E], layers[0].bias_ih_l0)  # (B, T, G H)
            w_feed = layers[0].weight_ih_l0[:, E:]
            states = [tuple(s[:, layer] for s in rnn_state) for layer in range(len(layers))]  # each (B, H)
            outputs, weights = [], []
            for t in range(tgt_in.size(1)):
                gates = x_gates[:, t] + F.linear(feed, w_feed)  # the first layer's input gates
                for layer, module in enumerate(layers):
                    states[layer] = cell_from_gates(cell, gates, states[layer], module.weight_hh_l0, module.bias_hh_l0)
                    h = states[layer][0]  # (B, H)
                    if layer + 1 < len(layers):  # the next layer reads h through the dropout between layers
                        above = layers[layer + 1]
                        gates = F.linear(self.decoder.dropout(h), above.weight_ih_l0, above.bias_ih_l0)
                h_att, a = self.attend(h.unsqueeze(1), memory)  # (B, 1, H), (B, 1, S)
                feed = h_att.squeeze(1)
                outputs.append(h_att)
                weights.append(a)
            logits = self.out(self.drop(torch.cat(outputs, 1)))  # (B, T, V)
            return Seq2SeqOutput(logits, torch.cat(weights, 1)[:, None, None] if need_weights else None)
        memory, (rnn_state, _) = self.start(memory)
        x = self.drop(self.tgt_embed(tgt_in))  # (B, T, E)
        h, _ = self.decoder(x, layer_first(rnn_state))  # (B, T, H): one fused call
        h_att, a = self.attend(h, memory)
        return Seq2SeqOutput(self.out(self.drop(h_att)), a[:, None, None] if need_weights else None)


__all__ = ["Luong", "LuongConfig", "SCORES"]
