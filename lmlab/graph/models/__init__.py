"""The node-classification families and where to find each one.

``GRAPH_MODELS`` names every model ``lmlab train --task graph --model`` accepts. Each entry points (lazily, so that
reading the table imports no PyTorch) at the family's config dataclass and its network class; the networks honour
the contract of :mod:`lmlab.graph.models.base` (``forward(x, graph) -> NodeOutput``, ``penalty()``), so the task
and the engine reach a family only through this table. ``labelprop`` learns nothing and has no network: its
trainer propagates the training labels and its loader does so again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lmlab.families import NetworkFamily, get_entry


@dataclass(frozen=True)
class GraphModel(NetworkFamily):
    """A node-classification family (see :class:`lmlab.families.NetworkFamily`)."""

    trainer: str = "lmlab.graph.task:train_node_classifier"
    loader: str = "lmlab.graph.task:load_node_classifier"
    train_config: str = "lmlab.graph.task:training_config_class"
    recipes: str = "lmlab.graph.task:RECIPES"
    compare: str = "lmlab.graph.compare:compare_args"
    data_fields: tuple[str, ...] = ("in_features", "num_classes")

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
    return get_entry(GRAPH_MODELS, name, "graph model")


__all__ = ["GRAPH_MODELS", "GraphModel", "get_graph_model"]
