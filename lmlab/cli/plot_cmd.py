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
    p.add_argument("--words", metavar="W1,W2,...", help="word-vector runs: these words' vectors in 2-D (PCA)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.words:  # the task draws its own figure of words
        from lmlab.errors import LmlabError
        from lmlab.run import read_run_config
        from lmlab.tasks import task_of_run

        plot_words = getattr(task_of_run(read_run_config(args.run)).cli_module(), "plot_words", None)
        if plot_words is None:
            raise LmlabError(f"--words is for runs with word vectors (word2vec); {args.run} is not one")
        return plot_words(args)
    from lmlab.train.plot import plot_run

    print(plot_run(args.run, args.out))
    return 0
