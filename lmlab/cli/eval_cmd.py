"""``lmlab eval``: a trained model's metrics on a split (language models: perplexity under the shared protocol;
other tasks: their own metrics, through :mod:`lmlab.tasks`)."""

from __future__ import annotations

from types import SimpleNamespace

from lmlab.tasks import TASKS, config_and_task_of_path

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (see lmlab.lazy)
if TYPE_CHECKING:
    import argparse

#: The options of ``lmlab eval`` that :func:`quick_args` reads, as ``register`` declares them: their choices (None:
#: any value) and defaults; ``--json`` is the one switch (tests hold the two readings equal).
QUICK_OPTIONS = {
    "--split": (("train", "valid", "test"), "test"),
    "--data": (None, None),
    "--text": (None, None),
    "--encoding-errors": (("strict", "replace"), "strict"),
}


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


def quick_args(argv: list[str]) -> SimpleNamespace | None:
    """The arguments of ``lmlab eval`` as argparse reads them, read without argparse (whose import, with gettext
    and locale, and the parser it builds are about a tenth of the lean path's time), for a command line in a plain
    form: ``eval RUN`` with the options of :data:`QUICK_OPTIONS` and ``--json``, each at most once, spelt in full,
    values after a space or ``=``, a valid choice, none empty or starting with ``-``; None for any other (lmlab's
    own options, help, a task's flags, an abbreviation, a mistake: argparse reads it, and says what is wrong).

    >>> vars(quick_args(["eval", "run", "--text=t.txt", "--json"]))["text"]
    't.txt'
    >>> quick_args(["eval", "run", "--split", "dev"]), quick_args(["eval", "run", "--js"]), quick_args(["eval"])
    (None, None, None)
    """
    if argv[:1] != ["eval"]:
        return None

    def dest(option: str) -> str:  # as argparse names it: --encoding-errors -> encoding_errors
        return option[2:].replace("-", "_")

    values = {dest(name): default for name, (_, default) in QUICK_OPTIONS.items()}
    values.update(run=None, json=False, confusion=None)
    seen = set()
    rest = iter(argv[1:])
    for arg in rest:
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in seen:
            return None
        seen.add(name)
        if name == "--json" and not eq:
            values["json"] = True
        elif name in QUICK_OPTIONS:
            value = value if eq else next(rest, "")
            choices = QUICK_OPTIONS[name][0]
            if not value or value.startswith("-") or (choices is not None and value not in choices):
                return None
            values[dest(name)] = value
        elif arg and not arg.startswith("-") and values["run"] is None:
            values["run"] = arg
        else:
            return None
    if values["run"] is None:
        return None
    return SimpleNamespace(command="eval", verbose=False, **values)


def run_lean(args: argparse.Namespace | SimpleNamespace) -> int | None:
    """The exit status of ``lmlab eval`` where the run's task evaluates it on its lean path (declared in its spec,
    ``Task.lean_eval``); None where it hands the command over, before printing anything.

    The lean path allocates little that could form a cycle, in a few tens of milliseconds: the collector is off
    while it runs (its passes over every object the imports made took a millisecond each), and stays off after it
    served the command (turned on again, the collector's next pass walks every object the path made: the
    vocabulary, the text); :func:`lmlab.cli.main.main` turns it on again for a caller that goes on, the ``lmlab``
    program exits. Where the path hands the command over, the collector is on again for the general path."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    status = None
    try:
        run_cfg, task = config_and_task_of_path(args.run)  # config.json read once, for the task and its lean path
        lean = task.lean_eval_fn()  # the runs a task evaluates without its command-line module's imports
        status = None if lean is None else lean(args, run_cfg)
        return status
    finally:
        if enabled and status is None:
            gc.enable()


def run(args: argparse.Namespace) -> int:
    if not getattr(args, "lean_tried", False) and (status := run_lean(args)) is not None:
        return status
    from lmlab.cli.main import setup_logging
    from lmlab.tasks import task_of_path
    from lmlab.train.ranks import is_worker

    setup_logging(args.verbose, is_worker())
    return task_of_path(args.run).cli_module().evaluate(args)
