"""``lmlab attention``: draw a model's attention weights on a text: every layer and head of a Transformer language
model as heatmaps; a classifier's weights as the words shaded (PNG or HTML)."""

from __future__ import annotations

import argparse
from pathlib import Path

from lmlab.errors import LmlabError
from lmlab.lm.run import is_arpa_file, load_model
from lmlab.runconfig import read_run_config
from lmlab.tasks import task_of_run

#: The most positions (tokens, </s> included) drawn: each panel is 0.28 inch a position, side by side per head
MAX_POSITIONS = 128


def register(sub) -> None:
    p = sub.add_parser("attention", help="draw a model's attention weights on a text (PNG, or HTML for classifiers)")
    p.add_argument("run", metavar="RUN", help="run directory of an attention model")
    p.add_argument("--text", required=True, help="the text to read (a language model sees </s> before it)")
    p.add_argument("--out", required=True, metavar="FILE.png", help="a .png file (classifiers: .png or .html)")
    p.set_defaults(func=run)


def plot_attention(weights, labels: list[str], out: Path, title: str) -> None:
    """weights: one (n_head, T, T) tensor per layer; a grid of layers (rows) by heads (columns)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lmlab.io import atomic_open

    n_layer, n_head = len(weights), weights[0].size(0)
    T = len(labels)
    size = max(2.0, 0.28 * T + 1)
    fig, axes = plt.subplots(n_layer, n_head, figsize=(size * n_head, size * n_layer), squeeze=False)
    for layer, w in enumerate(weights):
        for head in range(n_head):
            ax = axes[layer][head]
            ax.imshow(w[head].numpy(), cmap="viridis", vmin=0.0, vmax=1.0)
            ax.set_title(f"layer {layer + 1}, head {head + 1}", fontsize=8)
            ax.set_xticks(range(T), labels, rotation=90, fontsize=6)
            ax.set_yticks(range(T), labels, fontsize=6)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic_open(out, "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    path = Path(args.run)
    if path.is_dir() and not is_arpa_file(path):
        return task_of_run(read_run_config(path)).cli_module().attention(args)
    return attention_lm(args)


def attention_lm(args: argparse.Namespace) -> int:
    model, _ = load_model(args.run)
    attention = getattr(model, "attention_weights", None)
    if attention is None:
        raise LmlabError(f"a {model.family} model has no attention weights to draw; use a transformer run")
    tok = model.tokenizer
    ids = tok.encode(args.text)
    if not ids:
        raise LmlabError("--text has no tokens")
    weights = attention(ids)
    T = weights[0].size(-1)
    if T > MAX_POSITIONS:  # a panel grows with T: past this, the figure is too large to draw or read
        raise LmlabError(
            f"--text reads as {T} positions; the attention plot draws at most {MAX_POSITIONS}: give a shorter text"
        )
    shown = [tok.eos_id, *ids][-T:]
    labels = [repr(tok.id_to_token(i))[1:-1] for i in shown]
    plot_attention(weights, labels, Path(args.out), f"{args.run}: {args.text[:60]}")
    print(f"wrote {args.out} ({len(weights)} layers x {weights[0].size(0)} heads, {T} positions)")
    return 0
