"""What every task's table of model families shares: entries that name their classes and functions lazily.

An entry points at its config dataclass, its network and the functions that train, load and size it as
``"module:attr"`` strings, loaded on first use, so that reading a table (``lmlab train --help``, ``lmlab compare``)
imports no PyTorch. Each task's table (:data:`lmlab.classify.models.CLASSIFIERS`,
:data:`lmlab.graph.models.GRAPH_MODELS`, ...) is a dict of such entries, with the task's own defaults.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


def load_ref(ref: str) -> Any:
    """The object named by ``"module:attr"``.

    >>> load_ref("math:pi") > 3
    True
    """
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class NetworkFamily:
    """One model family of a task trained on the engine (subclasses give the task's default refs)."""

    name: str
    summary: str
    config: str  # "module:Class", a dataclass whose fields are the family's hyperparameters (and CLI flags)
    network: str  # "module:Class", built from the config alone ("" for a model without a network)
    #: "module:function": train(config, data, ..., options, out) -> the trained model
    trainer: str = ""
    #: "module:function": load(run_dir, run_config) -> the trained model
    loader: str = ""
    #: "module:function" making the flags' dataclass from the family's config (adds the engine's recipe)
    train_config: str = ""
    #: "module:ATTR", a dict of family name -> the family's default recipe (flags and --config override it)
    recipes: str = ""
    #: "module:function": (family name, lmlab.compare.Comparison) -> the family's flags in `lmlab compare`
    compare: str = ""
    #: config fields set from the data (not flags)
    data_fields: tuple[str, ...] = ()
    timed: bool = True  # trains for a share of a comparison's time budget (False: counts or propagates)

    @property
    def by_gradient(self) -> bool:
        """Whether the family trains by gradient descent on lmlab's engine (the untimed ones count or propagate),
        and so can train on several processes."""
        return self.timed

    def config_class(self) -> type:
        return load_ref(self.config)

    def network_class(self) -> type:
        return load_ref(self.network)

    def trainer_fn(self):
        return load_ref(self.trainer)

    def loader_fn(self):
        return load_ref(self.loader)

    def train_config_class(self) -> type:
        return load_ref(self.train_config)(self.config_class())

    @property
    def recipe(self) -> dict[str, Any]:
        """The family's default training recipe."""
        return dict(load_ref(self.recipes).get(self.name, {})) if self.recipes else {}

    def compare_args(self, cmp: Any) -> list[str]:
        return load_ref(self.compare)(self.name, cmp) if self.compare else []


def get_entry(table: dict[str, Any], name: str, what: str) -> Any:
    """``table[name]``, or an LmlabError naming the ``what`` and the choices."""
    from lmlab.errors import LmlabError

    if name not in table:
        raise LmlabError(f"unknown {what} {name!r}; choose one of: {', '.join(table)}")
    return table[name]


__all__ = ["NetworkFamily", "get_entry", "load_ref"]
