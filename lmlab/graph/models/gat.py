"""Graph attention network (``gat``): each node attends over its neighbours and itself, with several heads.

For node i, its neighbours j in N(i) (self included) and head k (Veličković et al. 2018, eqs. 1-6)::

    z_j       = W^k h_j                                             (heads x F)
    e_ij      = LeakyReLU_0.2( a_dst^k . z_i + a_src^k . z_j )      a^T [W h_i || W h_j], a split in two
    alpha_ij  = softmax over j in N(i) of e_ij                      the edge softmax (lmlab.nn.graph)
    h'_i      = ||_k  ELU( sum_j alpha_ij^k z_j^k )                 hidden layers: heads concatenated
    out_i     = mean_k sum_j alpha_ij^k z_j^k                       output layer: heads averaged (Cora: 1 head)

Dropout (0.6) on every layer's input and on the attention coefficients alpha (each node then reads a random subset
of its neighbourhood); 8 heads of 8 features on Cora; L2 5e-4 on the weights; Adam at 0.005. The coefficients of
every layer are kept on request (:meth:`GAT.attention`) so they can be inspected.

References: Veličković, Cucurull, Casanova, Romero, Liò & Bengio 2018, "Graph Attention Networks" (ICLR;
arXiv:1710.10903, section 3.3 for the Cora recipe).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.graph.models.base import GraphModelConfig, GraphNet, NodeOutput
from lmlab.nn.graph import Graph, SparseFeatures, as_dense, edge_softmax, feature_dropout, linear, scatter_sum
from lmlab.train.config import check_positive, check_probability


@dataclass(kw_only=True)
class GATConfig(GraphModelConfig):
    family: ClassVar[str] = "gat"

    hidden: int = 8  # features per head of each hidden layer
    heads: int = 8  # heads of each hidden layer, concatenated
    out_heads: int = 1  # heads of the output layer, averaged (Veličković et al.: 1 on Cora, 8 on PubMed)
    dropout: float = 0.6  # on every layer's input
    attn_dropout: float = 0.6  # on the attention coefficients
    negative_slope: float = 0.2  # of the LeakyReLU of the attention scores

    def __post_init__(self):
        super().__post_init__()
        check_positive(self.heads, "heads")
        check_positive(self.out_heads, "out_heads")
        check_probability(self.attn_dropout, "attn_dropout")
        v = self.negative_slope
        if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0):
            raise LmlabError(f"--negative-slope must be >= 0, got {v!r}")


class GATLayer(nn.Module):
    """One multi-head graph attention layer (no nonlinearity): PyTorch Geometric's ``GATConv`` with self-loops.

    Parameters: ``lin`` (heads * out, in), ``att_src`` and ``att_dst`` (heads, out), ``bias`` (heads * out when
    the heads are concatenated, else out); Glorot-initialised, the bias zero.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        heads: int = 1,
        *,
        concat: bool = True,
        negative_slope: float = 0.2,
        attn_dropout: float = 0.0,
        bias: bool = True,
    ):
        super().__init__()
        self.heads, self.out_features, self.concat = heads, out_features, concat
        self.negative_slope, self.attn_dropout = negative_slope, attn_dropout
        self.lin = nn.Linear(in_features, heads * out_features, bias=False)
        self.att_src = nn.Parameter(torch.empty(heads, out_features))
        self.att_dst = nn.Parameter(torch.empty(heads, out_features))
        width = heads * out_features if concat else out_features
        self.bias = nn.Parameter(torch.zeros(width)) if bias else None
        for p in (self.lin.weight, self.att_src, self.att_dst):
            nn.init.xavier_uniform_(p)

    def forward(self, x: Tensor | SparseFeatures, graph: Graph, *, return_attention: bool = False):
        """x (N, in) -> (N, heads * out) or (N, out); with ``return_attention`` also (edges (2, E), alpha (E, heads))
        over the graph with self-loops, before dropout."""
        g = graph.with_self_loops()
        src, dst, N = g.source, g.target, g.num_nodes
        z = linear(x, self.lin.weight).view(N, self.heads, self.out_features)  # (N, H, F)
        score_src = (z * self.att_src).sum(-1)  # (N, H): a_src . z_j
        score_dst = (z * self.att_dst).sum(-1)  # (N, H): a_dst . z_i
        e = F.leaky_relu(score_src.index_select(0, src) + score_dst.index_select(0, dst), self.negative_slope)
        alpha = edge_softmax(e, dst, N)  # (E, H)
        dropped = F.dropout(alpha, self.attn_dropout, self.training)
        out = scatter_sum(z.index_select(0, src) * dropped.unsqueeze(-1), dst, N)  # (N, H, F)
        out = out.reshape(N, -1) if self.concat else out.mean(dim=1)
        if self.bias is not None:
            out = out + self.bias
        return (out, (g.edge_index, alpha)) if return_attention else out

    def extra_repr(self) -> str:
        return f"heads={self.heads}, concat={self.concat}, attn_dropout={self.attn_dropout}"


class GAT(GraphNet):
    """Dropout, attention layer (heads concatenated), ELU, ..., dropout, attention layer (heads averaged)."""

    def __init__(self, cfg: GATConfig):
        super().__init__()
        self.config = cfg
        layers, width = [], cfg.in_features
        for _ in range(cfg.n_layer - 1):
            layers.append(
                GATLayer(width, cfg.hidden, cfg.heads, negative_slope=cfg.negative_slope, attn_dropout=cfg.attn_dropout)
            )
            width = cfg.hidden * cfg.heads
        layers.append(
            GATLayer(
                width,
                cfg.num_classes,
                cfg.out_heads,
                concat=False,
                negative_slope=cfg.negative_slope,
                attn_dropout=cfg.attn_dropout,
            )
        )
        self.layers = nn.ModuleList(layers)

    def first_weight(self) -> Tensor:
        return self.layers[0].lin.weight

    def forward(self, x: Tensor | SparseFeatures, graph: Graph) -> NodeOutput:
        h = x
        for layer in self.layers[:-1]:
            h = F.elu(layer(feature_dropout(h, self.config.dropout, self.training), graph))
        return NodeOutput(self.layers[-1](feature_dropout(h, self.config.dropout, self.training), graph), as_dense(h))

    @torch.no_grad()
    def attention(self, x: Tensor | SparseFeatures, graph: Graph) -> list[tuple[Tensor, Tensor]]:
        """Every layer's (edges (2, E), alpha (E, heads)) over the graph with self-loops, in eval mode (no dropout):
        alpha[e, k] is how much edge e's target reads its source in head k; each target's weights sum to 1."""
        was_training = self.training
        self.eval()
        try:
            out, h = [], x
            for i, layer in enumerate(self.layers):
                h, weights = layer(h, graph, return_attention=True)
                out.append(weights)
                if i < len(self.layers) - 1:
                    h = F.elu(h)
            return out
        finally:
            self.train(was_training)


__all__ = ["GAT", "GATConfig", "GATLayer"]
