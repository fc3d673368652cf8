"""Graph convolutional network (``gcn``): Kipf & Welling's layer, H' = σ(Â H W + b), stacked.

With Â the normalised adjacency with self-loops (``--norm``, see :mod:`lmlab.nn.graph`)::

    sym   Â = D^-1/2 (A + I) D^-1/2       the paper's eq. 2 (the renormalisation trick)
    row   Â = D^-1 (A + I)                what tkipf/pygcn computes (pygcn#55): each node the mean of itself and its
                                          neighbours, a random-walk rather than a symmetric operator

    Z = softmax(Â ReLU(Â X W_0) W_1)      the two-layer model of the paper's eq. 9 (softmax in the loss)

Â is computed once per graph and cached, so a layer is a dense product and a sparse one. Â (H W) and (Â H) W are
the same matrix; the layer multiplies the narrower side by Â (on Cora, 16 columns instead of 1,433). Dropout (0.5)
on each layer's input; Glorot-initialised weights; an L2 penalty of 5e-4 on the first layer's weights only.

References: Kipf & Welling 2017, "Semi-Supervised Classification with Graph Convolutional Networks"
(arXiv:1609.02907, eq. 2, eq. 9 and section 5.1: hidden 16, dropout 0.5, L2 5e-4, Adam at 0.01, 200 epochs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.graph.models.base import GraphModelConfig, GraphNet, NodeOutput
from lmlab.nn.graph import Graph, SparseFeatures, as_dense, feature_dropout, linear

GCN_NORMS = ("sym", "row")


@dataclass(kw_only=True)
class GCNConfig(GraphModelConfig):
    family: ClassVar[str] = "gcn"

    norm: str = "sym"  # sym: D^-1/2 (A+I) D^-1/2 (Kipf & Welling); row: D^-1 (A+I) (tkipf/pygcn)
    bias: bool = True  # pygcn and PyTorch Geometric have one; the paper's code does not
    l2_first: float = 5e-4  # Kipf & Welling's weight decay, first layer only

    def __post_init__(self):
        super().__post_init__()
        if self.norm not in GCN_NORMS:
            raise LmlabError(f"--norm must be one of {', '.join(GCN_NORMS)}, got {self.norm!r}")


class GCNLayer(nn.Module):
    """H' = Â H W + b (no nonlinearity), W Glorot-initialised, b zero: PyTorch Geometric's ``GCNConv``."""

    def __init__(self, in_features: int, out_features: int, *, norm: str = "sym", bias: bool = True):
        super().__init__()
        self.norm = norm
        self.lin = nn.Linear(in_features, out_features, bias=False)  # weight (out, in)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        nn.init.xavier_uniform_(self.lin.weight)

    def forward(self, x: Tensor | SparseFeatures, graph: Graph) -> Tensor:
        """x (N, in), dense or sparse -> (N, out)."""
        if self.lin.in_features > self.lin.out_features:
            out = graph.matmul(linear(x, self.lin.weight), self.norm)  # Â (X W): Â times the narrower matrix
        else:
            out = self.lin(graph.matmul(as_dense(x), self.norm))  # (Â X) W
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return f"norm={self.norm}"


class GCN(GraphNet):
    """Dropout, GCN layer, ReLU, ..., dropout, GCN layer (to the classes)."""

    def __init__(self, cfg: GCNConfig):
        super().__init__()
        self.config = cfg
        widths = cfg.widths()
        self.layers = nn.ModuleList(
            GCNLayer(a, b, norm=cfg.norm, bias=cfg.bias) for a, b in zip(widths[:-1], widths[1:])
        )

    def first_weight(self) -> Tensor:
        return self.layers[0].lin.weight

    def forward(self, x: Tensor | SparseFeatures, graph: Graph) -> NodeOutput:
        h = x
        for layer in self.layers[:-1]:
            h = F.relu(layer(feature_dropout(h, self.config.dropout, self.training), graph))
        return NodeOutput(self.layers[-1](feature_dropout(h, self.config.dropout, self.training), graph), as_dense(h))


__all__ = ["GCN", "GCNConfig", "GCNLayer"]
