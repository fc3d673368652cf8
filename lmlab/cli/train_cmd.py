"""``lmlab train``: train one model family of a task on a dataset and write a run directory.

The flags common to every task are defined here; the task's own (its data, its families' hyperparameters) come
from the task's command-line module (see :mod:`lmlab.tasks`). This module also holds the language-model side.
"""

from __future__ import annotations

import argparse

from lmlab.cli.common import SeedFlag
from lmlab.tasks import DEFAULT_TASK, TASKS, get_task


def _flag_from_argv(argv: list[str], flag: str) -> str | None:
    """The value of ``flag`` in ``argv``, read before the parser is built (None when absent or malformed: the
    parser then reports it in one line)."""
    pre = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    pre.add_argument(flag)
    try:
        known, _ = pre.parse_known_args(argv[1:] if argv and argv[0] == "train" else [])
    except argparse.ArgumentError:  # e.g. `--model` with no value
        return None
    return getattr(known, flag.lstrip("-").replace("-", "_"))


def _family_from_argv(argv: list[str]) -> str | None:
    return _flag_from_argv(argv, "--model")


def _given(argv: list[str], flag: str) -> bool:
    return any(a == flag or a.startswith(flag + "=") for a in argv)


def _resumed(argv: list[str], key: str) -> str | None:
    """The family or task of the run named by ``--resume RUN``, so that its flags (``--max-steps``, ...) exist."""
    resume = _flag_from_argv(argv, "--resume")
    if not resume:
        return None
    from lmlab.train.checkpoint import read_checkpoint_info

    info = read_checkpoint_info(resume)  # an unreadable checkpoint is reported here
    return info.get(key, DEFAULT_TASK if key == "task" else None)


def register(sub, argv: list[str]) -> None:
    p = sub.add_parser(
        "train",
        help="train a model and write a run directory",
        description="Train a model family on a corpus. Add --model NAME --help to see that family's hyperparameters.",
    )
    resuming = _given(argv, "--resume")
    task = get_task(_flag_from_argv(argv, "--task") or _resumed(argv, "task") or DEFAULT_TASK)
    p.add_argument(
        "--task",
        default=DEFAULT_TASK,
        choices=list(TASKS),
        help=f"what to learn (default: {DEFAULT_TASK}): " + "; ".join(f"{t.name}: {t.summary}" for t in TASKS.values()),
    )
    p.add_argument("--model", required=not resuming, metavar="FAMILY", help=f"one of: {', '.join(task.family_table())}")
    p.add_argument("--out", required=not resuming, metavar="RUN", help="run directory to write")
    p.add_argument("--config", metavar="FILE.toml", help="hyperparameters from a TOML file (flags override it)")
    p.add_argument("--seed", action=SeedFlag, default=0, help="random seed, 0 to 2**63 - 1 (default: 0)")
    p.add_argument(
        "--preset",
        metavar="NAME",
        help="start from a published recipe"
        + (f" ({', '.join(task.preset_names())})" if task.presets else "")
        + "; --config and flags override it",
    )
    p.add_argument(
        "--resume",
        metavar="RUN",
        help="neural families: continue the run RUN from its last checkpoint, exactly as if never stopped "
        "(--max-steps, --epochs and --device may be changed)",
    )
    p.add_argument(
        "--nproc",
        type=int,
        metavar="N",
        help="train on N processes of this machine (torchrun, DistributedDataParallel): --batch-size stays the "
        "global batch, each process takes its share",
    )
    p.set_defaults(tokenizer_given=_given(argv, "--tokenizer"))
    cli = task.cli_module()
    cli.add_train_flags(p, _family_from_argv(argv) or _resumed(argv, "family"), resuming)
    p.set_defaults(func=lambda args: _dispatch(cli.train, args, argv))


def _dispatch(train, args: argparse.Namespace, argv: list[str]) -> int:
    """Train here, or launch the same command on ``--nproc`` processes; under torchrun, check first that the
    training can be shared."""
    from lmlab.train.ranks import world_size_from_env

    # the launcher imports PyTorch: only when asked for, so that an n-gram model trains without it
    if args.nproc is not None:
        from lmlab.cli.launch import launch

        return launch(args, argv)
    if world_size_from_env() > 1:
        from lmlab.cli.launch import check_distributed

        check_distributed(args, world_size_from_env())
    return train(args)
