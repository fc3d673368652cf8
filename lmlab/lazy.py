"""Names a package imports on first use (PEP 562), so that importing one light module of it (a spec, the layer
arithmetic, the corpus registry) does not import its heavy ones (NumPy, PyTorch)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_names(package: str, where: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``name`` is imported from ``package.<where[name]>`` when first
    asked for."""

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{where[name]}"), name)

    return __getattr__


__all__ = ["lazy_names"]
