"""Building blocks of graph neural networks: a graph's edges, its normalised adjacency, and sums, means, maxima and
softmaxes over each node's incoming edges.

Edges are directed, ``source -> target``: a message travels from node j to node i along edge j -> i, and node i
aggregates over its in-neighbours N(i) = {j : j -> i} (PyTorch Geometric's ``flow="source_to_target"``). An
undirected graph lists each edge both ways. The adjacency matrix is indexed the same way, A[i, j] = 1 for j -> i,
so that a layer's aggregation is one sparse product ``A @ H``::

    edges (source, target)   (0, 1) (1, 0) (1, 2) (2, 1)         A = [[0, 1, 0],     row i: whom node i reads
                                                                      [1, 0, 1],
                                                                      [0, 1, 0]]

The normalisations of ``A + I`` (self-loops: each node also reads itself), with D the diagonal of its row sums::

    sym   D^-1/2 (A + I) D^-1/2     Kipf & Welling 2017, eq. 2: Â[i, j] = 1 / sqrt(d_i d_j)
    row   D^-1 (A + I)              the mean over N(i) and i: what pygcn computes (tkipf/pygcn#55), and, without the
                                    self-loops, GraphSAGE's mean aggregator
    none  A + I                     the sum

The two differ: on a star, ``sym`` gives the hub's neighbours 1/sqrt(d) of the hub's value, ``row`` 1/2 of it. A
:class:`Graph` computes each normalised matrix once and caches it (with its transpose, which the backward pass
multiplies by), so a full-batch epoch costs two sparse products per layer and no index arithmetic.

References: Kipf & Welling 2017, "Semi-Supervised Classification with Graph Convolutional Networks";
Hamilton, Ying & Leskovec 2017, "Inductive Representation Learning on Large Graphs"; Veličković et al. 2018,
"Graph Attention Networks" (the softmax over a node's neighbours); Fey & Lenssen 2019, "Fast Graph Representation
Learning with PyTorch Geometric" (the edge-list conventions followed here).
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

NORMS = ("sym", "row", "none")


def remove_self_loops(edge_index: Tensor) -> Tensor:
    """The edges (2, E) without those from a node to itself.

    >>> remove_self_loops(torch.tensor([[0, 1, 2], [1, 1, 0]])).tolist()
    [[0, 2], [1, 0]]
    """
    return edge_index[:, edge_index[0] != edge_index[1]]


def add_self_loops(edge_index: Tensor, num_nodes: int) -> Tensor:
    """The edges (2, E) without their self-loops, then one self-loop per node appended: every node reads itself
    exactly once (what GCN's A + I and GAT's attention to the node itself need).

    >>> add_self_loops(torch.tensor([[0, 1], [1, 1]]), 2).tolist()
    [[0, 0, 1], [1, 0, 1]]
    """
    loops = torch.arange(num_nodes, device=edge_index.device).expand(2, num_nodes)
    return torch.cat([remove_self_loops(edge_index), loops], dim=1)


def sort_by_target(edge_index: Tensor, num_nodes: int) -> Tensor:
    """The edges ordered by target, then source (the order of the adjacency's rows: compressed sparse rows), so
    that sums over a node's incoming edges touch neighbouring memory.

    >>> sort_by_target(torch.tensor([[2, 0, 1], [0, 1, 0]]), 3).tolist()
    [[1, 2, 0], [0, 0, 1]]
    """
    key = edge_index[1] * num_nodes + edge_index[0]
    return edge_index[:, torch.argsort(key, stable=True)]


def in_degree(target: Tensor, num_nodes: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """How many edges arrive at each node.

    >>> in_degree(torch.tensor([1, 1, 0]), 3).tolist()
    [1.0, 2.0, 0.0]
    """
    return torch.zeros(num_nodes, dtype=dtype, device=target.device).index_add_(
        0, target, torch.ones_like(target, dtype=dtype)
    )


def scatter_sum(src: Tensor, index: Tensor, num_nodes: int) -> Tensor:
    """out[i] = sum of src[e] over the edges e with index[e] = i; src (E, ...) -> (N, ...); 0 where none.

    >>> scatter_sum(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([0, 0, 2]), 3).tolist()
    [3.0, 0.0, 4.0]
    """
    return src.new_zeros((num_nodes, *src.shape[1:])).index_add_(0, index, src)


def scatter_mean(src: Tensor, index: Tensor, num_nodes: int) -> Tensor:
    """out[i] = the mean of src[e] over the edges e with index[e] = i; 0 where none.

    >>> scatter_mean(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([0, 0, 2]), 3).tolist()
    [1.5, 0.0, 4.0]
    """
    count = in_degree(index, num_nodes, src.dtype).clamp_min(1.0)
    return scatter_sum(src, index, num_nodes) / count.view(-1, *([1] * (src.dim() - 1)))


def scatter_max(src: Tensor, index: Tensor, num_nodes: int) -> Tensor:
    """out[i] = the elementwise max of src[e] over the edges e with index[e] = i; 0 where none (as PyTorch
    Geometric). The gradient goes to the maximal entries (shared equally by ties).

    >>> scatter_max(torch.tensor([1.0, 2.0, -4.0]), torch.tensor([0, 0, 2]), 3).tolist()
    [2.0, 0.0, -4.0]
    """
    expanded = index.view(-1, *([1] * (src.dim() - 1))).expand_as(src)
    out = src.new_zeros((num_nodes, *src.shape[1:]))
    return out.scatter_reduce(0, expanded, src, reduce="amax", include_self=False)


def edge_softmax(scores: Tensor, index: Tensor, num_nodes: int) -> Tensor:
    """The softmax of ``scores`` (E, ...) over the edges that share a target (GAT's eq. 2)::

        alpha_e = exp(s_e - m_i) / sum_{e' : index[e'] = i} exp(s_e' - m_i),   i = index[e]

    m_i, the largest score at node i, keeps exp from overflowing and cancels out (so no gradient flows through it).

    >>> [round(a, 4) for a in edge_softmax(torch.tensor([1.0, 1.0, 0.0, 5.0]), torch.tensor([0, 0, 1, 1]), 2).tolist()]
    [0.5, 0.5, 0.0067, 0.9933]
    """
    m = scatter_max(scores.detach(), index, num_nodes)  # (N, ...)
    z = (scores - m.index_select(0, index)).exp()
    return z / scatter_sum(z, index, num_nodes).index_select(0, index)


class _SparseMatmul(torch.autograd.Function):
    """``A @ H`` for a constant sparse A, whose backward multiplies by the cached transpose (PyTorch's own
    backward transposes and re-sorts A on every call: four times slower on Cora)."""

    @staticmethod
    def forward(ctx, a: Tensor, a_t: Tensor, h: Tensor) -> Tensor:  # type: ignore[override]
        ctx.a_t = a_t
        return a @ h

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        return None, None, ctx.a_t @ grad.contiguous()


def _csr(rows: Tensor, cols: Tensor, values: Tensor, num_nodes: int) -> Tensor:
    """A sparse (N, N) matrix in compressed-sparse-row form, repeated (row, col) entries summed."""
    key = rows * num_nodes + cols
    unique, inverse = torch.unique(key, sorted=True, return_inverse=True)
    summed = values.new_zeros(unique.numel()).index_add_(0, inverse, values)
    r, c = unique // num_nodes, unique % num_nodes
    crow = torch.zeros(num_nodes + 1, dtype=torch.int64, device=rows.device)
    crow[1:] = torch.bincount(r, minlength=num_nodes).cumsum(0)
    with warnings.catch_warnings():  # "sparse CSR support is in beta": the product used here is long stable
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(crow, c, summed, (num_nodes, num_nodes))


def _normalized_entries(
    edge_index: Tensor, num_nodes: int, norm: str, self_loops: bool, dtype: torch.dtype
) -> tuple[Tensor, Tensor, Tensor]:
    """(rows, columns, values) of Â: one entry per edge j -> i at (i, j)."""
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {norm!r}")
    edges = add_self_loops(edge_index, num_nodes) if self_loops else edge_index
    source, target = edges[0], edges[1]
    weight = torch.ones(source.numel(), dtype=dtype, device=edges.device)
    if norm != "none":
        deg = in_degree(target, num_nodes, dtype)  # the row sums of A (+ I)
        if norm == "sym":
            inv = deg.pow(-0.5).masked_fill(deg == 0, 0.0)
            weight = inv[target] * inv[source]
        else:
            weight = deg.reciprocal().masked_fill(deg == 0, 0.0)[target]
    return target, source, weight


def normalized_adjacency(
    edge_index: Tensor,
    num_nodes: int,
    *,
    norm: str = "sym",
    self_loops: bool = True,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """The sparse (N, N) matrix Â of ``norm`` (see the module docstring): Â[i, j] for each edge j -> i, with
    ``self_loops`` the self-loops of A + I (existing ones replaced by one per node). Degrees count incoming edges;
    a node with none has an empty row. Repeated edges add up.

    >>> path = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])            # 0 - 1 - 2
    >>> normalized_adjacency(path, 3, norm="sym").to_dense()          # 1/sqrt(d_i d_j), d = (2, 3, 2)
    tensor([[0.5000, 0.4082, 0.0000],
            [0.4082, 0.3333, 0.4082],
            [0.0000, 0.4082, 0.5000]])
    >>> normalized_adjacency(path, 3, norm="row", self_loops=False).to_dense()   # the mean over N(i)
    tensor([[0.0000, 1.0000, 0.0000],
            [0.5000, 0.0000, 0.5000],
            [0.0000, 1.0000, 0.0000]])
    """
    rows, cols, values = _normalized_entries(edge_index, num_nodes, norm, self_loops, dtype)
    return _csr(rows, cols, values, num_nodes)


class _SparseLinear(torch.autograd.Function):
    """X W^T for a sparse X (no gradient) and a dense W: the gradient X^T G of W^T uses X's transposed layout."""

    @staticmethod
    def forward(ctx, x: Tensor, x_t: Tensor, weight: Tensor) -> Tensor:  # type: ignore[override]
        ctx.x_t = x_t
        return x @ weight.t().contiguous()

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        return None, None, (ctx.x_t @ grad.contiguous()).t()


