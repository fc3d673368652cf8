"""A classifier's attention over the words of a text, drawn as the words shaded by their weight (PNG or HTML).

Each hop of attention is one row of words; a word's background is darker the more weight it gets, and the weight
is printed under it. The HTML form is a self-contained page (inline styles, no scripts), the picture of Yang et
al. 2016's figures.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from lmlab.io import atomic_open


def _shade(w: float) -> str:
    """Background colour for weight ``w`` in [0, 1]: white to a strong red.

    >>> _shade(0.0), _shade(1.0)
    ('rgb(255, 255, 255)', 'rgb(220, 40, 40)')
    """
    w = float(np.clip(w, 0.0, 1.0))
    r, g, b = 255 - 35 * w, 255 - 215 * w, 255 - 215 * w
    return f"rgb({round(r)}, {round(g)}, {round(b)})"


def attention_html(words: list[str], weights: np.ndarray, title: str) -> str:
    """A page with one line of shaded words per attention hop; each hop's weights scaled by their maximum."""
    rows = []
    for h, w in enumerate(np.atleast_2d(weights)):
        top = float(w.max()) or 1.0
        cells = "".join(
            f'<span title="{wt:.4f}" style="background:{_shade(wt / top)};padding:2px 3px;margin:1px;'
            f'display:inline-block;border-radius:3px">{html.escape(word)}<br><small>{wt:.3f}</small></span>'
            for word, wt in zip(words, w)
        )
        rows.append(f"<p><b>hop {h + 1}</b><br>{cells}</p>")
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>attention</title></head>'
        f'<body style="font-family:sans-serif"><h3>{html.escape(title)}</h3>{"".join(rows)}</body></html>\n'
    )


def draw_word_attention(words: list[str], weights: np.ndarray, out: str | Path, *, title: str = "") -> None:
    """Write the words shaded by ``weights`` (hops, T) to ``out`` (.html, or .png through matplotlib)."""
    out = Path(out)
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    if out.suffix.lower() in (".html", ".htm"):
        with atomic_open(out) as f:
            f.write(attention_html(words, weights, title))
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hops, T = weights.shape
    per_row = 12  # words per line of the picture
    lines = -(-T // per_row)
    fig, ax = plt.subplots(figsize=(min(1.05 * min(T, per_row) + 1, 14), 0.75 * hops * lines + 0.9), dpi=120)
    ax.axis("off")
    ax.set_xlim(0, per_row)
    ax.set_ylim(hops * lines, 0)
    for h in range(hops):
        top = float(weights[h].max()) or 1.0
        for t, (word, wt) in enumerate(zip(words, weights[h])):
            row, col = h * lines + t // per_row, t % per_row
            colour = [float(c) / 255 for c in _shade(wt / top)[4:-1].split(",")]
            ax.add_patch(plt.Rectangle((col + 0.03, row + 0.08), 0.94, 0.84, color=colour))
            ax.text(col + 0.5, row + 0.42, word, ha="center", va="center", fontsize=8)
            ax.text(col + 0.5, row + 0.75, f"{wt:.2f}", ha="center", va="center", fontsize=6, color="0.3")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    with atomic_open(out, "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)


__all__ = ["attention_html", "draw_word_attention"]
