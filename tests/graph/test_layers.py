"""The layers against PyTorch Geometric's GCNConv, GATConv and SAGEConv with copied weights (float64: outputs and
every gradient), the networks against PyG stacks, and the properties every layer must have (a permutation of the
nodes permutes the outputs; an isolated node's GCN output depends on its own features alone)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lmlab.graph.models.gat import GAT, GATConfig, GATLayer
from lmlab.graph.models.gcn import GCN, GCNConfig, GCNLayer
from lmlab.graph.models.sage import SAGELayer
from lmlab.nn.graph import Graph, SparseFeatures, normalized_adjacency

pyg = pytest.importorskip("torch_geometric.nn", reason="torch-geometric (a test extra) is not installed")

N = 13


def random_graph(seed: int = 0, edges: int = 45) -> torch.Tensor:
    """A directed graph with repeated edges, self-loops and an isolated node (12): every case the layers meet."""
    g = torch.Generator().manual_seed(seed)
    e = torch.randint(0, N - 1, (2, edges), generator=g)
    extra = torch.tensor([[3, 3, 5], [4, 4, 5]])  # 3 -> 4 twice, 5 -> 5
    return torch.cat([e, extra], dim=1)


def features(in_features: int, seed: int = 1, sparse: bool = False) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, in_features, generator=g, dtype=torch.float64)
    if sparse:
        x = x * (torch.rand(N, in_features, generator=g, dtype=torch.float64) < 0.3)
    return x


def compare(ours, ref, in_features: int, edge_index: torch.Tensor, *, sparse_input: bool = False):
    """Outputs, the gradient of the input and of every parameter (matched by position in ``pairs``)."""
    x = features(in_features, sparse=sparse_input)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    graph = Graph(edge_index, N)
    out = ours(SparseFeatures.from_dense(x) if sparse_input else xa, graph)
    expected = ref(xb, edge_index)
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected, rtol=1e-10, atol=1e-12)
    w = torch.randn_like(out)
    (out * w).sum().backward()
    (expected * w).sum().backward()
    if not sparse_input:
        torch.testing.assert_close(xa.grad, xb.grad, rtol=1e-10, atol=1e-12)
    return ours, ref


def same_grads(pairs):
    for a, b in pairs:
        assert a.grad is not None and b.grad is not None
        torch.testing.assert_close(a.grad, b.grad.view_as(a.grad), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("fin", "fout"), [(6, 3), (3, 6)])  # Â (X W) and (Â X) W
@pytest.mark.parametrize("sparse_input", [False, True])
def test_gcn_layer_equals_pyg_gcnconv(fin, fout, sparse_input):
    torch.manual_seed(0)
    ref = pyg.GCNConv(fin, fout).double()
    ours = GCNLayer(fin, fout, norm="sym").double()
    with torch.no_grad():
        ours.lin.weight.copy_(ref.lin.weight)
        ref.bias.normal_()
        ours.bias.copy_(ref.bias)
    compare(ours, ref, fin, random_graph(), sparse_input=sparse_input)
    same_grads([(ours.lin.weight, ref.lin.weight), (ours.bias, ref.bias)])


def test_gcn_row_normalisation_is_the_mean_over_the_node_and_its_in_neighbours():
    edge_index = random_graph(2)
    layer = GCNLayer(5, 4, norm="row").double()
    x = features(5)
    a = normalized_adjacency(edge_index, N, norm="row", dtype=torch.float64).to_dense()
    dense_a = torch.zeros(N, N, dtype=torch.float64)
    for j, i in edge_index.T.tolist():
        if i != j:
            dense_a[i, j] += 1
    dense_a += torch.eye(N, dtype=torch.float64)
    assert torch.allclose(a, dense_a / dense_a.sum(1, keepdim=True))  # D^-1 (A + I)
    out = layer(x, Graph(edge_index, N))
    torch.testing.assert_close(out, a @ x @ layer.lin.weight.T + layer.bias)


@pytest.mark.parametrize("heads", [1, 3])
@pytest.mark.parametrize("concat", [True, False])
def test_gat_layer_equals_pyg_gatconv(heads, concat):
    torch.manual_seed(0)
    ref = pyg.GATConv(5, 4, heads=heads, concat=concat).double()
    ours = GATLayer(5, 4, heads, concat=concat).double()
    with torch.no_grad():
        ours.lin.weight.copy_(ref.lin.weight)
        ours.att_src.copy_(ref.att_src.view(heads, 4))
        ours.att_dst.copy_(ref.att_dst.view(heads, 4))
        ref.bias.normal_()
        ours.bias.copy_(ref.bias)
    compare(ours, ref, 5, random_graph())
    same_grads([(ours.lin.weight, ref.lin.weight), (ours.att_src, ref.att_src), (ours.att_dst, ref.att_dst),
                (ours.bias, ref.bias)])  # fmt: skip
    # the attention weights: the same on every edge (PyG's self-loops and ours), summing to 1 per target
    x, edge_index = features(5), random_graph()
    _, (edges, alpha) = ours(x, Graph(edge_index, N), return_attention=True)
    _, (ref_edges, ref_alpha) = ref(x, edge_index, return_attention_weights=True)
    ours_by_edge = {tuple(e): a for e, a in zip(edges.T.tolist(), alpha.tolist())}
    ref_by_edge = {tuple(e): a for e, a in zip(ref_edges.T.tolist(), ref_alpha.tolist())}
    assert ours_by_edge.keys() == ref_by_edge.keys()
    for e, a in ours_by_edge.items():
        np.testing.assert_allclose(a, ref_by_edge[e], rtol=1e-10)
    sums = torch.zeros(N, heads, dtype=torch.float64).index_add_(0, edges[1], alpha)
    torch.testing.assert_close(sums, torch.ones_like(sums))


@pytest.mark.parametrize(
    ("aggregator", "project", "root_weight", "normalize"),
    [("mean", False, True, False), ("max", False, True, False), ("max", True, True, False),
     ("mean", True, False, True), ("mean", False, False, False)],
)  # fmt: skip
@pytest.mark.parametrize(("fin", "fout"), [(6, 3), (3, 6)])
def test_sage_layer_equals_pyg_sageconv(aggregator, project, root_weight, normalize, fin, fout):
    torch.manual_seed(0)
    ref = pyg.SAGEConv(fin, fout, aggr=aggregator, project=project, root_weight=root_weight, normalize=normalize)
    ref = ref.double()
    ours = SAGELayer(fin, fout, aggregator=aggregator, project=project, root_weight=root_weight, normalize=normalize)
    ours = ours.double()
    pairs = [(ours.neigh.weight, ref.lin_l.weight), (ours.neigh.bias, ref.lin_l.bias)]
    with torch.no_grad():
        ours.neigh.load_state_dict(ref.lin_l.state_dict())
        if root_weight:
            ours.root.load_state_dict(ref.lin_r.state_dict())
            pairs.append((ours.root.weight, ref.lin_r.weight))
        if project:
            ours.pool.load_state_dict(ref.lin.state_dict())
            pairs += [(ours.pool.weight, ref.lin.weight), (ours.pool.bias, ref.lin.bias)]
    compare(ours, ref, fin, random_graph())
    same_grads(pairs)


def test_sage_layer_with_sparse_input_equals_dense():
    torch.manual_seed(0)
    for aggregator in ("mean", "max"):
        layer = SAGELayer(6, 3, aggregator=aggregator).double()
        x = features(6, sparse=True)
        g = Graph(random_graph(), N)
        torch.testing.assert_close(layer(SparseFeatures.from_dense(x), g), layer(x, g))


class PygStack(torch.nn.Module):
    """Two PyG layers as the papers stack them (eval mode: no dropout)."""

    def __init__(self, first, second, act):
        super().__init__()
        self.first, self.second, self.act = first, second, act

    def forward(self, x, edge_index):
        return self.second(self.act(self.first(x, edge_index)), edge_index)


def test_gcn_and_gat_networks_equal_pyg_stacks():
    torch.manual_seed(0)
    edge_index = random_graph(3)
    gcn = GCN(GCNConfig(in_features=6, num_classes=3, hidden=5)).double().eval()
    ref = PygStack(pyg.GCNConv(6, 5), pyg.GCNConv(5, 3), F.relu).double().eval()
    with torch.no_grad():
        for layer, conv in zip(gcn.layers, (ref.first, ref.second)):
            conv.lin.weight.copy_(layer.lin.weight)
            conv.bias.copy_(torch.randn_like(conv.bias))
            layer.bias.copy_(conv.bias)
    torch.testing.assert_close(gcn(features(6), Graph(edge_index, N)).logits, ref(features(6), edge_index))

    gat = GAT(GATConfig(in_features=6, num_classes=3, hidden=4, heads=2, out_heads=2)).double().eval()
    ref = PygStack(pyg.GATConv(6, 4, heads=2), pyg.GATConv(8, 3, heads=2, concat=False), F.elu).double().eval()
    with torch.no_grad():
        for layer, conv in zip(gat.layers, (ref.first, ref.second)):
            conv.lin.weight.copy_(layer.lin.weight)
            conv.att_src.copy_(layer.att_src.view_as(conv.att_src))
            conv.att_dst.copy_(layer.att_dst.view_as(conv.att_dst))
            conv.bias.copy_(torch.randn_like(conv.bias))
            layer.bias.copy_(conv.bias)
    out = gat(features(6), Graph(edge_index, N))
    torch.testing.assert_close(out.logits, ref(features(6), edge_index))
    assert out.hidden.shape == (N, 8)
