"""Kim's convolutional sentence classifier (``textcnn``): n-gram filters over word vectors, max-over-time pooling.

For a sentence of n words with vectors x_1 .. x_n (d each) and a filter w of width h (a vector of h d numbers)::

    c_i = relu(w . x_{i:i+h-1} + b)           one feature per window x_{i:i+h-1} = [x_i ; ... ; x_{i+h-1}]
    c^  = max_i c_i                           max-over-time pooling: the filter's strongest n-gram
    z   = [c^_1 ; ... ; c^_m]                 m = 3 widths x 100 maps
    y   = W (z o r) + b_y,   r ~ Bernoulli(0.5) (dropout, training only)
    ||W_c||_2 <= s = 3 for every class row W_c, restored after each update by rescaling (``constrain_``)

Windows: each sentence carries h - 1 zero vectors on each side (Kim's padding, the wide convolution), so a
sentence shorter than a filter still has windows, and the max runs over the n + h - 1 windows that hold at least
one word; windows of batch padding only are set to -inf before the max, so padding never changes a prediction.
(Kim pads every filter by h_max - 1 zeros; the extra windows of a narrower filter hold only zeros and are the
ones left out here.) In ``multichannel`` mode each filter is applied to both channels (frozen and trained vectors)
and the results are added before the bias and the ReLU.

Two paths compute the same convolution: :func:`wide_convolution` (``torch.nn.functional.conv1d``, the fast one)
and :func:`ngram_window_convolution` (the windows written out and multiplied by the filters, the equation above);
the tests check they agree in float64, outputs and gradients.

References: Kim 2014, "Convolutional Neural Networks for Sentence Classification"; Kalchbrenner, Grefenstette &
Blunsom 2014 (the wide convolution); Hinton et al. 2012 and Srivastava et al. 2014 (dropout, max-norm).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmlab.classify.models.base import (
    ClassifierNet,
    ClassifierOutput,
    EmbeddingClassifierConfig,
    WordEmbedding,
    max_norm_,
)
from lmlab.errors import LmlabError
from lmlab.train.config import check_positive, check_probability


@dataclass(kw_only=True)
class TextCNNConfig(EmbeddingClassifierConfig):
    """Kim's CNN; every default is the paper's."""

    family: ClassVar[str] = "textcnn"

    d_embed: int = 300  # word2vec's dimension (Kim uses the 300-d GoogleNews vectors)
    filter_widths: tuple[int, ...] = (3, 4, 5)  # h: tri-, four- and five-gram filters; "3,4,5" on the command line
    n_filters: int = 100  # feature maps per width
    dropout: float = 0.5  # on the penultimate layer z
    max_norm: float | None = 3.0  # s: bound on each class's output weight norm; None: unconstrained

    def __post_init__(self):
        super().__post_init__()
        widths = self.filter_widths
        if isinstance(widths, str):  # a flag or a TOML string: "3,4,5"
            try:
                widths = tuple(int(w) for w in widths.replace(" ", "").split(",") if w)
            except ValueError:
                raise LmlabError(f"--filter-widths must be integers like 3,4,5, got {self.filter_widths!r}") from None
        widths = tuple(widths)
        if not widths or not all(isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in widths):
            raise LmlabError(f"--filter-widths must be integers >= 1 like 3,4,5, got {self.filter_widths!r}")
        self.filter_widths = widths
        check_positive(self.n_filters, "n_filters")
        check_probability(self.dropout, "dropout")
        s = self.max_norm
        if s is not None and not (isinstance(s, (int, float)) and math.isfinite(s) and s > 0):
            raise LmlabError(f"--max-norm must be > 0 (or none), got {s!r}")


def wide_convolution(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """The wide convolution of every channel with the same filters, summed over channels, plus the bias.

    x (B, K, T, D) with zero vectors at padding; weight (F, D, h) as ``nn.Conv1d``'s; bias (F,) ->
    (B, F, T + h - 1), where output j reads the window of positions j - h + 1 .. j (zeros outside 0 .. T-1).

    >>> x = torch.tensor([1.0, 2.0, 3.0]).view(1, 1, 3, 1)          # one sentence, d = 1
    >>> wide_convolution(x, torch.tensor([[[1.0, 10.0]]]), None)    # w = (1, 10): c_j = x_{j-1} + 10 x_j
    tensor([[[10., 21., 32.,  3.]]])
    """
    B, K, T, D = x.shape
    h = weight.size(-1)
    c = F.conv1d(x.reshape(B * K, T, D).transpose(1, 2), weight, None, padding=h - 1)  # (B K, F, T + h - 1)
    c = c.view(B, K, *c.shape[1:]).sum(dim=1)  # (B, F, T + h - 1)
    return c if bias is None else c + bias.unsqueeze(-1)


def ngram_window_convolution(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """The same as :func:`wide_convolution`, written as Kim's equation: c_j = w . x_{j:j+h-1} + b.

    Each window's h vectors are concatenated into one h d vector and multiplied by the filters laid out the
    same way (position-major), summed over channels.
    """
    B, K, T, D = x.shape
    n_out, _, h = weight.shape
    padded = F.pad(x, (0, 0, h - 1, h - 1))  # (B, K, T + 2(h-1), D): h - 1 zero vectors on each side
    windows = padded.unfold(2, h, 1)  # (B, K, T + h - 1, D, h)
    windows = windows.transpose(-1, -2).reshape(B, K, T + h - 1, h * D)  # x_{j:j+h-1}, (B, K, T + h - 1, h D)
    w = weight.permute(0, 2, 1).reshape(n_out, h * D)  # (F, h D), the same position-major order
    c = torch.einsum("bkjn,fn->bfj", windows, w)  # (B, F, T + h - 1)
    return c if bias is None else c + bias.unsqueeze(-1)


class TextCNN(ClassifierNet):
    """Embeddings, one ``Conv1d`` per filter width, ReLU, max-over-time pooling, dropout, a linear layer."""

    def __init__(self, cfg: TextCNNConfig):
        super().__init__()
        self.config = cfg
        self.embed = WordEmbedding.from_config(cfg)
        self.convs = nn.ModuleList(nn.Conv1d(cfg.d_embed, cfg.n_filters, h) for h in cfg.filter_widths)
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(len(cfg.filter_widths) * cfg.n_filters, cfg.num_classes)
        self.fused = True  # False: the n-gram window path (same numbers, slower)

    def features(self, x: Tensor, mask: Tensor) -> Tensor:
        """The penultimate layer z (B, widths * n_filters): each filter's maximum over the windows with a word."""
        e = self.embed.channels(x) * mask[:, None, :, None].to(self.out.weight.dtype)  # (B, K, T, D), 0 at padding
        lengths = mask.sum(dim=1, keepdim=True)  # (B, 1)
        convolve = wide_convolution if self.fused else ngram_window_convolution
        pooled = []
        for conv in self.convs:
            h = conv.kernel_size[0]
            c = torch.relu(convolve(e, conv.weight, conv.bias))  # (B, F, T + h - 1)
            j = torch.arange(c.size(-1), device=c.device)
            holds_word = j < lengths + h - 1  # (B, T + h - 1): window j starts at j - h + 1 <= length - 1
            pooled.append(c.masked_fill(~holds_word.unsqueeze(1), float("-inf")).max(dim=-1).values)  # (B, F)
        return torch.cat(pooled, dim=1)

    def forward(self, x: Tensor, mask: Tensor) -> ClassifierOutput:
        return ClassifierOutput(self.out(self.dropout(self.features(x, mask))))

    def constrain_(self) -> None:
        """Kim's max-norm: each class's output weight vector rescaled to norm ``max_norm`` when it is longer."""
        if self.config.max_norm is not None:
            max_norm_(self.out.weight, self.config.max_norm)


__all__ = ["TextCNN", "TextCNNConfig", "ngram_window_convolution", "wide_convolution"]
