"""What every node-classification network honours, and the configuration fields they share.

The contract: a network is built from its config alone and maps every node's features, with the graph, to class
scores for every node (full batch: the whole graph in one pass)::

    forward(x: Tensor (N, F), graph: lmlab.nn.graph.Graph) -> NodeOutput(logits (N, C), hidden (N, D))

``logits`` are unnormalised: p(y_i = c) = softmax(logits_i)_c. ``hidden`` is the representation the last layer
reads (after the last hidden layer's nonlinearity), what ``lmlab plot RUN --embeddings`` projects to 2-D. A network
never reads the graph's labels: the task picks the training nodes' rows of the logits for the loss.
``penalty()`` is an L2 term the task adds to the loss (Kipf & Welling decay only the first layer's weights:
``l2_first / 2 * ||W_1||^2``; with Adam it is the same as weight decay on that layer alone), or None.

References: Kipf & Welling 2017 (the full-batch, semi-supervised setting and its recipe).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.train.config import MAX_LAYERS, check_positive, check_probability


class NodeOutput(NamedTuple):
    logits: Tensor  # (N, C)
    hidden: Tensor  # (N, D): what the output layer reads


@dataclass(kw_only=True)
class GraphModelConfig:
    """Fields every node classifier has; ``in_features`` and ``num_classes`` come from the data."""

    family: ClassVar[str] = ""  # set by each family's subclass: its name in GRAPH_MODELS

    in_features: int  # F: features per node
    num_classes: int  # C
    hidden: int = 16  # units of each hidden layer (Kipf & Welling: 16)
    n_layer: int = 2  # layers, the output layer included (Kipf & Welling: 2)
    dropout: float = 0.5  # on the input of every layer (Kipf & Welling: 0.5)
    l2_first: float = 0.0  # L2 penalty l2_first / 2 ||W||^2 on the first layer's weights only (Kipf & Welling)

    def __post_init__(self):
        check_positive(self.in_features, "in_features")
        if not (isinstance(self.num_classes, int) and not isinstance(self.num_classes, bool) and self.num_classes >= 2):
            raise LmlabError(f"node classification needs at least 2 classes, got num_classes={self.num_classes!r}")
        check_positive(self.hidden, "hidden")
        check_positive(self.n_layer, "n_layer", MAX_LAYERS)
        check_probability(self.dropout, "dropout")
        v = self.l2_first
        if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0):
            raise LmlabError(f"--l2-first must be >= 0, got {v!r}")

    def widths(self) -> list[int]:
        """The input and output width of every layer: [F, hidden, ..., hidden, C]."""
        return [self.in_features, *([self.hidden] * (self.n_layer - 1)), self.num_classes]


class GraphNet(nn.Module):
    """Base of the node classifiers: ``forward(x, graph) -> NodeOutput`` and ``penalty()``."""

    config: GraphModelConfig

    def first_weight(self) -> Tensor:  # pragma: no cover - each family overrides
        raise NotImplementedError

    def penalty(self) -> Tensor | None:
        """``l2_first / 2 * ||W_1||^2``, or None when l2_first is 0."""
        if not self.config.l2_first:
            return None
        return 0.5 * self.config.l2_first * self.first_weight().pow(2).sum()


__all__ = ["GraphModelConfig", "GraphNet", "NodeOutput"]
