"""word2vec: skip-gram and CBOW word vectors (Mikolov et al. 2013a, 2013b), trained by a compiled multi-threaded
trainer with a readable pure-Python path beside it, and the vectors' nearest neighbours, analogies and
evaluations (:class:`WordVectors`)."""

from lmlab.lazy import lazy_names

__all__ = ["FAMILIES", "Word2VecConfig", "WordVectors"]

# the names on first use: reading the task table (lmlab.word2vec.spec) imports nothing heavy
__getattr__ = lazy_names("lmlab.word2vec", {"FAMILIES": "config", "Word2VecConfig": "config", "WordVectors": "vectors"})