class SparseFeatures:
    """Node features with few non-zeros, such as bag-of-words indicators (1.3% of Cora's 2,708 x 1,433 entries),
    kept as compressed sparse rows with their transposed layout.

    Two operations, both much cheaper than on the dense matrix: dropout of the stored entries, and the product
    with a layer's weights. Dropout that zeroes and rescales only the non-zero entries has the distribution of
    dropout on the dense matrix, whose zeros stay zero anyway (Kipf & Welling's ``sparse_dropout``); on Cora it
    draws 49,216 random numbers instead of 3.9 million, which is most of a dense epoch's time on a CPU.

    >>> x = SparseFeatures.from_dense(torch.tensor([[0.0, 2.0], [1.0, 0.0]]))
    >>> x.linear(torch.tensor([[1.0, 10.0]])).flatten().tolist()           # X W^T, W (1, 2)
    [20.0, 1.0]
    >>> x.dropout(0.5, training=False) is x
    True
    """

    def __init__(self, crow: Tensor, col: Tensor, values: Tensor, shape: tuple[int, int], t_crow, t_col, perm):
        self.crow, self.col, self.values, self.shape = crow, col, values, shape
        self.t_crow, self.t_col, self.perm = t_crow, t_col, perm  # X^T's layout; its values are values[perm]

    @classmethod
    def from_dense(cls, x: Tensor) -> SparseFeatures:
        rows, cols = x.nonzero(as_tuple=True)  # in row-major order: already sorted for CSR
        values = x[rows, cols]
        n, f = x.shape
        crow = torch.zeros(n + 1, dtype=torch.int64, device=x.device)
        crow[1:] = torch.bincount(rows, minlength=n).cumsum(0)
        perm = torch.argsort(cols * n + rows, stable=True)  # the entries in column-major order
        t_crow = torch.zeros(f + 1, dtype=torch.int64, device=x.device)
        t_crow[1:] = torch.bincount(cols, minlength=f).cumsum(0)
        return cls(crow, cols, values, (n, f), t_crow, rows[perm], perm)

    @property
    def dtype(self) -> torch.dtype:
        return self.values.dtype

    @property
    def device(self) -> torch.device:
        return self.values.device

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def _with_values(self, values: Tensor) -> SparseFeatures:
        return SparseFeatures(self.crow, self.col, values, self.shape, self.t_crow, self.t_col, self.perm)

    def dropout(self, p: float, training: bool = True) -> SparseFeatures:
        """Each stored entry zeroed with probability p, the others scaled by 1 / (1 - p)."""
        if not training or p == 0:
            return self
        return self._with_values(torch.nn.functional.dropout(self.values, p, True))

    def _csr(self, values: Tensor, transposed: bool) -> Tensor:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if transposed:
                return torch.sparse_csr_tensor(self.t_crow, self.t_col, values[self.perm], self.shape[::-1])
            return torch.sparse_csr_tensor(self.crow, self.col, values, self.shape)

    def linear(self, weight: Tensor, bias: Tensor | None = None) -> Tensor:
        """X W^T + b for W (out, F): dense (N, out), differentiable in W and b."""
        values = self.values.to(weight.dtype)
        out = _SparseLinear.apply(self._csr(values, False), self._csr(values, True), weight)
        return out if bias is None else out + bias

    def to_dense(self) -> Tensor:
        return self._csr(self.values, False).to_dense()

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> SparseFeatures:
        moved = [t.to(device) for t in (self.crow, self.col, self.t_crow, self.t_col, self.perm)]
        values = self.values.to(device=device, dtype=dtype)
        return SparseFeatures(moved[0], moved[1], values, self.shape, moved[2], moved[3], moved[4])


