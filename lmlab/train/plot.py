"""Training and validation curves of a run as a PNG (``lmlab plot RUN`` or ``lmlab train ... --plot``)."""

from __future__ import annotations

import math
from pathlib import Path

from lmlab.errors import LmlabError
from lmlab.io import atomic_open
from lmlab.train.metrics import read_metrics


def plot_run(run: str | Path, out: str | Path | None = None) -> Path:
    """Plot ``RUN/metrics.jsonl`` against the step; returns the PNG.

    The first panel is the loss of training and validation, drawn as perplexity (log scale) for a run that logs
    perplexity (language models); a second panel shows the other validation metrics a task logs (accuracy,
    macro-F1), with the best value marked.
    """
    run = Path(run)
    path = run / "metrics.jsonl"
    if not path.is_file():
        raise LmlabError(f"{run} has no metrics.jsonl (only runs trained by the engine log training curves)")
    rows = read_metrics(path)
    train = [(r["step"], r["train_loss"]) for r in rows if r.get("train_loss") is not None]
    valid = [(r["step"], r["val_loss"]) for r in rows if r.get("val_loss") is not None]
    if not train and not valid:
        raise LmlabError(f"{path} has no training or validation rows to plot yet")
    as_perplexity = any("val_perplexity" in r or "train_perplexity" in r for r in rows)
    others = sorted({k for r in rows for k in r if k.startswith("val_") and k not in ("val_loss", "val_perplexity")})

    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    panels = 2 if others else 1
    fig, axes = plt.subplots(1, panels, figsize=(7 * panels, 4.5), dpi=120, squeeze=False)
    ax = axes[0][0]
    shown = (lambda v: math.exp(min(v, 50))) if as_perplexity else (lambda v: v)
    if train:
        ax.plot([s for s, _ in train], [shown(v) for _, v in train], label="train", lw=1.2)
    if valid:
        ax.plot([s for s, _ in valid], [shown(v) for _, v in valid], "o-", label="validation", lw=1.5, ms=3)
        best_step, best = min(valid, key=lambda sv: sv[1])
        ax.annotate(f"best {shown(best):.{2 if as_perplexity else 4}f}", (best_step, shown(best)),
                    textcoords="offset points", xytext=(0, 8), ha="center", fontsize=8)  # fmt: skip
    if as_perplexity:
        ax.set_yscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")  # 20, not 2 x 10^1
        ax.yaxis.set_major_formatter(plain)
        low, high = ax.get_ylim()
        if high / low < 10:  # less than a decade: label the minor ticks too
            ax.yaxis.set_minor_formatter(plain)
    ax.set_xlabel("step (updates)")
    ax.set_ylabel("perplexity" if as_perplexity else "loss (nats)")
    ax.set_title(run.resolve().name)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    if others:
        ax = axes[0][1]
        for key in others:
            points = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
            if not points:
                continue
            ax.plot([s for s, _ in points], [v for _, v in points], "o-", label=key.removeprefix("val_"), ms=3)
            best_step, best = max(points, key=lambda sv: sv[1])
            ax.annotate(f"{best:.4g}", (best_step, best), textcoords="offset points", xytext=(0, 8), ha="center",
                        fontsize=8)  # fmt: skip
        ax.set_xlabel("step (updates)")
        ax.set_ylabel("validation")
        ax.set_title("validation metrics")
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    out = Path(out) if out is not None else run / "curves.png"
    # a temporary name made afresh (a fixed one could be a planted link), renamed over a link rather than through it
    with atomic_open(out, "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return out


__all__ = ["plot_run"]
