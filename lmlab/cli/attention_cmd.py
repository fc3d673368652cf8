"""``lmlab attention``: draw a model's attention weights on a text: every layer and head of a Transformer language
model as heatmaps; a classifier's weights as the words shaded (PNG or HTML)."""

from __future__ import annotations

import argparse

from lmlab.errors import LmlabError


def register(sub) -> None:
    p = sub.add_parser("attention", help="draw a model's attention weights on a text (PNG, or HTML for classifiers)")
    p.add_argument("run", metavar="RUN", help="run directory of an attention model")
    p.add_argument("--text", required=True, help="the text to read (a language model sees </s> before it)")
    p.add_argument("--out", required=True, metavar="FILE.png", help="a .png file (classifiers: .png or .html)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the run through :func:`lmlab.load`; its task's ``attention(run, args)`` draws ``run.explain(text)``."""
    import lmlab
    from lmlab.tasks import get_task

    model = lmlab.load(args.run)
    draw = get_task(model.task).verb("attention")
    if draw is None:
        raise LmlabError(f"{args.run}: a {model.task} run has no attention weights to draw")
    return draw(model, args)
