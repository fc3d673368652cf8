"""lmlab: train, evaluate, compare and sample language models on your own text."""

from lmlab.errors import LmlabError

__version__ = "0.1.0"


def load(path):  # noqa: ANN001, ANN201 - documented in lmlab.api.load
    """The trained model of any run directory (or ARPA file): see :func:`lmlab.api.load`."""
    from lmlab.api import load as _load

    return _load(path)


__all__ = ["LmlabError", "__version__", "load"]
