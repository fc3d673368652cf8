"""word2vec: skip-gram and CBOW word vectors (Mikolov et al. 2013a, 2013b), trained by a compiled multi-threaded
trainer with a readable pure-Python path beside it, and the vectors' nearest neighbours, analogies and
evaluations (:class:`WordVectors`)."""

from lmlab.word2vec.config import FAMILIES, Word2VecConfig
from lmlab.word2vec.vectors import WordVectors

__all__ = ["FAMILIES", "Word2VecConfig", "WordVectors"]
