"""lmlab.nn.graph: the normalised adjacencies against hand computations, the scatter helpers and the edge softmax
against their definitions, sparse features against dense ones."""

from __future__ import annotations

import math

import pytest
import torch

from lmlab.nn.graph import (
    Graph,
    SparseFeatures,
    add_self_loops,
    edge_softmax,
    feature_dropout,
    linear,
    normalized_adjacency,
    scatter_max,
    scatter_mean,
    scatter_sum,
)

# A 4-node graph, undirected: the path 0 - 1 - 2 plus the edge 1 - 3; degrees with self-loops d = (2, 4, 2, 2).
#     0 --- 1 --- 2
#           |
#           3
EDGES = torch.tensor([[0, 1, 1, 2, 1, 3], [1, 0, 2, 1, 3, 1]])


def dense(a: torch.Tensor) -> list[list[float]]:
    return [[round(v, 6) for v in row] for row in a.to_dense().tolist()]


def test_symmetric_normalisation_by_hand():
    # D^-1/2 (A + I) D^-1/2: entry (i, j) = 1 / sqrt(d_i d_j) on the edges and the diagonal
    s = 1 / math.sqrt(2 * 4)
    expected = [[1 / 2, s, 0, 0], [s, 1 / 4, s, s], [0, s, 1 / 2, 0], [0, s, 0, 1 / 2]]
    assert dense(normalized_adjacency(EDGES, 4, norm="sym")) == [[round(v, 6) for v in r] for r in expected]


def test_row_normalisation_by_hand_is_pygcns_and_differs_from_the_papers():
    # D^-1 (A + I): each row the mean over the node and its neighbours (tkipf/pygcn's normalize(adj + I))
    expected = [[1 / 2, 1 / 2, 0, 0], [1 / 4, 1 / 4, 1 / 4, 1 / 4], [0, 1 / 2, 1 / 2, 0], [0, 1 / 2, 0, 1 / 2]]
    row = normalized_adjacency(EDGES, 4, norm="row")
    assert dense(row) == [[round(v, 6) for v in r] for r in expected]
    assert torch.allclose(row.to_dense().sum(1), torch.ones(4))  # rows sum to 1 ...
    sym = normalized_adjacency(EDGES, 4, norm="sym").to_dense()
    assert not torch.allclose(sym.sum(1), torch.ones(4))  # ... the symmetric one's do not
    assert torch.equal(sym, sym.T) and not torch.equal(row.to_dense(), row.to_dense().T)


def test_mean_without_self_loops_and_sum():
    mean = normalized_adjacency(EDGES, 4, norm="row", self_loops=False)
    third = round(1 / 3, 6)  # GraphSAGE's mean over N(i), no self-loop
    assert dense(mean) == [[0, 1, 0, 0], [third, 0, third, third], [0, 1, 0, 0], [0, 1, 0, 0]]
    a_plus_i = normalized_adjacency(EDGES, 4, norm="none")
    assert dense(a_plus_i) == [[1, 1, 0, 0], [1, 1, 1, 1], [0, 1, 1, 0], [0, 1, 0, 1]]


