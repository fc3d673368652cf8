"""word2vec's hyperparameters (gensim's defaults) and its two families, skip-gram and CBOW.

References: Mikolov et al. 2013a, "Efficient Estimation of Word Representations in Vector Space"; Mikolov et al.
2013b, "Distributed Representations of Words and Phrases and their Compositionality"; Řehůřek & Sojka 2010
(gensim, whose defaults these are).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from lmlab.errors import LmlabError

MAX_DIM = 10_000
MAX_WINDOW = 1_000
MAX_NEGATIVE = 1_000


@dataclass
class Word2VecConfig:
    """Hyperparameters of skip-gram and CBOW; every field is a flag of ``lmlab train --task word2vec``."""

    dim: int = 100  # vector size, gensim's default (the C tool: 100 too)
    window: int = 5  # the largest distance to a context word; each word draws its own span in 1..window
    min_count: int = 5  # words seen fewer times get no vector (and are dropped from the sentences)
    max_vocab: int | None = None  # keep at most this many words, the most frequent (after min_count)
    negative: int = 5  # noise words per prediction; 5-20 for small corpora, 2-5 for large (Mikolov et al. 2013b)
    hs: bool = False  # hierarchical softmax over a Huffman tree (with --negative 0 for it alone, as gensim's hs=1)
    sample: float = 1e-3  # subsampling threshold t of frequent words; 0 turns it off
    epochs: int = 5  # passes over the corpus
    alpha: float = 0.025  # learning rate at the start, decayed linearly ...
    min_alpha: float = 0.0001  # ... to this at the end of the last epoch
    threads: int = 3  # training threads (Hogwild: they share the vectors without locks), gensim's default
    lowercase: bool = False  # lowercase the corpus (analogy and similarity evaluations ignore case anyway)
    max_sentence_length: int = 10_000  # longer lines are cut into pieces of this many words (gensim's limit)
    batch_words: int = 10_000  # words per job handed to a thread

    def __post_init__(self) -> None:
        def integer(name: str, low: int, high: int | None = None) -> None:
            value = getattr(self, name)
            flag = "--" + name.replace("_", "-")
            if not isinstance(value, int) or isinstance(value, bool) or value < low or (high and value > high):
                allowed = f"from {low} to {high:,}" if high else f">= {low}"
                raise LmlabError(f"{flag} must be an integer {allowed}, got {value!r}")

        integer("dim", 1, MAX_DIM)
        integer("window", 1, MAX_WINDOW)
        integer("min_count", 1)
        integer("negative", 0, MAX_NEGATIVE)
        integer("epochs", 1)
        integer("threads", 1, 1024)
        integer("max_sentence_length", 1)
        integer("batch_words", 1)
        if self.max_vocab is not None:
            integer("max_vocab", 1)
        if self.negative == 0 and not self.hs:
            raise LmlabError("--negative 0 leaves nothing to train: give --negative N >= 1, or --hs")
        if not (isinstance(self.sample, (int, float)) and 0 <= self.sample < 1):
            raise LmlabError(f"--sample must be a number in [0, 1) (0 turns subsampling off), got {self.sample!r}")
        if not (isinstance(self.alpha, (int, float)) and 0 < self.alpha <= 10):
            raise LmlabError(f"--alpha must be a number in (0, 10], got {self.alpha!r}")
        if not (isinstance(self.min_alpha, (int, float)) and 0 <= self.min_alpha <= self.alpha):
            raise LmlabError(f"--min-alpha must be a number from 0 to --alpha ({self.alpha}), got {self.min_alpha!r}")


@dataclass(frozen=True)
class Family:
    """One word2vec architecture, for the task table (:mod:`lmlab.tasks`)."""

    name: str
    summary: str
    cbow: bool
    config: str = "lmlab.word2vec.config:Word2VecConfig"
    timed: bool = False  # trains for its epochs (its own multi-threaded trainer), not for a share of a budget

    def config_class(self) -> type:
        module, _, attr = self.config.partition(":")
        return getattr(importlib.import_module(module), attr)

    def compare_args(self, cmp: Any) -> list[str]:
        from lmlab.word2vec.compare import compare_args

        return compare_args(self.name, cmp)


FAMILIES: dict[str, Family] = {
    "skipgram": Family(
        "skipgram", "skip-gram: each context word predicts the center word (Mikolov et al. 2013a)", cbow=False
    ),
    "cbow": Family(
        "cbow", "CBOW: the mean of the context vectors predicts the center word (Mikolov et al. 2013a)", True
    ),
}


def get_family(name: str) -> Family:
    if name not in FAMILIES:
        raise LmlabError(f"unknown word2vec model {name!r}; choose one of: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def config_dict(cfg: Word2VecConfig) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(cfg)


__all__ = ["FAMILIES", "Family", "Word2VecConfig", "config_dict", "get_family"]
