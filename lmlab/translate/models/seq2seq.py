"""The RNN encoder-decoder without attention (``seq2seq``): the whole source squeezed into the encoder's last state.

For source x_1 .. x_S and target y_1 .. y_T (y_0 = <s>)::

    h_s = RNN_enc(E_x[x_s], h_{s-1})                 L layers of LSTM or GRU cells; optionally read x_S .. x_1
    c   = h_S (every layer); the top layer's h_S is the context vector
    s_0 = c                                          the decoder starts from the encoder's final state
    s_t = RNN_dec(E_y[y_{t-1}], s_{t-1})             context "initial"     (Sutskever et al. 2014)
    s_t = RNN_dec([E_y[y_{t-1}]; c], s_{t-1})        context "every-step"  (Cho et al. 2014: c at every step)
    p(y_t | y_<t, x) = softmax(W s_t)                      initial
                     = softmax(W [E_y[y_{t-1}]; s_t; c])   every-step (Cho's output reads y_{t-1}, s_t and c)

This fixed-size c is the information bottleneck that attention removes: a long source must fit in one vector.
Reading the source backwards (``reverse_source``, Sutskever et al.'s trick) puts its first words next to the
first target words. Every parameter starts from U(-0.08, 0.08), as Sutskever et al.'s did. The decoder's
teacher-forced pass is one fused RNN call over the whole target; ``step`` runs the same RNN one position at a
time. Dropout: on the embeddings and between layers.

References: Sutskever, Vinyals & Le 2014, "Sequence to Sequence Learning with Neural Networks"; Cho et al. 2014,
"Learning Phrase Representations using RNN Encoder-Decoder for Statistical Machine Translation".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from lmlab.nn.recurrent import Recurrent, reverse_padded
from lmlab.train.config import check_positive
from lmlab.translate.models.base import (
    Memory,
    Seq2SeqOutput,
    TranslationConfig,
    TranslationNet,
    check_choice,
    check_ratio,
)

CELLS = ("lstm", "gru")
CONTEXTS = ("initial", "every-step")


@dataclass(kw_only=True)
class Seq2SeqConfig(TranslationConfig):
    """Cho et al.'s shape sized for minutes on a laptop's CPU: one GRU layer of 256 each side, 128-d embeddings,
    the context fed at every step and to the output. Trained 450 updates of 64 pairs on Multi30k (default recipe),
    it reached validation BLEU 9.8 at 300 updates (loss 3.41) where Sutskever et al.'s shape of the same size
    reached 3.2 after 450 read forwards, 5.4 read backwards (loss 3.91, 3.80); its steps cost about 1.6 times as
    much (the output reads [E y; s; c]). The published sizes are presets (lmlab.translate.presets): Sutskever et
    al.'s 4 LSTM layers of 1000 with the source read backwards (``--preset sutskever-2014``), the Multi30k
    baselines' 2 LSTM layers of 512 (``--preset multi30k-seq2seq``) and GRU of 512 (``--preset multi30k-cho``); or
    ``--cell lstm --context initial --reverse-source`` at this size."""

    family: ClassVar[str] = "seq2seq"

    cell: str = "gru"  # lstm (Sutskever) or gru (Cho)
    d_embed: int = 128  # word vectors of each side
    d_hidden: int = 256  # the state of every layer of both RNNs
    n_layer: int = 1  # layers of the encoder and of the decoder
    dropout: float = 0.5  # on the embeddings and between layers
    context: str = "every-step"  # initial: c starts the decoder (Sutskever); every-step: also fed at each step (Cho)
    reverse_source: bool = False  # read the source backwards (Sutskever et al.)
    teacher_forcing: float = 1.0  # the share of training steps that read the reference's previous token

    def __post_init__(self):
        super().__post_init__()
        check_choice(self.cell, "cell", CELLS)
        check_choice(self.context, "context", CONTEXTS)
        for name in ("d_embed", "d_hidden", "n_layer"):
            check_positive(getattr(self, name), name)
        check_ratio(self.teacher_forcing, "teacher_forcing")


def batch_first(state: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    """A recurrent state (L, B, H) each -> (B, L, H), the layout beam search reorders."""
    return tuple(s.transpose(0, 1) for s in state)


def layer_first(state: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
    """(B, L, H) -> (L, B, H), the layout torch.nn's recurrent modules read."""
    return tuple(s.transpose(0, 1).contiguous() for s in state)


class Seq2Seq(TranslationNet):
    """Embeddings, an L-layer encoder RNN, an L-layer decoder RNN started from its final state, a linear output."""

    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        self.config = cfg
        E, H, L = cfg.d_embed, cfg.d_hidden, cfg.n_layer
        self.every_step = cfg.context == "every-step"
        self.src_embed = nn.Embedding(cfg.src_vocab_size, E, padding_idx=0)
        self.tgt_embed = nn.Embedding(cfg.tgt_vocab_size, E, padding_idx=0)
        self.drop = nn.Dropout(cfg.dropout)
        self.encoder = Recurrent(cfg.cell, E, H, L, dropout=cfg.dropout)
        self.decoder = Recurrent(cfg.cell, E + (H if self.every_step else 0), H, L, dropout=cfg.dropout)
        self.out = nn.Linear(H + (E + H if self.every_step else 0), cfg.tgt_vocab_size)
        for p in self.parameters():
            nn.init.uniform_(p, -0.08, 0.08)

    @property
    def has_attention(self) -> bool:
        return False

    def encode(self, src: Tensor, src_mask: Tensor) -> Memory:
        lengths = src_mask.sum(1)
        x = self.drop(self.src_embed(src))  # (B, S, E)
        if self.config.reverse_source:
            x = reverse_padded(x, lengths)  # each sentence backwards within its length; padding stays at the end
        out, state = self.encoder(x, lengths=lengths)  # out (B, S, H); state each (L, B, H)
        return Memory(out, src_mask, final=batch_first(state))

    def start(self, memory: Memory) -> tuple[Memory, Any]:
        context = memory.final[0][:, -1]  # (B, H): the top layer's last state
        return memory._replace(extra=context), memory.final

    def _logits(self, e: Tensor, h: Tensor, context: Tensor) -> Tensor:
        if not self.every_step:
            return self.out(h)
        return self.out(torch.cat([e, h, context.expand(*h.shape[:-1], -1)], dim=-1))

    def step(self, memory: Memory, state: Any, y_prev: Tensor, need_weights: bool = False) -> tuple[Tensor, Any, None]:
        e = self.drop(self.tgt_embed(y_prev)).unsqueeze(1)  # (B, 1, E)
        context = memory.extra.unsqueeze(1)  # (B, 1, H)
        x = torch.cat([e, context], dim=-1) if self.every_step else e
        h, new = self.decoder(x, layer_first(state))  # h (B, 1, H)
        return self._logits(e, h, context).squeeze(1), batch_first(new), None

    def teacher_forced(self, memory: Memory, tgt_in: Tensor, need_weights: bool = False) -> Seq2SeqOutput:
        memory, state = self.start(memory)
        e = self.drop(self.tgt_embed(tgt_in))  # (B, T, E)
        context = memory.extra.unsqueeze(1)  # (B, 1, H)
        x = torch.cat([e, context.expand(-1, e.size(1), -1)], dim=-1) if self.every_step else e
        h, _ = self.decoder(x, layer_first(state))  # (B, T, H): one fused call over the whole target
        return Seq2SeqOutput(self._logits(e, h, context))


__all__ = ["CELLS", "CONTEXTS", "Seq2Seq", "Seq2SeqConfig"]
