"""The window tagger (``window``): each word's tag from the words around it, by a feed-forward network.

For word t and a window of ``w`` words on each side (positions outside the sentence read a padding vector)::

    x_t = [W[w_{t-w}] ; c_{t-w} ; ... ; W[w_t] ; c_t ; ... ; W[w_{t+w}] ; c_{t+w}]    (2w + 1)(d_word + d_caps)
    h_t = HardTanh(M_1 x_t + b_1)          (tanh or relu with --activation; dropout on x_t and h_t)
    p(y_t | window) = softmax(M_2 h_t + b_2)

where W[w] is the word's embedding and c the embedding of its capitalisation class (lower, Title, UPPER, mIxed).
This is Collobert et al.'s "window approach" with the word-level log-likelihood, and the NER window classifier of
CS224N's assignment. The fast path builds all windows at once by shifting the padded sentence (one gather); the
readable path (``windows_by_hand``, in the tests) cuts each window out word by word, and the two agree.

Collobert et al. look up lowercased words and leave case to the capitalisation feature; here the words are looked
up as written, like the other families' (the feature still marks case for words never seen in training).

References: Collobert, Weston, Bottou, Karlen, Kavukcuoglu & Kuksa 2011, "Natural Language Processing (Almost)
from Scratch" (window 5, 50-dimensional words, 5-dimensional caps, 300 hidden units, HardTanh).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.tag.models.base import CAPS, PAD, TagBatch, TaggerConfig, TaggerNet
from lmlab.train.config import check_positive, check_probability

ACTIVATIONS = {"hardtanh": nn.Hardtanh, "tanh": nn.Tanh, "relu": nn.ReLU}


@dataclass(kw_only=True)
class WindowTaggerConfig(TaggerConfig):
    """Collobert et al.'s sizes: a window of 5 words, 50 + 5 dimensions per word, 300 hidden units."""

    family: ClassVar[str] = "window"

    window: int = 2  # words on each side (the window holds 2w + 1)
    d_word: int = 50  # word embedding
    d_caps: int = 5  # capitalisation embedding (0: none)
    d_hidden: int = 300  # hidden units
    activation: str = "hardtanh"  # hardtanh (the paper), tanh or relu
    dropout: float = 0.2  # on the window's vectors and the hidden layer (the paper has none)

    def __post_init__(self):
        super().__post_init__()
        check_positive(self.window, "window", 64)
        check_positive(self.d_word, "d_word")
        check_positive(self.d_hidden, "d_hidden")
        if not (isinstance(self.d_caps, int) and not isinstance(self.d_caps, bool) and self.d_caps >= 0):
            raise LmlabError(f"--d-caps must be an integer >= 0, got {self.d_caps!r}")
        if self.activation not in ACTIVATIONS:
            raise LmlabError(f"--activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        check_probability(self.dropout, "dropout")


def windows(x: Tensor, w: int, outside: Tensor) -> Tensor:
    """Every position's window of vectors: x (B, T, D) -> (B, T, (2w + 1) D), positions beyond the row's ends
    reading ``outside`` (D,) (padding positions of x should hold it too).

    >>> windows(torch.tensor([[[1.0], [2.0], [3.0]]]), 1, torch.tensor([0.0])).squeeze(0).tolist()
    [[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 3.0, 0.0]]
    """
    B, T, D = x.shape
    edge = outside.to(x.dtype).expand(B, w, D)
    padded = torch.cat([edge, x, edge], dim=1)  # (B, T + 2w, D)
    index = torch.arange(T, device=x.device).unsqueeze(1) + torch.arange(2 * w + 1, device=x.device)  # (T, 2w+1)
    return padded[:, index].reshape(B, T, (2 * w + 1) * D)  # (B, T, 2w+1, D) -> (B, T, (2w+1) D)


class WindowTagger(TaggerNet):
    """Word and capitalisation embeddings, windows of 2w + 1 words, one hidden layer, tag scores."""

    def __init__(self, cfg: WindowTaggerConfig):
        super().__init__()
        self.config = cfg
        self.word = nn.Embedding(cfg.vocab_size, cfg.d_word, padding_idx=PAD)
        self.caps = nn.Embedding(len(CAPS), cfg.d_caps, padding_idx=PAD) if cfg.d_caps else None
        # the vector of a position outside the sentence (Collobert et al.'s PADDING word), learned
        self.outside = nn.Parameter(torch.zeros(cfg.d_word + cfg.d_caps))
        d_window = (2 * cfg.window + 1) * (cfg.d_word + cfg.d_caps)
        self.hidden = nn.Linear(d_window, cfg.d_hidden)
        self.act = ACTIVATIONS[cfg.activation]()
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(cfg.d_hidden, cfg.num_tags)

    def word_vectors(self, batch: TagBatch) -> Tensor:
        """[W[w_t] ; c_t] (B, T, d_word + d_caps); the padding positions hold the outside vector."""
        x = self.word(batch.words)
        if self.caps is not None:
            x = torch.cat([x, self.caps(batch.caps)], dim=-1)
        return torch.where(batch.mask.unsqueeze(-1), x, self.outside.to(x.dtype))

    def emissions(self, batch: TagBatch) -> Tensor:
        x = windows(self.word_vectors(batch), self.config.window, self.outside)  # (B, T, (2w+1) D)
        h = self.act(self.hidden(self.dropout(x)))  # (B, T, d_hidden)
        return self.out(self.dropout(h))  # (B, T, K)


__all__ = ["ACTIVATIONS", "WindowTagger", "WindowTaggerConfig", "windows"]
