"""A BiLSTM tagger (``bilstm``): word and character features, a bidirectional LSTM over the sentence, a softmax
for every word.

For words w_1 .. w_n::

    x_t  = [W[w_t] ; charBiLSTM(w_t)]                     word vector (dropout on it)
    h->_t = LSTM(x_t, h->_{t-1}),  h<-_t = LSTM(x_t, h<-_{t+1})     L layers, each reading both ways
    h_t  = [h->_t ; h<-_t]                                 (dropout on it)
    p(y_t | w_1..n) = softmax(U h_t + b)                  one decision per word, independent of its neighbours'

The recurrent stack is lmlab's (:class:`lmlab.nn.Recurrent`: the torch.nn kernels on packed sequences, or the
explicit cells with ``--no-fused``), so each sentence is read to its own length and padding is never seen.

References: Plank, Søgaard & Goldberg 2016, "Multilingual Part-of-Speech Tagging with Bidirectional Long Short-Term
Memory Models and Auxiliary Loss" (word + character BiLSTM, UD tagging); Lample et al. 2016 (the character
BiLSTM); Graves & Schmidhuber 2005 (bidirectional LSTM).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor, nn

from lmlab.nn.recurrent import Recurrent
from lmlab.tag.models.base import TagBatch, TaggerNet, WordCharConfig, WordCharFeatures
from lmlab.train.config import check_positive


@dataclass(kw_only=True)
class BiLSTMTaggerConfig(WordCharConfig):
    """Plank et al.'s tagger at Lample et al.'s sizes (100 word dimensions, 100 units per direction)."""

    family: ClassVar[str] = "bilstm"

    d_hidden: int = 100  # units per direction of the sentence BiLSTM (Plank et al.: 100; Lample et al.: 100)
    n_layer: int = 1  # stacked BiLSTM layers (Plank et al.: 1)
    fused: bool = True  # torch.nn kernels; False runs lmlab's explicit cells (same numbers, slower)

    def __post_init__(self):
        super().__post_init__()
        check_positive(self.d_hidden, "d_hidden")
        check_positive(self.n_layer, "n_layer")


class SentenceBiLSTM(nn.Module):
    """Word features and the sentence BiLSTM: h (B, T, 2 d_hidden), zero at padding, dropout applied."""

    def __init__(self, cfg: BiLSTMTaggerConfig):
        super().__init__()
        self.features = WordCharFeatures(cfg)
        self.rnn = Recurrent(
            "lstm",
            self.features.d_output,
            cfg.d_hidden,
            cfg.n_layer,
            dropout=cfg.dropout,
            bidirectional=True,
            fused=cfg.fused,
        )
        self.dropout = nn.Dropout(cfg.dropout)
        self.d_output = 2 * cfg.d_hidden

    def forward(self, batch: TagBatch) -> Tensor:
        x = self.features(batch)  # (B, T, d_word + 2 d_char_hidden)
        h, _ = self.rnn(x, lengths=batch.mask.sum(dim=1))  # (B, T, 2 d_hidden)
        return self.dropout(h)


class BiLSTMTagger(TaggerNet):
    """Word and character features, a sentence BiLSTM, a linear layer to the tag scores; softmax per word."""

    def __init__(self, cfg: BiLSTMTaggerConfig):
        super().__init__()
        self.config = cfg
        self.encoder = SentenceBiLSTM(cfg)
        self.out = nn.Linear(self.encoder.d_output, cfg.num_tags)

    def emissions(self, batch: TagBatch) -> Tensor:
        return self.out(self.encoder(batch))  # (B, T, K)


__all__ = ["BiLSTMTagger", "BiLSTMTaggerConfig", "SentenceBiLSTM"]
