"""``lmlab train --nproc N ...``: the same command on N processes of this machine, launched by torchrun.

It is the shorthand of ``torchrun --standalone --nproc-per-node N -m lmlab train ...`` (without ``--nproc``): the
launcher runs torchrun's own code in this process, which starts the N workers, stops them all when one fails or
when this process gets Ctrl-C or SIGTERM, and returns the failed worker's exit status (2 after bad input, which
rank 0 has reported in one line). Each worker gets ``OMP_NUM_THREADS`` = cores / N unless it is set, so N workers
share the machine's cores instead of each taking all of them.

Several machines: run ``torchrun --nnodes M --node-rank R --rdzv-endpoint HOST:PORT --nproc-per-node N -m lmlab
train ...`` on each (see the README); the engine is the same.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from lmlab.errors import LmlabError
from lmlab.tasks import get_task
from lmlab.train.distributed import check_batch
from lmlab.train.ranks import world_size_from_env


def strip_nproc(argv: list[str]) -> list[str]:
    """``argv`` without ``--nproc N`` / ``--nproc=N``.

    >>> strip_nproc(["train", "--nproc", "2", "--model", "lstm", "--nproc=3"])
    ['train', '--model', 'lstm']
    """
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def check_distributed(args: argparse.Namespace, processes: int) -> None:
    """Refuse, in one line, a training that cannot run on ``processes`` processes (before any is started)."""
    if processes < 1:
        raise LmlabError(f"--nproc must be at least 1, got {processes}")
    if processes == 1:
        return
    task = get_task(args.task)
    if task.single_process:
        raise LmlabError(f"--task {task.name} cannot train on several processes: {task.single_process}")
    table = task.family_table()
    if args.model in table and not table[args.model].by_gradient:
        raise LmlabError(
            f"--model {args.model} is not trained by gradient descent (it counts or propagates, in seconds): "
            "train it as one process"
        )
    if getattr(args, "cfg_max_tokens", None) is None and getattr(args, "cfg_batch_size", None) is not None:
        check_batch(args.cfg_batch_size, processes)  # given on the command line: checked before any process starts
    for flag in ("folds", "repeat"):
        if getattr(args, flag, None) is not None:
            raise LmlabError(
                f"--{flag} trains many small models one after another: run it as one process, without --nproc"
            )


def launch(args: argparse.Namespace, argv: list[str]) -> int:
    """Start ``lmlab train`` (``argv`` without --nproc) on ``args.nproc`` processes; their exit status."""
    n = args.nproc
    check_distributed(args, n)
    if world_size_from_env() > 1:
        raise LmlabError("--nproc is for a command started by hand; under torchrun, give torchrun --nproc-per-node")
    if n == 1:
        from lmlab.cli.main import main

        return main(strip_nproc(argv))
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    if "OMP_NUM_THREADS" not in os.environ:
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // n))
    for name in list(logging.root.manager.loggerDict):  # the workers' own lines are what the user reads
        if name.startswith("torch.distributed"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    config = parse_args(["--standalone", f"--nproc-per-node={n}", "-m", "lmlab", *strip_nproc(argv)])
    try:
        run(config)
    except SignalException as e:  # Ctrl-C or SIGTERM here: torchrun has passed it on, the workers have saved
        return 128 + int(e.sigval)
    except ChildFailedError as e:
        rank, failure = e.get_first_failure()
        if failure.exitcode < 0:  # killed by a signal: say which process
            name = signal.Signals(-failure.exitcode).name
            print(f"lmlab: error: training process {rank} of {n} was stopped by {name}", file=sys.stderr)
            return 128 - failure.exitcode
        return failure.exitcode or 1
    return 0


__all__ = ["check_distributed", "launch", "strip_nproc"]
