"""A bag of words (``bow``): the average of a text's word vectors, and of its hashed word n-grams, then a linear
layer (fastText).

For a text of n words w_1 .. w_n with vectors E[w_i], and its word n-grams g_1 .. g_m (orders 2 .. ``ngram``,
every n-gram of real words) hashed into ``buckets`` rows of a second table G::

    hash(w_i .. w_{i+k-1}) = (.. ((w_i P + w_{i+1}) mod buckets) P + ..) mod buckets,   P = 116049371
    h = (sum_i E[w_i] + sum_j G[hash(g_j)]) / (n + m)        the text's vector (d_embed,)
    y = W h + b                                              logits (C,)

There is no nonlinearity: it is a linear model over a low-rank representation of the text, which trains in
seconds and is a strong baseline. The hashing trick bounds the memory of the n-gram table, and colliding
n-grams share a row. (fastText hashes the n-grams' strings; hashing the word ids, as here, is the same for a fixed
vocabulary.)

References: Joulin, Grave, Bojanowski & Mikolov 2016, "Bag of Tricks for Efficient Text Classification";
Weinberger et al. 2009, "Feature Hashing for Large Scale Multitask Learning" (the hashing trick).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor, nn

from lmlab.classify.models.base import ClassifierNet, ClassifierOutput, EmbeddingClassifierConfig, WordEmbedding
from lmlab.train.config import check_positive, check_probability

#: fastText's multiplier for hashing word n-grams.
HASH_PRIME = 116049371


@dataclass(kw_only=True)
class BagOfWordsConfig(EmbeddingClassifierConfig):
    """fastText's model; Joulin et al. use 10 dimensions on their large sentiment sets, fastText's default is 100."""

    family: ClassVar[str] = "bow"

    d_embed: int = 100  # fastText's default -dim
    embed_init_range: float = 0.01  # fastText draws input vectors from U(-1/dim, 1/dim)
    ngram: int = 1  # longest word n-gram: 1 words only, 2 adds bigrams (Joulin et al.'s "+bigrams")
    buckets: int = 100_000  # rows for hashed n-grams (fastText: 2M; Joulin et al.: 10M on corpora 100x larger)
    dropout: float = 0.0  # on the text vector; fastText has none

    def __post_init__(self):
        super().__post_init__()
        check_positive(self.ngram, "ngram")
        check_positive(self.buckets, "buckets")
        check_probability(self.dropout, "dropout")


def hashed_ngrams(x: Tensor, mask: Tensor, n: int, buckets: int) -> tuple[Tensor, Tensor]:
    """The bucket of every n-gram starting at each position of x (B, T), and whether it holds only real words.

    Returns ids (B, T - n + 1) and valid (B, T - n + 1); with padding at the end an n-gram is real when its last
    word is.

    >>> import torch
    >>> ids, valid = hashed_ngrams(torch.tensor([[2, 3, 4, 0]]), torch.tensor([[True, True, True, False]]), 2, 10)
    >>> ids.tolist(), valid.tolist()          # (2 P + 3) mod 10, (3 P + 4) mod 10, (4 P + 0) mod 10
    ([[5, 7, 4]], [[True, True, False]])
    """
    windows = x.unfold(1, n, 1)  # (B, T - n + 1, n)
    h = windows[..., 0] % buckets
    for k in range(1, n):
        h = (h * HASH_PRIME + windows[..., k]) % buckets  # stays below buckets * P: no int64 overflow
    return h, mask[:, n - 1 :]


class BagOfWords(ClassifierNet):
    """Word and n-gram vectors averaged over the real tokens, then one linear layer."""

    def __init__(self, cfg: BagOfWordsConfig):
        super().__init__()
        self.config = cfg
        self.embed = WordEmbedding.from_config(cfg)
        self.ngrams = nn.Embedding(cfg.buckets, cfg.d_embed) if cfg.ngram > 1 else None
        if self.ngrams is not None:
            nn.init.uniform_(self.ngrams.weight, -cfg.embed_init_range, cfg.embed_init_range)
        self.dropout = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(cfg.d_embed, cfg.num_classes)

    def text_vector(self, x: Tensor, mask: Tensor) -> Tensor:
        """h (B, d_embed): the mean of the word vectors and the n-gram vectors of each text."""
        m = mask.unsqueeze(-1).to(self.out.weight.dtype)  # (B, T, 1)
        total = (self.embed(x) * m).sum(dim=1)  # (B, D)
        count = m.sum(dim=1)  # (B, 1)
        for n in range(2, self.config.ngram + 1):
            if x.size(1) < n:
                break
            ids, valid = hashed_ngrams(x, mask, n, self.config.buckets)  # (B, T - n + 1) each
            v = valid.unsqueeze(-1).to(total.dtype)
            total = total + (self.ngrams(ids) * v).sum(dim=1)
            count = count + v.sum(dim=1)
        return total / count

    def forward(self, x: Tensor, mask: Tensor) -> ClassifierOutput:
        return ClassifierOutput(self.out(self.dropout(self.text_vector(x, mask))))


__all__ = ["HASH_PRIME", "BagOfWords", "BagOfWordsConfig", "hashed_ngrams"]
