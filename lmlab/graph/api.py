"""``lmlab.load`` for node classifiers (task ``graph``): a node's class, and what the model reads to give it.

::

    m = lmlab.load("runs/gat")
    m.predict(["31336", 1061127])     # node ids as written in the data (a number is read as its digits)
    m.predict([0, 5], by_index=True)  # or the nodes' positions in the graph
    m.explain("31336")                # GAT's attention over its neighbours, and every node's representation in 2-D

Loading reads the run's graph again (``data.spec`` in its ``config.json``) and makes the run's split of it, as
``lmlab eval`` does: a node classifier is transductive, its predictions depend on the whole graph. The
predictions are those of :func:`lmlab.graph.task.evaluate_nodes`, computed once for all the nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lmlab.api import TrainedRun, bounded_int, inputs_list, json_ready
from lmlab.errors import LmlabError
from lmlab.graph.visualize import node_attention, pca_2d

MAX_NEIGHBOURS = 50  # neighbour ids listed per node by default
MAX_POINTS = 5_000  # nodes drawn in the 2-D projection by default (Cora has 2,708; PubMed 19,717)
LIMIT = 100_000  # the most neighbours or points a caller may ask for


class GraphRun(TrainedRun):
    """A trained node classifier with its graph and split (see the module docstring)."""

    task = "graph"
    inputs = "node"

    def __init__(self, path: str | Path, config: dict[str, Any], model: Any, data: Any, split: Any):
        super().__init__(path, config)
        self.model, self.data, self.split = model, data, split
        self.classes = list(model.classes)
        if list(data.classes) != self.classes:
            raise LmlabError(
                f"{data.name}'s classes ({', '.join(data.classes)}) are not the model's ({', '.join(self.classes)})"
            )
        self._index = {node_id: i for i, node_id in enumerate(data.ids)}
        self._part = np.full(data.num_nodes, "none", dtype=object)
        for part in ("train", "valid", "test"):
            self._part[split.nodes(part)] = part
        # in-neighbours of node i: sources[indptr[i]:indptr[i + 1]], in index order (each edge is listed both ways)
        order = np.lexsort((data.edges[0], data.edges[1]))
        self._sources = data.edges[0][order]
        self._indptr = np.concatenate([[0], np.cumsum(np.bincount(data.edges[1], minlength=data.num_nodes))])
        self._probs: np.ndarray | None = None
        self._points: tuple[np.ndarray, int] | None = None  # every node in 2-D, and the dimension projected

    # ---- inputs
    def node_index(self, node: Any, by_index: bool = False) -> int:
        """The position of ``node`` in the graph: an id as written in the data (a number is read as its digits),
        or with ``by_index`` a position itself; anything else is one LmlabError line naming it."""
        n = self.data.num_nodes
        if by_index:
            return bounded_int(int(node) if isinstance(node, np.integer) else node, "a node index", 0, n - 1)
        if isinstance(node, (int, np.integer)) and not isinstance(node, bool):
            node = str(int(node))
        if not isinstance(node, str):
            raise LmlabError(f"a node id must be a string or an integer, got {type(node).__name__}")
        if node not in self._index:
            raise LmlabError(
                f"{node!r} is not a node id of {self.data.name} (ids as written in the data, such as "
                f"{self.data.ids[0]!r}; or pass by_index=True with a position from 0 to {n - 1:,})"
            )
        return self._index[node]

    def probabilities(self) -> np.ndarray:
        """Every node's class probabilities (N, C): the softmax of the model's logits over the whole graph."""
        if self._probs is None:
            z = self.model.logits(self.data, self.split)
            self._probs = np.exp(z - np.logaddexp.reduce(z, axis=1, keepdims=True))
        return self._probs

    def neighbours(self, i: int) -> np.ndarray:
        """The nodes with an edge to node ``i``, in index order."""
        return self._sources[self._indptr[i] : self._indptr[i + 1]]

    # ---- the verbs
    def predict(
        self, inputs: Sequence[Any], *, by_index: bool = False, max_neighbours: int = MAX_NEIGHBOURS
    ) -> list[dict[str, Any]]:
        """Per node: the predicted ``label`` and its ``probability``, every class's ``probabilities``, the
        ``true_label``, the ``split`` part it is in (train / valid / test / none) and up to ``max_neighbours``
        ``neighbours`` (ids; ``degree`` counts them all)."""
        bounded_int(max_neighbours, "max_neighbours", 0, LIMIT)
        nodes = [self.node_index(node, by_index) for node in inputs_list(inputs, "node ids")]
        return [self._prediction(i, max_neighbours) for i in nodes]

    def _prediction(self, i: int, max_neighbours: int) -> dict[str, Any]:
        p = self.probabilities()[i]
        best = int(p.argmax())
        around = self.neighbours(i)
        return json_ready(
            {
                "node": self.data.ids[i],
                "index": i,
                "label": self.classes[best],
                "probability": float(p[best]),
                "probabilities": {c: float(q) for c, q in zip(self.classes, p)},
                "true_label": self.classes[int(self.data.labels[i])],
                "split": self._part[i],
                "degree": int(around.size),
                "neighbours": [self.data.ids[j] for j in around[:max_neighbours]],
            }
        )

    def explain(
        self,
        one_input: Any,
        *,
        by_index: bool = False,
        max_neighbours: int = MAX_NEIGHBOURS,
        max_points: int = MAX_POINTS,
    ) -> dict[str, Any]:
        """The node's prediction; ``attention``: how much it reads itself and each neighbour in every layer and
        head (attention models; None otherwise, with a ``note``); ``embeddings``: the node representations the
        output layer reads, projected to 2-D by PCA, for up to ``max_points`` nodes (this one always among them)."""
        bounded_int(max_neighbours, "max_neighbours", 1, LIMIT)
        bounded_int(max_points, "max_points", 1, LIMIT)
        i = self.node_index(one_input, by_index)
        out: dict[str, Any] = {"prediction": self._prediction(i, max_neighbours)}
        out["attention"] = self._attention(i, max_neighbours)
        if out["attention"] is None:
            out["note"] = f"a {self.family} model has no attention weights (gat has)"
        out["embeddings"] = self._embeddings(i, max_points)
        return json_ready(out)

    def _attention(self, i: int, max_rows: int) -> dict[str, Any] | None:
        layers = self.model.attention(self.data)
        if layers is None:
            return None
        sources, alphas, total = node_attention(layers, i, max_rows)
        return {
            "sources": [self.data.ids[j] for j in sources],  # the node itself among them (the self-loop)
            "source_labels": [self.classes[int(self.data.labels[j])] for j in sources],
            "total": total,  # in-neighbours, itself included; those shown have the largest weights in layer 1
            "heads": [int(a.shape[1]) for a in alphas],
            "layers": alphas,  # per layer (sources, heads): each head's weights sum to 1 over all
            "mean": [a.mean(axis=1) for a in alphas],  # per layer (sources,): the mean over the heads
        }

    def _embeddings(self, i: int, max_points: int) -> dict[str, Any]:
        if self._points is None:
            hidden = np.asarray(self.model.embeddings(self.data, self.split), dtype=np.float64)
            self._points = pca_2d(hidden), int(hidden.shape[1])
        xy, dim = self._points
        n = self.data.num_nodes
        if n <= max_points:
            shown = np.arange(n)
        else:  # a fixed sample, the same for every node asked about, and this node
            sample = np.random.default_rng(0).choice(n, size=max_points, replace=False)
            shown = np.sort(np.concatenate([sample[sample != i][: max_points - 1], [i]]))
        return {
            "method": "PCA",
            "dimensions": dim,  # of the representations projected
            "total": n,
            "ids": [self.data.ids[j] for j in shown],
            "labels": [self.classes[int(c)] for c in self.data.labels[shown]],
            "points": xy[shown],  # (shown, 2)
            "node": xy[i],
        }

    def num_parameters(self) -> int:
        return int(self.model.num_parameters())

    def describe(self) -> dict[str, Any]:
        graph = {"name": self.data.name, "nodes": self.data.num_nodes, "edges": self.data.counts.edges,
                 "features": self.data.num_features}  # fmt: skip
        extra = {"classes": self.classes, "graph": graph, "split": self.split.describe()}
        return super().describe() | json_ready(extra)


def load_run(path: str | Path) -> GraphRun:
    """The trained node classifier of the run at ``path``, with its graph and split read again."""
    from lmlab.graph.data import run_graph_data
    from lmlab.graph.task import load_graph_run

    model, cfg = load_graph_run(path)
    data, split = run_graph_data(cfg, str(Path(path) / "config.json"))
    return GraphRun(path, cfg, model, data, split)


__all__ = ["GraphRun", "load_run"]
