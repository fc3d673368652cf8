"""What every text classifier network honours, and the word embeddings they share.

The contract: a network is built from its config alone and maps a padded batch of token ids to class scores::

    forward(x: LongTensor (B, T), mask: BoolTensor (B, T)) -> ClassifierOutput(logits, attention, penalty)

``mask`` is True at real tokens; padding has id ``padding_idx`` (0 by convention) and sits at the end of a row;
every row holds at least one real token. Padding never changes a prediction: appending padding columns to a batch
leaves every row's logits as they were. ``logits`` are (B, C), unnormalised: p(y = c | x) = softmax(logits)_c.
``attention`` is (B, hops, T), weights over the tokens that are zero at padding and sum to one over the real
tokens, or None for a model without them. ``penalty`` is a scalar auxiliary loss term (Lin et al.'s), already
averaged over the batch and multiplied by its coefficient, that the task adds to the mean cross-entropy; or None.
After each optimizer step the trainer calls ``constrain_()``, a no-op unless the model constrains its weights
(Kim's max-norm).

Word embeddings come in Kim's four modes: ``rand`` (a trained table, random start), ``static`` (pretrained vectors,
frozen), ``non-static`` (pretrained vectors, trained further) and ``multichannel`` (two tables from the same
vectors, one frozen, one trained). :func:`init_embeddings_` copies the pretrained vectors in.

References: Kim 2014, "Convolutional Neural Networks for Sentence Classification" (the embedding modes, the
random vectors for unknown words).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.train.config import check_positive

EMBEDDING_MODES = ("rand", "static", "non-static", "multichannel")


class ClassifierOutput(NamedTuple):
    """What a classifier network returns (see the module docstring for the contract)."""

    logits: Tensor  # (B, C)
    attention: Tensor | None = None  # (B, hops, T): zero at padding, summing to one over the real tokens
    penalty: Tensor | None = None  # scalar, batch-averaged, coefficient applied: the task adds it to the loss


@dataclass(kw_only=True)
class ClassifierConfig:
    """Fields every classifier has; ``vocab_size`` and ``num_classes`` come from the data."""

    family: ClassVar[str] = ""  # set by each family's subclass: its name in CLASSIFIERS

    vocab_size: int  # V: ids 0 .. V-1, padding included
    num_classes: int  # C: the number of labels
    padding_idx: int = 0  # the id of padding (by convention 0): never trained, never read

    def __post_init__(self):
        check_positive(self.vocab_size, "vocab_size")
        if not (isinstance(self.num_classes, int) and not isinstance(self.num_classes, bool) and self.num_classes >= 2):
            raise LmlabError(f"a classifier needs at least 2 classes, got num_classes={self.num_classes!r}")
        if not (isinstance(self.padding_idx, int) and 0 <= self.padding_idx < self.vocab_size):
            raise LmlabError(f"--padding-idx must be in [0, {self.vocab_size}), got {self.padding_idx!r}")


@dataclass(kw_only=True)
class EmbeddingClassifierConfig(ClassifierConfig):
    """A classifier that reads word embeddings."""

    d_embed: int = 300  # word2vec's dimension, so pretrained vectors fit
    embedding_mode: str = "rand"  # rand, static, non-static or multichannel (Kim 2014)
    embed_init_range: float = 0.25  # random vectors from U(-r, r); Kim's 0.25 is about word2vec's variance

    def __post_init__(self):
        super().__post_init__()
        check_positive(self.d_embed, "d_embed")
        if self.embedding_mode not in EMBEDDING_MODES:
            raise LmlabError(
                f"--embedding-mode must be one of {', '.join(EMBEDDING_MODES)}, got {self.embedding_mode!r}"
            )
        r = self.embed_init_range
        if not (isinstance(r, (int, float)) and not isinstance(r, bool) and math.isfinite(r) and r > 0):
            raise LmlabError(f"--embed-init-range must be > 0, got {r!r}")


class ClassifierNet(nn.Module):
    """Base of the classifier networks: ``forward(x, mask) -> ClassifierOutput`` and ``constrain_()``."""

    def forward(self, x: Tensor, mask: Tensor) -> ClassifierOutput:  # pragma: no cover - each family overrides
        raise NotImplementedError

    def constrain_(self) -> None:
        """Called by the trainer after each optimizer step; nothing to do unless a family constrains weights."""


class WordEmbedding(nn.Module):
    """Token ids to vectors in one of Kim's modes; the padding row is zero and never trained.

    ``channels(x)`` gives (B, K, T, D) with K = 2 channels in ``multichannel`` mode (frozen first, then trained)
    and K = 1 otherwise; ``forward(x)`` gives (B, T, D), the channels summed. Kim applies each filter to both
    channels and adds the results; for a first layer that is linear in its input (a convolution, an average,
    W_ih x_t, a projection) that is the same as applying it once to the sum, which is how the families other than
    the CNN read both channels.
    """

    def __init__(self, vocab_size: int, d_embed: int, padding_idx: int, mode: str, init_range: float):
        super().__init__()
        if mode not in EMBEDDING_MODES:
            raise ValueError(f"embedding mode must be one of {', '.join(EMBEDDING_MODES)}, got {mode!r}")
        self.mode, self.padding_idx = mode, padding_idx
        self.table = nn.Embedding(vocab_size, d_embed, padding_idx=padding_idx)  # trained unless static
        self.static_table = None  # multichannel's frozen copy
        if mode == "multichannel":
            self.static_table = nn.Embedding(vocab_size, d_embed, padding_idx=padding_idx)
        with torch.no_grad():
            for table in self.tables():
                table.weight.uniform_(-init_range, init_range)
                table.weight[padding_idx].zero_()
        if mode == "static":
            self.table.weight.requires_grad_(False)
        if self.static_table is not None:
            self.static_table.weight.requires_grad_(False)

    @classmethod
    def from_config(cls, cfg: EmbeddingClassifierConfig) -> WordEmbedding:
        return cls(cfg.vocab_size, cfg.d_embed, cfg.padding_idx, cfg.embedding_mode, cfg.embed_init_range)

    def tables(self) -> list[nn.Embedding]:
        return [self.table] if self.static_table is None else [self.static_table, self.table]

    def channels(self, x: Tensor) -> Tensor:
        """x (B, T) -> (B, K, T, D)."""
        if self.static_table is None:
            return self.table(x).unsqueeze(1)
        return torch.stack([self.static_table(x), self.table(x)], dim=1)

    def forward(self, x: Tensor) -> Tensor:
        """x (B, T) -> (B, T, D), the channels summed."""
        e = self.table(x)
        return e if self.static_table is None else e + self.static_table(x)

    def extra_repr(self) -> str:
        return f"mode={self.mode}"


def uniform_range_matching(vectors: Tensor) -> float:
    """The a for which U(-a, a) has the variance of ``vectors``' entries: a = sqrt(3 var).

    Kim draws the words missing from word2vec from U(-a, a) with a chosen this way (0.25 for word2vec).

    >>> uniform_range_matching(torch.tensor([[1.0, -1.0], [-1.0, 1.0]]))  # var 1 (about the mean 0)
    1.7320508075688772
    """
    v = vectors.double()
    return math.sqrt(3.0 * float(((v - v.mean()) ** 2).mean()))


@torch.no_grad()
def init_embeddings_(net: nn.Module, vectors: Tensor, known: Tensor | None = None) -> None:
    """Copy pretrained word vectors into ``net``'s embedding tables, in the mode the network was built with.

    vectors: (V, D), row i the vector of word id i; known: (V,) bool, the rows that hold a pretrained vector
    (default: all). The other rows are drawn from U(-a, a), a = sqrt(3 var(known vectors)) as Kim did, and the
    padding row is zero. ``static`` tables stay frozen; ``multichannel`` receives the vectors in both its frozen
    and its trained table; ``rand`` refuses vectors (it means "no pretrained vectors").

    >>> from lmlab.classify.models.kim_cnn import TextCNN, TextCNNConfig
    >>> net = TextCNN(TextCNNConfig(vocab_size=4, num_classes=2, d_embed=2, embedding_mode="static"))
    >>> init_embeddings_(net, torch.arange(8.0).view(4, 2))
    >>> net.embed.table.weight.tolist(), net.embed.table.weight.requires_grad
    ([[0.0, 0.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0]], False)
    """
    embeddings = [m for m in net.modules() if isinstance(m, WordEmbedding)]
    if len(embeddings) != 1:
        raise ValueError(f"expected one WordEmbedding in {type(net).__name__}, found {len(embeddings)}")
    embed = embeddings[0]
    if embed.mode == "rand":
        raise LmlabError("pretrained embeddings need --embedding-mode static, non-static or multichannel, got rand")
    V, D = embed.table.weight.shape
    if vectors.dim() != 2 or vectors.size(1) != D:
        raise LmlabError(f"the pretrained vectors have dimension {vectors.size(-1)}, the model's d_embed is {D}")
    if vectors.size(0) != V:
        raise LmlabError(f"got {vectors.size(0)} pretrained rows for a vocabulary of {V} words")
    known = torch.ones(V, dtype=torch.bool) if known is None else known.to(torch.bool).cpu()
    known = known.clone()
    known[embed.padding_idx] = False
    if not known.any():
        raise LmlabError("none of the vocabulary's words has a pretrained vector")
    vectors = vectors.detach().to(dtype=embed.table.weight.dtype, device="cpu")
    a = uniform_range_matching(vectors[known])
    weight = torch.empty(V, D, dtype=vectors.dtype).uniform_(-a, a)
    weight[known] = vectors[known]
    weight[embed.padding_idx] = 0.0
    for table in embed.tables():
        table.weight.copy_(weight)


def max_norm_(weight: Tensor, max_norm: float) -> None:
    """Rescale each row of ``weight`` whose L2 norm exceeds ``max_norm`` to norm ``max_norm``, in place.

    Kim's constraint on the output layer: a class's weight vector w gets w <- s w / ||w|| when ||w|| > s.

    >>> w = torch.tensor([[3.0, 4.0], [0.3, 0.4]])
    >>> max_norm_(w, 1.0)
    >>> w.tolist()
    [[0.6000000238418579, 0.800000011920929], [0.30000001192092896, 0.4000000059604645]]
    """
    with torch.no_grad():
        norms = weight.norm(dim=1, keepdim=True)  # (C, 1)
        weight.mul_(torch.clamp(max_norm / norms.clamp_min(1e-12), max=1.0))


def masked_mean(h: Tensor, mask: Tensor) -> Tensor:
    """The mean of h (B, T, D) over the real positions of mask (B, T) -> (B, D).

    >>> masked_mean(torch.tensor([[[1.0], [3.0], [100.0]]]), torch.tensor([[True, True, False]]))
    tensor([[2.]])
    """
    m = mask.unsqueeze(-1).to(h.dtype)  # (B, T, 1)
    return (h * m).sum(1) / m.sum(1)


def masked_max(h: Tensor, mask: Tensor) -> Tensor:
    """The elementwise max of h (B, T, D) over the real positions of mask (B, T) -> (B, D).

    >>> masked_max(torch.tensor([[[1.0], [3.0], [100.0]]]), torch.tensor([[True, True, False]]))
    tensor([[3.]])
    """
    return h.masked_fill(~mask.unsqueeze(-1), float("-inf")).max(dim=1).values


__all__ = [
    "EMBEDDING_MODES",
    "ClassifierConfig",
    "ClassifierNet",
    "ClassifierOutput",
    "EmbeddingClassifierConfig",
    "WordEmbedding",
    "init_embeddings_",
    "masked_max",
    "masked_mean",
    "max_norm_",
    "uniform_range_matching",
]