def test_directed_edges_read_in_neighbours_and_existing_self_loops_count_once():
    # 0 -> 1 twice (repeated edges add up), 2 -> 2 (a self-loop, replaced by the one of A + I), node 3 isolated
    edges = torch.tensor([[0, 0, 2], [1, 1, 2]])
    a = normalized_adjacency(edges, 4, norm="none").to_dense()
    assert a.tolist() == [[1, 0, 0, 0], [2, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    row = normalized_adjacency(edges, 4, norm="row", self_loops=False).to_dense()
    assert row.tolist() == [[0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]]  # isolated: an empty row


def test_graph_matmul_caches_and_its_gradient_is_the_transpose():
    g = Graph(torch.tensor([[0, 0, 2, 3], [1, 2, 1, 1]]), 4)  # directed: the adjacency is not symmetric
    h = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    a = normalized_adjacency(g.edge_index, 4, norm="sym", dtype=torch.float64).to_dense()
    out = g.matmul(h, "sym")
    assert torch.allclose(out, a @ h)
    w = torch.randn(4, 3, dtype=torch.float64)
    (out * w).sum().backward()
    assert torch.allclose(h.grad, a.T @ w)
    assert g.adjacency("sym", True, torch.float64) is g.adjacency("sym", True, torch.float64)


def test_scatter_helpers_against_loops():
    torch.manual_seed(0)
    src = torch.randn(30, 2, 3)
    index = torch.randint(0, 5, (30,))
    index[index == 4] = 3  # node 4 receives nothing
    total, mean, biggest = scatter_sum(src, index, 5), scatter_mean(src, index, 5), scatter_max(src, index, 5)
    for i in range(5):
        mine = src[index == i]
        if len(mine) == 0:
            assert total[i].abs().sum() == 0 and mean[i].abs().sum() == 0 and biggest[i].abs().sum() == 0
            continue
        assert torch.allclose(total[i], mine.sum(0)) and torch.allclose(mean[i], mine.mean(0))
        assert torch.equal(biggest[i], mine.max(0).values)


def test_edge_softmax_is_a_softmax_per_target_and_stable():
    scores = torch.tensor([[1.0, 1000.0], [2.0, 1001.0], [3.0, -5.0], [0.5, 7.0]], dtype=torch.float64)
    index = torch.tensor([0, 0, 1, 0])
    alpha = edge_softmax(scores, index, 2)
    for head in range(2):
        expected = torch.softmax(scores[[0, 1, 3], head], 0)
        assert torch.allclose(alpha[[0, 1, 3], head], expected)
    assert torch.allclose(alpha[2], torch.ones(2, dtype=torch.float64))  # a lone edge gets all the weight
    assert torch.isfinite(alpha).all()  # scores near 1000 do not overflow
    # the gradient is a softmax's: it flows despite the detached maximum
    s = scores.clone().requires_grad_()
    (edge_softmax(s, index, 2)[:, 0] * torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)).sum().backward()
    ref = scores[[0, 1, 3], 0].clone().requires_grad_()
    (torch.softmax(ref, 0) * torch.tensor([1.0, 2.0, 4.0], dtype=torch.float64)).sum().backward()
    assert torch.allclose(s.grad[[0, 1, 3], 0], ref.grad)


def test_add_self_loops_replaces_existing_ones():
    assert add_self_loops(torch.tensor([[0, 2, 1], [0, 1, 1]]), 3).tolist() == [[2, 0, 1, 2], [1, 0, 1, 2]]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sparse_features_equal_dense_ones(dtype):
    torch.manual_seed(1)
    x = (torch.rand(9, 7) < 0.2).to(dtype) * torch.rand(9, 7, dtype=dtype)
    x[3] = 0  # an empty row
    sx = SparseFeatures.from_dense(x)
    assert torch.equal(sx.to_dense(), x)
    w1 = torch.randn(4, 7, dtype=dtype, requires_grad=True)
    w2 = w1.detach().clone().requires_grad_()
    b = torch.randn(4, dtype=dtype)
    out_sparse, out_dense = linear(sx, w1, b), linear(x, w2, b)
    assert torch.allclose(out_sparse, out_dense)
    g = torch.randn_like(out_dense)
    (out_sparse * g).sum().backward()
    (out_dense * g).sum().backward()
    assert torch.allclose(w1.grad, w2.grad)


def test_sparse_dropout_drops_stored_entries_only_with_the_dense_scaling():
    torch.manual_seed(2)
    x = (torch.rand(200, 50) < 0.1).float()
    sx = SparseFeatures.from_dense(x)
    dropped = feature_dropout(sx, 0.5, True).to_dense()
    kept = dropped != 0
    assert not (kept & (x == 0)).any()  # zeros stay zeros
    assert torch.allclose(dropped[kept], torch.full_like(dropped[kept], 2.0))  # 1 / (1 - p)
    assert 0.4 < kept.sum().item() / (x != 0).sum().item() < 0.6
    assert feature_dropout(sx, 0.5, False) is sx
