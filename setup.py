"""The compiled word2vec trainer (lmlab/word2vec/_fast.c), n-gram scorer (lmlab/lm/ngram/_score.c), the sort and
join of streaming n-gram estimation (lmlab/lm/ngram/_count.c) and the word tokenizer's look-up
(lmlab/tokenizers/_words.c); everything else is in pyproject.toml.

The extensions are optional: without a C compiler ``pip install`` still succeeds, word2vec trains on its
readable pure-Python path (about a hundred times slower), saying so, n-gram models score on their numpy path
(the same numbers, slower), streaming estimation sorts with numpy (the same model, slower), and the word tokenizer
splits and looks up in Python (the same ids, slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "lmlab.word2vec._fast",
            sources=["lmlab/word2vec/_fast.c"],
            extra_compile_args=["-O3", "-fno-math-errno", "-std=c99"],
            optional=True,
        ),
        Extension(
            "lmlab.lm.ngram._score",
            sources=["lmlab/lm/ngram/_score.c"],
            # no contraction into fused multiply-adds: the scores must equal the numpy path's bit for bit
            extra_compile_args=["-O2", "-ffp-contract=off", "-std=c99"],
            optional=True,
        ),
        Extension(
            "lmlab.lm.ngram._count",
            sources=["lmlab/lm/ngram/_count.c"],
            extra_compile_args=["-O3", "-std=c99"],
            optional=True,
        ),
        Extension(
            "lmlab.tokenizers._words",
            sources=["lmlab/tokenizers/_words.c"],
            extra_compile_args=["-O3", "-std=c99"],
            optional=True,
        ),
    ]
)
