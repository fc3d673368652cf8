"""Names a package imports on first use (PEP 562), so that importing one light module of it (a spec, the layer
arithmetic, the corpus registry) does not import its heavy ones (NumPy, PyTorch).

The modules ``lmlab eval`` of an n-gram model file imports (a few tens of milliseconds from start to figures) keep
their own imports light too: none imports typing (about 3 ms) or argparse, so each names typing's types for its
annotations alone behind ``TYPE_CHECKING = False`` / ``if TYPE_CHECKING:`` (type checkers take the name as typing's
constant; ``from __future__ import annotations`` leaves the annotations unevaluated), and its records are
``collections.namedtuple`` classes rather than ``typing.NamedTuple`` or dataclasses (dataclasses imports inspect).
Nor do they import json, re, enum, functools, contextlib, signal or importlib (about 5 ms together): JSON goes
through :mod:`lmlab.fastjson`, signals through ``_signal`` (:mod:`lmlab.interrupt`), imports by name through
:func:`import_module`, and the ``lmlab`` command is a script of its own (``bin/lmlab``).
``tests/lm/ngram/test_lean_eval.py`` holds the path to it."""

from __future__ import annotations

import sys
from collections.abc import Callable

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (see lmlab.lazy)
if TYPE_CHECKING:
    from typing import Any


def import_module(name: str) -> Any:
    """The module of the absolute dotted ``name``, imported if it is not yet: ``importlib.import_module(name)``
    without importing importlib's package, whose import of warnings costs ``lmlab eval``'s lean path about 0.5 ms.

    >>> import_module("lmlab.errors").__name__
    'lmlab.errors'
    """
    __import__(name)
    return sys.modules[name]


def lazy_names(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``name`` is imported from ``package.<where[name]>`` when first
    asked for."""

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(f"{package}.{where[name]}"), name)

    return __getattr__


__all__ = ["import_module", "lazy_names"]
