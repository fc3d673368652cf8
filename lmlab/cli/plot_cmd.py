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
    what = p.add_mutually_exclusive_group()
    what.add_argument("--filters", action="store_true", help="image classifiers: the first layer's filters")
    what.add_argument(
        "--feature-maps", action="store_true", help="image classifiers: the maps each layer makes of --image"
    )
    p.add_argument("--image", metavar="FILE.png", help="the image for --feature-maps")
    p.add_argument("--words", metavar="W1,W2,...", help="word-vector runs: these words' vectors in 2-D (PCA)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lmlab.errors import LmlabError
    from lmlab.runconfig import read_run_config
    from lmlab.tasks import task_of_run
    from lmlab.train.plot import plot_run

    if args.words:  # the task draws its own figure of words
        plot_words = task_of_run(read_run_config(args.run)).verb("plot_words")
        if plot_words is None:
            raise LmlabError(f"--words is for runs with word vectors (word2vec); {args.run} is not one")
        return plot_words(args)
    if args.embeddings:
        task = task_of_run(read_run_config(args.run))
        draw = task.verb("plot_embeddings")
        if draw is None:
            raise LmlabError(f"{args.run}: a {task.name} run has no learned representations to draw (--embeddings)")
        return draw(args)
    if args.filters or args.feature_maps or args.image:
        if not (args.filters or args.feature_maps):
            raise LmlabError("--image goes with --feature-maps")
        plot_network = task_of_run(read_run_config(args.run)).verb("plot_network")
        if plot_network is None:
            raise LmlabError(f"{args.run}: --filters and --feature-maps are for image classifiers")
        return plot_network(args)
    print(plot_run(args.run, args.out))
    return 0
