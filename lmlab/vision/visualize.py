"""Pictures of what a trained image network computes: its first layer's filters, and the maps each stage makes
of one image (``lmlab plot RUN --filters`` / ``--feature-maps --image FILE.png``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from torch import Tensor

from lmlab.io import atomic_open

MAX_FILTERS = 64  # filters drawn (the first ones)
MAX_MAPS = 16  # channels drawn per stage


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, out: str | Path) -> Path:
    out = Path(out)
    with atomic_open(out, "wb") as f:
        fig.savefig(f, format="png")
    return out


def filter_image(w: np.ndarray) -> tuple[np.ndarray, str | None]:
    """One filter (C, K_h, K_w) as a picture: grey (a diverging colour map, 0 in the middle) for one channel, the
    channels as colours (scaled to [0, 1]) for three.

    >>> img, cmap = filter_image(np.array([[[-1.0, 2.0]]]))
    >>> img.tolist(), cmap
    ([[-0.5, 1.0]], 'RdBu_r')
    """
    if w.shape[0] == 3:
        lo, hi = w.min(), w.max()
        return ((w - lo) / (hi - lo if hi > lo else 1.0)).transpose(1, 2, 0), None
    m = w[0] if w.shape[0] == 1 else w.mean(axis=0)
    scale = np.abs(m).max() or 1.0
    return m / scale, "RdBu_r"


def plot_filters(weights: Tensor, out: str | Path, *, title: str) -> Path:
    w = weights.detach().float().cpu().numpy()[:MAX_FILTERS]
    n = w.shape[0]
    cols = min(8, n)
    rows = -(-n // cols)
    plt = _figure()
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.3 * rows + 0.6), dpi=110, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, ax in enumerate(axes.flat[:n]):
        img, cmap = filter_image(w[i])
        ax.imshow(img, cmap=cmap, vmin=-1 if cmap else None, vmax=1 if cmap else None, interpolation="nearest")
        ax.set_title(str(i), fontsize=6)
    shown = "" if weights.shape[0] <= MAX_FILTERS else f" (the first {MAX_FILTERS} of {weights.shape[0]})"
    fig.suptitle(title + shown, fontsize=9)
    fig.tight_layout()
    path = _save(fig, out)
    plt.close(fig)
    return path


def plot_feature_maps(image: np.ndarray, maps: Sequence[tuple[str, Tensor]], out: str | Path, *, title: str) -> Path:
    """The input image, then one row per stage with its first channels (each scaled to its own range)."""
    cols = max(2, min(MAX_MAPS, max((m.shape[0] for _, m in maps), default=1)))
    rows = 1 + len(maps)
    plt = _figure()
    fig, axes = plt.subplots(rows, cols, figsize=(1.1 * cols, 1.2 * rows + 0.6), dpi=110, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    shown = image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)
    axes[0][0].imshow(shown, cmap="gray" if image.shape[0] == 1 else None)
    axes[0][0].set_title("input", fontsize=7)
    strips = []
    for r, (name, m) in enumerate(maps, start=1):
        a = m.detach().float().cpu().numpy()
        if a.shape[1:] == (1, 1):  # one value per channel (LeNet's C5): the values as a strip
            ax = axes[r][0]
            ax.imshow(a.reshape(1, -1), cmap="viridis", aspect="auto", interpolation="nearest")
            strips.append(ax)
            ax.set_title(f"{name} ({a.shape[0]} values)", fontsize=7, loc="left")
            continue
        for c in range(min(cols, a.shape[0])):
            ax = axes[r][c]
            ax.imshow(a[c], cmap="viridis", interpolation="nearest")
            if c == 0:
                ax.set_title(f"{name} ({a.shape[0]}x{a.shape[1]}x{a.shape[2]})", fontsize=7, loc="left")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    for ax in strips:  # widen each strip across the row, once the grid is laid out
        box = ax.get_position()
        ax.set_position([box.x0, box.y0, axes[0][-1].get_position().x1 - box.x0, box.height])
    path = _save(fig, out)
    plt.close(fig)
    return path


__all__ = ["filter_image", "plot_feature_maps", "plot_filters"]
