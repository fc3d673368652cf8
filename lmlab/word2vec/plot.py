"""Word vectors in two dimensions: the chosen words projected on their first two principal components."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lmlab.errors import LmlabError
from lmlab.io import atomic_open
from lmlab.word2vec.vectors import WordVectors


def pca_2d(x: np.ndarray) -> np.ndarray:
    """The rows of ``x`` centred and projected on their first two principal axes (by SVD), ``(N, 2)``.

    >>> pca_2d(np.array([[0.0, 0.0, 1.0], [2.0, 0.0, 1.0], [4.0, 0.0, 1.0]])).round(6).tolist()
    [[-2.0, 0.0], [0.0, 0.0], [2.0, 0.0]]
    """
    x = np.asarray(x, dtype=np.float64)
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:2]
    axes *= np.where(axes.sum(axis=1, keepdims=True) < 0, -1.0, 1.0)  # a fixed sign, so a rerun draws the same
    out = centred @ axes.T
    return out if out.shape[1] == 2 else np.pad(out, ((0, 0), (0, 2 - out.shape[1])))


def plot_words(wv: WordVectors, words: Sequence[str], out: str | Path) -> tuple[list[str], list[str]]:
    """Draw ``words`` (those in the vocabulary) as labelled points of their 2-D PCA projection into the PNG
    ``out``; returns the words drawn and the ones left out."""
    shown = [w for w in dict.fromkeys(words) if w in wv]
    missing = [w for w in dict.fromkeys(words) if w not in wv]
    if len(shown) < 2:
        raise LmlabError(
            f"--words needs at least two words of the vocabulary; found {len(shown)}"
            + (f" (not in it: {', '.join(missing[:10])})" if missing else "")
        )
    points = pca_2d(np.stack([wv[w] for w in shown]))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 6), dpi=120)
    ax.scatter(points[:, 0], points[:, 1], s=18)
    for (x, y), word in zip(points, shown):
        ax.annotate(word, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=9)
    ax.set_xlabel("principal component 1")
    ax.set_ylabel("principal component 2")
    ax.set_title(f"{len(shown)} word vectors, PCA")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    with atomic_open(out, "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return shown, missing


__all__ = ["pca_2d", "plot_words"]
