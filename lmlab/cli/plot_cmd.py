"""``lmlab plot RUN``: a PNG of a neural run's training and validation curves (from ``RUN/metrics.jsonl``)."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser(
        "plot",
        help="plot a run's training and validation curves as a PNG",
        description="Train and validation perplexity against the step, from RUN/metrics.jsonl (it may still be "
        "growing: plotting a run in progress is fine).",
    )
    p.add_argument("run", metavar="RUN", help="run directory of a neural model")
    p.add_argument("--out", metavar="FILE.png", help="where to write the figure (default: RUN/curves.png)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lmlab.train.plot import plot_run

    print(plot_run(args.run, args.out))
    return 0
