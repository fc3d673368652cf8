"""Properties every node classifier has, whatever its weights: relabelling the nodes relabels the outputs; an
isolated node's GCN output depends on its own features only; label propagation tends to its closed form."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lmlab.graph.models.gat import GAT, GATConfig
from lmlab.graph.models.gcn import GCN, GCNConfig
from lmlab.graph.models.labelprop import propagate
from lmlab.graph.models.mlp import MLP, MLPConfig
from lmlab.graph.models.sage import GraphSAGE, SAGEConfig
from lmlab.nn.graph import Graph, SparseFeatures, normalized_adjacency

N, FEATURES, CLASSES = 15, 8, 3

NETWORKS = {
    "gcn-sym": lambda: GCN(GCNConfig(in_features=FEATURES, num_classes=CLASSES, hidden=6)),
    "gcn-row": lambda: GCN(GCNConfig(in_features=FEATURES, num_classes=CLASSES, hidden=6, norm="row", n_layer=3)),
    "gat": lambda: GAT(GATConfig(in_features=FEATURES, num_classes=CLASSES, hidden=3, heads=2, out_heads=2)),
    "sage-mean": lambda: GraphSAGE(SAGEConfig(in_features=FEATURES, num_classes=CLASSES, hidden=6)),
    "sage-max": lambda: GraphSAGE(SAGEConfig(in_features=FEATURES, num_classes=CLASSES, hidden=6, aggregator="max")),
    "mlp": lambda: MLP(MLPConfig(in_features=FEATURES, num_classes=CLASSES, hidden=6)),
}


def undirected(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    e = torch.randint(0, N - 1, (2, 30), generator=g)  # node N - 1 stays isolated
    e = e[:, e[0] != e[1]]
    return torch.cat([e, e.flip(0)], dim=1)


@pytest.mark.parametrize("name", list(NETWORKS))
def test_permuting_the_nodes_permutes_the_outputs(name):
    torch.manual_seed(0)
    net = NETWORKS[name]().double().eval()
    x = torch.randn(N, FEATURES, dtype=torch.float64)
    edges = undirected(1)
    perm = torch.randperm(N)
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(N)  # new index of old node i: inverse[i]
    out = net(x, Graph(edges, N))
    moved = net(x[perm], Graph(inverse[edges], N))
    torch.testing.assert_close(moved.logits, out.logits[perm])
    torch.testing.assert_close(moved.hidden, out.hidden[perm])


@pytest.mark.parametrize("norm", ["sym", "row"])
def test_an_isolated_nodes_gcn_output_depends_only_on_its_own_features(norm):
    torch.manual_seed(0)
    net = GCN(GCNConfig(in_features=FEATURES, num_classes=CLASSES, hidden=6, norm=norm)).double().eval()
    x = torch.randn(N, FEATURES, dtype=torch.float64)
    graph = Graph(undirected(2), N)
    lone = N - 1
    before = net(x, graph).logits[lone]
    y = torch.randn(N, FEATURES, dtype=torch.float64)
    y[lone] = x[lone]  # every other node's features change
    torch.testing.assert_close(net(y, graph).logits[lone], before)
    # with only its self-loop, Â's row is e_i: the GCN is an MLP at that node
    first, second = net.layers
    h = torch.relu(x[lone] @ first.lin.weight.T + first.bias)
    torch.testing.assert_close(before, h @ second.lin.weight.T + second.bias)


def test_training_mode_dropout_on_sparse_features_keeps_the_shapes_and_trains():
    torch.manual_seed(0)
    net = GCN(GCNConfig(in_features=FEATURES, num_classes=CLASSES, hidden=6))
    x = (torch.rand(N, FEATURES) < 0.3).float()
    out = net(SparseFeatures.from_dense(x), Graph(undirected(3), N))
    out.logits.sum().backward()
    assert out.logits.shape == (N, CLASSES) and net.layers[0].lin.weight.grad.abs().sum() > 0


def test_gcn_penalty_is_half_l2_of_the_first_layer_only():
    net = GCN(GCNConfig(in_features=FEATURES, num_classes=CLASSES, hidden=6, l2_first=0.1))
    w = net.layers[0].lin.weight
    torch.testing.assert_close(net.penalty(), 0.05 * w.pow(2).sum())
    assert GCN(GCNConfig(in_features=FEATURES, num_classes=CLASSES, l2_first=0.0)).penalty() is None


def test_label_propagation_tends_to_its_closed_form():
    edges = undirected(4)
    labels = np.arange(N) % CLASSES
    train = np.array([0, 1, 2, 5])
    alpha = 0.8
    f = propagate(Graph(edges, N), labels, train, CLASSES, alpha, 300)
    s = normalized_adjacency(edges, N, norm="sym", self_loops=False, dtype=torch.float64).to_dense().numpy()
    y = np.zeros((N, CLASSES))
    y[train, labels[train]] = 1
    closed = (1 - alpha) * np.linalg.solve(np.eye(N) - alpha * s, y)  # Zhou et al.'s F*
    np.testing.assert_allclose(f, closed, atol=1e-12)
    assert (f[train].argmax(1) == labels[train]).all()
