"""The multilayer perceptron baseline (``mlp``): the GCN without the graph, each node classified from its own
features alone. H' = σ(H W + b): Kipf & Welling's network with Â = I, trained with the same recipe, so the gap
between the two is what the graph adds (Shchur et al. 2018 use it as the graph-free baseline).

References: Kipf & Welling 2017; Shchur et al. 2018, "Pitfalls of Graph Neural Network Evaluation" (Table 1: MLP).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch.nn.functional as F
from torch import Tensor, nn

from lmlab.graph.models.base import GraphModelConfig, GraphNet, NodeOutput
from lmlab.nn.graph import Graph, SparseFeatures, as_dense, feature_dropout, linear


@dataclass(kw_only=True)
class MLPConfig(GraphModelConfig):
    family: ClassVar[str] = "mlp"

    l2_first: float = 5e-4  # the GCN's recipe, so that only the graph differs


class MLP(GraphNet):
    """Dropout, linear, ReLU, ..., dropout, linear; the graph is ignored."""

    def __init__(self, cfg: MLPConfig):
        super().__init__()
        self.config = cfg
        widths = cfg.widths()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        for layer in self.layers:  # Glorot, as the GCN's layers
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def first_weight(self) -> Tensor:
        return self.layers[0].weight

    def forward(self, x: Tensor | SparseFeatures, graph: Graph | None = None) -> NodeOutput:
        h = x
        for layer in self.layers[:-1]:
            h = F.relu(linear(feature_dropout(h, self.config.dropout, self.training), layer.weight, layer.bias))
        last = self.layers[-1]
        return NodeOutput(
            linear(feature_dropout(h, self.config.dropout, self.training), last.weight, last.bias), as_dense(h)
        )


__all__ = ["MLP", "MLPConfig"]
