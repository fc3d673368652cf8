"""Alignment matrices: how much each target token attended to each source token, drawn as heatmaps.

Rows are the translation's tokens (``</s>`` last), columns the source's; each row sums to one over the source.
An RNN attention model has one matrix (Bahdanau et al.'s figure 3). A Transformer has one per cross-attention
layer and head; they are drawn in a grid, layers down and heads across, with their mean, the usual summary of
where the decoder looks, beside them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lmlab.errors import LmlabError
from lmlab.io import atomic_open


def alignment_panels(weights: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The matrices to draw from weights (L, h, T, S): each layer's heads, then the mean over all of them (only
    one panel when L = h = 1).

    >>> [name for name, _ in alignment_panels(np.ones((2, 2, 3, 4)) / 4)]
    ['layer 1, head 1', 'layer 1, head 2', 'layer 2, head 1', 'layer 2, head 2', 'mean of 2 layers x 2 heads']
    """
    L, h = weights.shape[:2]
    if L == 1 and h == 1:
        return [("alignment", weights[0, 0])]
    panels = [(f"layer {layer + 1}, head {head + 1}", weights[layer, head]) for layer in range(L) for head in range(h)]
    return [*panels, (f"mean of {L} layers x {h} heads", weights.mean(axis=(0, 1)))]


def plot_alignment(weights: np.ndarray, src: list[str], tgt: list[str], out: str | Path, title: str) -> int:
    """Write the alignment panels of ``weights`` (L, h, T, S) as one PNG; returns the number of panels."""
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise LmlabError(f"--out must end in .png, got {str(out)!r}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = alignment_panels(weights)
    L, h = weights.shape[:2]
    cols = 1 if len(panels) == 1 else h + 1  # each layer's heads, the mean in the last column
    rows = 1 if len(panels) == 1 else L
    T, S = len(tgt), len(src)
    cell = 0.32
    fig, axes = plt.subplots(
        rows, cols, figsize=(max(3.0, cell * S + 1.5) * cols, max(2.5, cell * T + 1.5) * rows), squeeze=False
    )
    for ax in axes.flat:
        ax.axis("off")
    places = [(r, c) for r in range(rows) for c in range(cols - 1 if cols > 1 else 1)]
    places = places[: len(panels) - (1 if cols > 1 else 0)] + ([(0, cols - 1)] if cols > 1 else [])
    for (r, c), (name, matrix) in zip(places, panels):
        ax = axes[r][c]
        ax.axis("on")
        ax.imshow(matrix, cmap="Greys", vmin=0.0, vmax=1.0, aspect="auto")
        ax.set_title(name, fontsize=8)
        ax.set_xticks(range(S), src, rotation=90, fontsize=7)
        ax.set_yticks(range(T), tgt, fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    with atomic_open(out, "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)
    return len(panels)


__all__ = ["alignment_panels", "plot_alignment"]
