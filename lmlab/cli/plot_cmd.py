"""``lmlab plot RUN``: a PNG of a neural run's training and validation curves (from ``RUN/metrics.jsonl``);
``--embeddings``: the learned representations of a task that has them (graphs: every node, by class), drawn by the
run's task (:mod:`lmlab.tasks`)."""

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
    p.add_argument(
        "--embeddings",
        action="store_true",
        help="draw the run's learned representations in 2-D instead (graph runs: the nodes, coloured by class)",
    )
    p.add_argument(
        "--projection",
        choices=["pca", "tsne"],
        default="pca",
        help="with --embeddings: pca, or tsne (needs scikit-learn) (default: pca)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lmlab.train.plot import plot_run

    if args.embeddings:
        from lmlab.errors import LmlabError
        from lmlab.run import read_run_config
        from lmlab.tasks import task_of_run

        task = task_of_run(read_run_config(args.run))
        draw = getattr(task.cli_module(), "plot_embeddings", None)
        if draw is None:
            raise LmlabError(f"{args.run}: a {task.name} run has no learned representations to draw (--embeddings)")
        return draw(args)

    print(plot_run(args.run, args.out))
    return 0
