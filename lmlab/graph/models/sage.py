"""GraphSAGE (``sage``): each node combines its own features with an aggregate of its neighbours'.

For node i with neighbours N(i) (no self-loop; Hamilton et al. 2017, Algorithm 1, with PyTorch Geometric's
``SAGEConv`` parameterisation of W . CONCAT(h_i, h_N(i)) as two matrices)::

    mean   h_N(i) = 1/|N(i)| sum_{j in N(i)} h_j            = (D^-1 A H)_i, row normalisation, no self-loop
    max    h_N(i) = max_{j in N(i)} h_j                      elementwise; with --project, the pooling aggregator:
                                                             max_j ReLU(W_pool h_j + b_pool)
    h'_i   = W_neigh h_N(i) + b + W_root h_i                 (W_root dropped with --no-root-weight)
    h'_i   = h'_i / ||h'_i||_2                               with --normalize (the paper's line 7)

A node with no neighbours aggregates to 0. The mean is a cached sparse product (like the GCN's, but D^-1 A where
GCN has D^-1/2 (A + I) D^-1/2: the row-versus-symmetric normalisation of tkipf/pygcn#55, made explicit). The
paper's LSTM aggregator (over a random order of the neighbours) is not provided.

References: Hamilton, Ying & Leskovec 2017, "Inductive Representation Learning on Large Graphs" (NeurIPS;
arXiv:1706.02216, Algorithm 1 and section 3.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch.nn.functional as F
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.graph.models.base import GraphModelConfig, GraphNet, NodeOutput
from lmlab.nn.graph import Graph, SparseFeatures, as_dense, feature_dropout, linear, scatter_max

AGGREGATORS = ("mean", "max")


@dataclass(kw_only=True)
class SAGEConfig(GraphModelConfig):
    family: ClassVar[str] = "sage"

    hidden: int = 64  # no Cora figure in the paper; a common setting for it
    aggregator: str = "mean"  # mean or max
    project: bool = False  # ReLU(W_pool h_j + b) before aggregating (the paper's pooling aggregator with max)
    root_weight: bool = True  # add W_root h_i (the paper's CONCAT(h_i, h_N(i)))
    normalize: bool = False  # L2-normalise every layer's output (the paper's Algorithm 1, line 7)
    l2_first: float = 5e-4  # the GCN's recipe

    def __post_init__(self):
        super().__post_init__()
        if self.aggregator not in AGGREGATORS:
            raise LmlabError(f"--aggregator must be one of {', '.join(AGGREGATORS)}, got {self.aggregator!r}")


class SAGELayer(nn.Module):
    """One GraphSAGE layer (no nonlinearity): PyTorch Geometric's ``SAGEConv`` (``lin_l`` is ``neigh`` here,
    ``lin_r`` is ``root``, ``lin`` is ``pool``)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        aggregator: str = "mean",
        project: bool = False,
        root_weight: bool = True,
        normalize: bool = False,
        bias: bool = True,
    ):
        super().__init__()
        if aggregator not in AGGREGATORS:
            raise ValueError(f"aggregator must be one of {', '.join(AGGREGATORS)}, got {aggregator!r}")
        self.aggregator, self.normalize = aggregator, normalize
        self.pool = nn.Linear(in_features, in_features) if project else None
        self.neigh = nn.Linear(in_features, out_features, bias=bias)
        self.root = nn.Linear(in_features, out_features, bias=False) if root_weight else None

    def forward(self, x: Tensor | SparseFeatures, graph: Graph) -> Tensor:
        """x (N, in), dense or sparse -> (N, out)."""
        h = F.relu(linear(x, self.pool.weight, self.pool.bias)) if self.pool is not None else x
        if self.aggregator == "max":
            h = as_dense(h)
            out = self.neigh(scatter_max(h.index_select(0, graph.source), graph.target, graph.num_nodes))
        elif self.neigh.in_features > self.neigh.out_features:
            # mean(H) W^T = mean(H W^T) (both 0 at a node without neighbours): average the narrower matrix
            out = graph.matmul(linear(h, self.neigh.weight), "row", self_loops=False)
            out = out if self.neigh.bias is None else out + self.neigh.bias
        else:
            out = self.neigh(graph.matmul(as_dense(h), "row", self_loops=False))
        if self.root is not None:
            out = out + linear(x, self.root.weight)
        return F.normalize(out, p=2.0, dim=-1) if self.normalize else out

    def extra_repr(self) -> str:
        return f"aggregator={self.aggregator}, normalize={self.normalize}"


class GraphSAGE(GraphNet):
    """Dropout, SAGE layer, ReLU, ..., dropout, SAGE layer (to the classes; never L2-normalised)."""

    def __init__(self, cfg: SAGEConfig):
        super().__init__()
        self.config = cfg
        widths = cfg.widths()
        n = len(widths) - 1
        self.layers = nn.ModuleList(
            SAGELayer(
                a,
                b,
                aggregator=cfg.aggregator,
                project=cfg.project,
                root_weight=cfg.root_weight,
                normalize=cfg.normalize and i < n - 1,
            )
            for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]))
        )

    def first_weight(self) -> Tensor:
        return self.layers[0].neigh.weight

    def penalty(self):
        """L2 on the first layer's matrices (neighbour, root and pooling weights)."""
        if not self.config.l2_first:
            return None
        first = self.layers[0]
        mats = [m.weight for m in (first.neigh, first.root, first.pool) if m is not None]
        return 0.5 * self.config.l2_first * sum(w.pow(2).sum() for w in mats)

    def forward(self, x: Tensor | SparseFeatures, graph: Graph) -> NodeOutput:
        h = x
        for layer in self.layers[:-1]:
            h = F.relu(layer(feature_dropout(h, self.config.dropout, self.training), graph))
        return NodeOutput(self.layers[-1](feature_dropout(h, self.config.dropout, self.training), graph), as_dense(h))


__all__ = ["AGGREGATORS", "GraphSAGE", "SAGEConfig", "SAGELayer"]
