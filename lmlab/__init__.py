"""lmlab: train, evaluate, compare and sample language models on your own text."""

from lmlab.errors import LmlabError

__version__ = "0.1.0"
__all__ = ["LmlabError", "__version__"]