def as_dense(x: Tensor | SparseFeatures) -> Tensor:
    """The dense matrix of node features given either way."""
    return x.to_dense() if isinstance(x, SparseFeatures) else x


def linear(x: Tensor | SparseFeatures, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """X W^T + b for dense or sparse node features X."""
    return x.linear(weight, bias) if isinstance(x, SparseFeatures) else torch.nn.functional.linear(x, weight, bias)


def feature_dropout(x, p: float, training: bool):
    """Dropout of dense or sparse node features (see :class:`SparseFeatures`)."""
    if isinstance(x, SparseFeatures):
        return x.dropout(p, training)
    return torch.nn.functional.dropout(x, p, training)


class Graph:
    """The edges of a graph on ``num_nodes`` nodes, ordered by target, and what the layers derive from them
    (normalised adjacencies with their transposes, the edges with self-loops), each computed once and cached by
    (what, dtype, device). A model's ``forward(x, graph)`` reads it; :meth:`to` moves it with the features.

    >>> g = Graph(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), 3)
    >>> g.matmul(torch.ones(3, 1), norm="row").flatten().tolist()      # every row of D^-1 (A + I) sums to 1
    [1.0, 1.0, 1.0]
    """

    def __init__(self, edge_index: Tensor, num_nodes: int):
        if edge_index.dim() != 2 or edge_index.size(0) != 2:
            raise ValueError(f"edge_index must have shape (2, E), got {tuple(edge_index.shape)}")
        edge_index = edge_index.to(torch.int64)
        if edge_index.numel() and not (int(edge_index.min()) >= 0 and int(edge_index.max()) < num_nodes):
            raise ValueError(f"edge_index names nodes outside 0 .. {num_nodes - 1}")
        self.num_nodes = int(num_nodes)
        self.edge_index = sort_by_target(edge_index, self.num_nodes)
        self._cache: dict[tuple, object] = {}

    @property
    def source(self) -> Tensor:
        return self.edge_index[0]

    @property
    def target(self) -> Tensor:
        return self.edge_index[1]

    @property
    def num_edges(self) -> int:
        return self.edge_index.size(1)

    @property
    def device(self) -> torch.device:
        return self.edge_index.device

    def to(self, device: torch.device | str) -> Graph:
        """The same graph on ``device`` (itself when it is there already)."""
        if torch.device(device) == self.device:
            return self
        return Graph(self.edge_index.to(device), self.num_nodes)

    def with_self_loops(self) -> Graph:
        """The graph with one self-loop per node (and no others), cached."""
        key = ("self_loops",)
        if key not in self._cache:
            self._cache[key] = Graph(add_self_loops(self.edge_index, self.num_nodes), self.num_nodes)
        return self._cache[key]  # type: ignore[return-value]

    def adjacency(self, norm: str = "sym", self_loops: bool = True, dtype: torch.dtype = torch.float32):
        """(Â, Â^T) as sparse CSR matrices (see :func:`normalized_adjacency`), cached."""
        key = ("adjacency", norm, self_loops, dtype)
        if key not in self._cache:
            rows, cols, values = _normalized_entries(self.edge_index, self.num_nodes, norm, self_loops, dtype)
            n = self.num_nodes
            self._cache[key] = (_csr(rows, cols, values, n), _csr(cols, rows, values, n))
        return self._cache[key]

    def matmul(self, h: Tensor, norm: str = "sym", self_loops: bool = True) -> Tensor:
        """Â @ h for h (N, F): each node's normalised sum over its in-neighbours (and itself with ``self_loops``)."""
        a, a_t = self.adjacency(norm, self_loops, h.dtype)
        return _SparseMatmul.apply(a, a_t, h.contiguous())

    def __repr__(self) -> str:
        return f"Graph(num_nodes={self.num_nodes}, num_edges={self.num_edges})"


__all__ = [
    "NORMS",
    "Graph",
    "SparseFeatures",
    "as_dense",
    "feature_dropout",
    "linear",
    "add_self_loops",
    "edge_softmax",
    "in_degree",
    "normalized_adjacency",
    "remove_self_loops",
    "scatter_max",
    "scatter_mean",
    "scatter_sum",
    "sort_by_target",
]
