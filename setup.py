"""The compiled word2vec trainer (lmlab/word2vec/_fast.c); everything else is in pyproject.toml.

The extension is optional: without a C compiler ``pip install`` still succeeds and word2vec trains on its
readable pure-Python path (about a hundred times slower), saying so.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "lmlab.word2vec._fast",
            sources=["lmlab/word2vec/_fast.c"],
            extra_compile_args=["-O3", "-fno-math-errno", "-std=c99"],
            optional=True,
        )
    ]
)
