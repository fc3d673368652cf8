"""The node-classification families and where to find each one.

``GRAPH_MODELS`` names every model ``lmlab train --task graph --model`` accepts. Each entry points (lazily, so that
reading the table imports no PyTorch) at the family's config dataclass and its network class; the networks honour
the contract of :mod:`lmlab.graph.models.base` (``forward(x, graph) -> NodeOutput``, ``penalty()``), so the task
and the engine reach a family only through this table. ``labelprop`` learns nothing and has no network: its
trainer propagates the training labels and its loader does so again.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GraphModel:
    name: str
    summary: str
    config: str  # "module:Class", a dataclass whose fields are the family's hyperparameters (and CLI flags)
    network: str  # "module:Class", built from the config alone ("" for label propagation)
    #: "module:function": train(config, data, split, options, out) -> trained model (logits, embeddings)
    trainer: str = "lmlab.graph.task:train_node_classifier"
    #: "module:function": load(run_dir, run_config) -> trained model
    loader: str = "lmlab.graph.task:load_node_classifier"
    #: "module:function" making the flags' dataclass from the family's config
    train_config: str = "lmlab.graph.task:training_config_class"
    #: config fields set from the data (not flags)
    data_fields: tuple[str, ...] = ("in_features", "num_classes")
    timed: bool = True  # trains for a share of a comparison's time budget (False: propagates, in seconds)

    def _load(self, ref: str) -> Any:
        module, _, attr = ref.partition(":")
        return getattr(importlib.import_module(module), attr)

    def config_class(self) -> type:
        return self._load(self.config)

    def network_class(self) -> type:
        return self._load(self.network)

    def trainer_fn(self):
        return self._load(self.trainer)

    def loader_fn(self):
        return self._load(self.loader)

    def train_config_class(self) -> type:
        return self._load(self.train_config)(self.config_class())

    @property
    def recipe(self) -> dict[str, Any]:
        """The family's default training recipe (flags and --config override it)."""
        from lmlab.graph.task import RECIPES

        return dict(RECIPES.get(self.name, {}))

    def compare_args(self, cmp: Any) -> list[str]:
        from lmlab.graph.compare import compare_args

        return compare_args(self.name, cmp)

    def data_values(self, in_features: int, num_classes: int) -> dict[str, Any]:
        values = {"in_features": in_features, "num_classes": num_classes}
        return {k: v for k, v in values.items() if k in self.data_fields}


GRAPH_MODELS: dict[str, GraphModel] = {
    "gcn": GraphModel(
        "gcn",
        "graph convolutions D^-1/2 (A+I) D^-1/2 H W (Kipf & Welling 2017); --norm row for pygcn's D^-1 (A+I)",
        "lmlab.graph.models.gcn:GCNConfig",
        "lmlab.graph.models.gcn:GCN",
    ),
    "gat": GraphModel(
        "gat",
        "multi-head attention over each node's neighbours (Velickovic et al. 2018)",
        "lmlab.graph.models.gat:GATConfig",
        "lmlab.graph.models.gat:GAT",
    ),
    "sage": GraphModel(
        "sage",
        "GraphSAGE: own features plus the mean (or max) of the neighbours' (Hamilton et al. 2017)",
        "lmlab.graph.models.sage:SAGEConfig",
        "lmlab.graph.models.sage:GraphSAGE",
    ),
    "mlp": GraphModel(
        "mlp",
        "the GCN's network without the graph: each node from its own features (baseline)",
        "lmlab.graph.models.mlp:MLPConfig",
        "lmlab.graph.models.mlp:MLP",
    ),
    "labelprop": GraphModel(
        "labelprop",
        "label propagation, no learning: the training labels spread over the edges (Zhou et al. 2004; baseline)",
        "lmlab.graph.models.labelprop:LabelPropConfig",
        "",
        trainer="lmlab.graph.models.labelprop:train_labelprop",
        loader="lmlab.graph.models.labelprop:load_labelprop",
        train_config="lmlab.graph.models.labelprop:labelprop_train_config",
        data_fields=("num_classes",),
        timed=False,
    ),
}


def get_graph_model(name: str) -> GraphModel:
    from lmlab.errors import LmlabError

    if name not in GRAPH_MODELS:
        raise LmlabError(f"unknown graph model {name!r}; choose one of: {', '.join(GRAPH_MODELS)}")
    return GRAPH_MODELS[name]


__all__ = ["GRAPH_MODELS", "GraphModel", "get_graph_model"]
