"""Pictures of a trained node classifier: its node representations in 2-D, and a node's attention weights.

The 2-D projection is PCA (always available: the two directions of largest variance, from the SVD of the centred
matrix) or t-SNE (scikit-learn, an optional extra), which keeps neighbourhoods rather than distances and so shows
clusters better, at the price of axes that mean nothing.

References: Pearson 1901 / Hotelling 1933 (principal components); van der Maaten & Hinton 2008, "Visualizing Data
using t-SNE" (Kipf & Welling's Figure 1 and Veličković et al.'s Figure 2 draw Cora's hidden layer with it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lmlab.errors import LmlabError
from lmlab.io import atomic_open

PROJECTIONS = ("pca", "tsne")


def pca_2d(h: np.ndarray) -> np.ndarray:
    """The rows of h (N, D) on its first two principal axes (N, 2); a missing axis (D = 1, or no variance) is 0.

    The sign of each axis is fixed (its largest coordinate positive), so the same matrix gives the same picture.

    >>> pca_2d(np.array([[0.0, 0.0], [2.0, 0.0], [4.0, 0.0]])).round(6).tolist()
    [[-2.0, 0.0], [0.0, 0.0], [2.0, 0.0]]
    """
    centred = h - h.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    out = np.zeros((h.shape[0], 2))
    k = min(2, vt.shape[0])
    axes = vt[:k]
    signs = np.sign(axes[np.arange(k), np.abs(axes).argmax(axis=1)])
    out[:, :k] = centred @ (axes * signs[:, None]).T
    return out


def project_2d(h: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """h (N, D) in 2-D by ``pca`` or ``tsne`` (scikit-learn)."""
    if method not in PROJECTIONS:
        raise LmlabError(f"--projection must be one of {', '.join(PROJECTIONS)}, got {method!r}")
    if method == "pca":
        return pca_2d(h)
    try:
        from sklearn.manifold import TSNE
    except ImportError:
        raise LmlabError("--projection tsne needs scikit-learn (pip install scikit-learn); or use pca") from None
    perplexity = float(min(30.0, max(2.0, (h.shape[0] - 1) / 3)))
    return TSNE(n_components=2, init="pca", random_state=seed, perplexity=perplexity).fit_transform(h)


def plot_node_embeddings(
    h: np.ndarray, data: Any, split: Any, out: str | Path, *, method: str = "pca", seed: int = 0, title: str = ""
) -> str:
    """Draw every node of ``data`` at its 2-D projection, coloured by its class, training nodes ringed; returns
    the projection's name."""
    xy = project_2d(np.asarray(h, dtype=np.float64), method, seed)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 7), dpi=120)
    cmap = plt.get_cmap("tab10" if len(data.classes) <= 10 else "tab20")
    for c, name in enumerate(data.classes):
        mine = data.labels == c
        ax.scatter(xy[mine, 0], xy[mine, 1], s=6, color=cmap(c % cmap.N), label=f"{name} ({int(mine.sum()):,})",
                   alpha=0.8, linewidths=0)  # fmt: skip
    if split is not None and split.train.size:
        t = split.train
        ax.scatter(xy[t, 0], xy[t, 1], s=28, facecolors="none", edgecolors="black", linewidths=0.8,
                   label=f"training nodes ({t.size:,})")  # fmt: skip
    ax.set_title(f"{title} ({method.upper() if method == 'pca' else 't-SNE'})", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=7, markerscale=2, loc="best")
    fig.tight_layout()
    with atomic_open(Path(out), "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return "PCA" if method == "pca" else "t-SNE"


def node_attention(
    layers: list[tuple[np.ndarray, np.ndarray]], node: int, max_rows: int
) -> tuple[np.ndarray, list[np.ndarray], int]:
    """How much ``node`` reads itself and each in-neighbour in every layer: the sources (S,) in index order, each
    layer's weights (S, heads), and the number of in-neighbours, itself included. A node with more than
    ``max_rows`` keeps those with the largest mean weight over the heads of the first layer.

    ``layers``: each layer's (edges (2, E), alpha (E, heads)), edge e reading from ``edges[0, e]`` into
    ``edges[1, e]``. Here node 1 reads node 0 (0.25) and itself (0.75):

    >>> edges = np.array([[1, 0, 0], [1, 1, 0]])
    >>> sources, alphas, total = node_attention([(edges, np.array([[0.75], [0.25], [1.0]]))], 1, 10)
    >>> sources.tolist(), alphas[0].tolist(), total
    ([0, 1], [[0.25], [0.75]], 2)
    """
    rows = []
    for edges, alpha in layers:
        mine = np.flatnonzero(edges[1] == node)
        order = mine[np.argsort(edges[0][mine], kind="stable")]  # every layer reads the same sources: one order
        rows.append((edges[0][order], alpha[order]))
    total = rows[0][0].size
    if total > max_rows:
        keep = np.sort(np.argsort(-rows[0][1].mean(axis=1), kind="stable")[:max_rows])
        rows = [(sources[keep], alpha[keep]) for sources, alpha in rows]
    return rows[0][0], [alpha for _, alpha in rows], total


def draw_node_attention(attention: dict[str, Any], title: str, out: str | Path) -> None:
    """A heat map per layer of how much a node reads itself and each in-neighbour (rows) in each head (columns),
    from the ``attention`` view of :meth:`lmlab.graph.api.GraphRun.explain` (its ``sources``, their
    ``source_labels``, each layer's (sources, heads) weights and the ``total`` of in-neighbours)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    alphas = [np.asarray(a, dtype=np.float64) for a in attention["layers"]]
    sources, total = attention["sources"], attention["total"]
    labels = [f"{node}: {label}" for node, label in zip(sources, attention["source_labels"])]
    height = max(2.5, 0.3 * len(sources) + 1.5)
    fig, axes = plt.subplots(1, len(alphas), figsize=(3 + 2.2 * len(alphas) + 0.3 * max(a.shape[1] for a in alphas),
                                                      height), squeeze=False)  # fmt: skip
    for i, alpha in enumerate(alphas):
        ax = axes[0][i]
        ax.imshow(alpha, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_title(f"layer {i + 1}", fontsize=9)
        ax.set_xticks(range(alpha.shape[1]), [str(k + 1) for k in range(alpha.shape[1])], fontsize=7)
        ax.set_xlabel("head", fontsize=8)
        ax.set_yticks(range(len(labels)), labels if i == 0 else [""] * len(labels), fontsize=7)
        for r in range(alpha.shape[0]):
            for k in range(alpha.shape[1]):
                ax.text(k, r, f"{alpha[r, k]:.2f}", ha="center", va="center", fontsize=6, color="white")
    shown = f" ({len(sources)} of {total} with the largest weights)" if total > len(sources) else ""
    fig.suptitle(f"{title}: attention over its neighbours{shown}", fontsize=9)
    fig.tight_layout()
    with atomic_open(Path(out), "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)


__all__ = ["PROJECTIONS", "draw_node_attention", "node_attention", "pca_2d", "plot_node_embeddings", "project_2d"]
