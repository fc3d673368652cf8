"""word2vec: skip-gram and CBOW word vectors (Mikolov et al. 2013a, 2013b), trained by a compiled multi-threaded
trainer with a readable pure-Python path beside it, and the vectors' nearest neighbours, analogies and
evaluations (:class:`WordVectors`)."""

from typing import Any

__all__ = ["FAMILIES", "Word2VecConfig", "WordVectors"]


def __getattr__(name: str) -> Any:
    """The package's names on first use: reading the task table (``lmlab.word2vec.spec``) imports nothing heavy."""
    if name in ("FAMILIES", "Word2VecConfig"):
        from lmlab.word2vec import config

        return getattr(config, name)
    if name == "WordVectors":
        from lmlab.word2vec.vectors import WordVectors

        return WordVectors
    raise AttributeError(f"module 'lmlab.word2vec' has no attribute {name!r}")
