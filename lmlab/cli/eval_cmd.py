"""``lmlab eval``: a trained model's metrics on a split (language models: perplexity under the shared protocol;
other tasks: their own metrics, through :mod:`lmlab.tasks`)."""

from __future__ import annotations

import argparse

from lmlab.tasks import TASKS, config_and_task_of_path


def register(sub) -> None:
    p = sub.add_parser(
        "eval",
        help="a model's metrics on a split or a file (perplexity, accuracy, ...)",
        description="Language models: token-weighted perplexity, </s> of every line included, <s> never. "
        "Classifiers: accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix.",
    )
    p.add_argument("run", metavar="RUN", help="run directory or ARPA file")
    p.add_argument("--split", choices=["train", "valid", "test"], default="test", help="(default: test)")
    p.add_argument("--data", help="evaluate on this corpus instead of the one the run was trained on")
    p.add_argument("--text", metavar="FILE", help="evaluate on every line of this text file")
    p.add_argument("--encoding-errors", choices=["strict", "replace"], default="strict")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--confusion", metavar="FILE.png", help="classifiers: also draw the confusion matrix")
    for task in TASKS.values():  # a task's own evaluation flags (word vectors: --analogies, --similarity)
        if (add_flags := task.eval_flags_fn()) is not None:
            add_flags(p)
    # logging set up by run where it leaves the lean path (lmlab.cli.main.setup_logging)
    p.set_defaults(func=run, sets_up_logging=True)


def run(args: argparse.Namespace) -> int:
    import gc

    # The lean path allocates little that could form a cycle, in a few tens of milliseconds: the collector's passes
    # over every object the imports made (a millisecond each) are left out there; the general path collects.
    gc.disable()
    run_cfg, task = config_and_task_of_path(args.run)  # config.json read once, for the task and its lean path
    lean = task.lean_eval_fn()  # the runs a task evaluates without its command-line module's imports
    if lean is not None and (status := lean(args, run_cfg)) is not None:
        return status
    gc.enable()
    from lmlab.cli.main import setup_logging
    from lmlab.train.ranks import is_worker

    setup_logging(args.verbose, is_worker())
    return task.cli_module().evaluate(args)
