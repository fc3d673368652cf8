"""``lmlab train --nproc N ...``: the same command on N processes of this machine, launched by torchrun.

It is the shorthand of ``torchrun --standalone --nproc-per-node N -m lmlab train ...`` (without ``--nproc``): the
launcher runs torchrun's own code in this process, which starts the N workers, stops them all when one fails or
when this process gets Ctrl-C or SIGTERM, and returns the failed worker's exit status (2 after bad input, which
rank 0 has reported in one line). Each worker gets ``OMP_NUM_THREADS`` = cores / N unless it is set, so N workers
share the machine's cores instead of each taking all of them. N is at most :data:`MAX_PROCESSES_PER_CORE` per core.

Ctrl-C or SIGTERM at any moment, start-up included, ends every worker and prints one line (exit status 130 or
143): torchrun starts its workers in one expression, and a signal in the middle of it would leave the workers
already started out of its list, unstopped, to print a traceback when the rendezvous times out half an hour later;
so the launcher holds those signals while torchrun starts and records the workers
(:func:`signals_wait_for_workers`).

Several machines: run ``torchrun --nnodes M --node-rank R --rdzv-endpoint HOST:PORT --nproc-per-node N -m lmlab
train ...`` on each (see the README); the engine is the same.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any

from lmlab.cli.main import LAUNCHED_ENV
from lmlab.errors import LmlabError
from lmlab.tasks import get_task
from lmlab.train.distributed import check_batch
from lmlab.train.ranks import world_size_from_env

#: The most processes ``--nproc`` starts per CPU core: more only queue for the cores, each holding its own copy of
#: PyTorch and of the model (hundreds of MB), and take minutes to start (64 on 2 cores did)
MAX_PROCESSES_PER_CORE = 4

#: The signals that stop a run; torchrun also stops on SIGHUP and SIGQUIT
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)


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


def usable_cores() -> int:
    """The CPU cores this process may run on (a container's or ``taskset``'s share, not the machine's)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def check_process_count(n: int, cores: int | None = None) -> None:
    """Refuse more processes than the cores can run (:data:`MAX_PROCESSES_PER_CORE` per core).

    >>> check_process_count(8, cores=2)
    >>> check_process_count(64, cores=2)
    Traceback (most recent call last):
    ...
    lmlab.errors.LmlabError: --nproc 64 is more than this machine can run: at most 8 (4 per CPU core, 2 cores)
    """
    cores = cores or usable_cores()
    most = MAX_PROCESSES_PER_CORE * cores
    if n > most:
        raise LmlabError(
            f"--nproc {n} is more than this machine can run: at most {most} ({MAX_PROCESSES_PER_CORE} per CPU core, "
            f"{cores} core{'s' if cores > 1 else ''})"
        )


@contextlib.contextmanager
def signals_wait_for_workers() -> Iterator[None]:
    """Ctrl-C and SIGTERM in the launcher while torchrun runs: they stop the run as torchrun's own handler does
    (a ``SignalException``, on which torchrun stops every worker), except while torchrun starts the workers and
    records them, when they wait until it has done so; after the first, the others are ignored, so that torchrun
    finishes stopping the workers.

    A process-directed signal may reach any thread, so blocking it in the main thread would not hold it: the
    handler itself waits. torchrun is asked to leave these two signals to it (:func:`torchrun_args`), and the step
    that starts and records the workers is the agent's ``_start_workers``; with a PyTorch that has no such step,
    torchrun's own handling is left as it is."""
    from torch.distributed.elastic.agent.server.local_elastic_agent import LocalElasticAgent
    from torch.distributed.elastic.multiprocessing.api import SignalException

    start_workers = getattr(LocalElasticAgent, "_start_workers", None)
    if start_workers is None:  # pragma: no cover - another PyTorch
        yield
        return
    state: dict[str, Any] = {"starting": False, "pending": None, "stopping": False}

    def stop(signum: int) -> None:
        state["stopping"] = True
        raise SignalException(f"lmlab train got {signal.Signals(signum).name}", sigval=signal.Signals(signum))

    def handler(signum: int, frame: Any) -> None:
        if state["stopping"]:  # torchrun is stopping the workers: let it finish
            return
        if state["starting"]:
            state["pending"] = state["pending"] or signum
            return
        stop(signum)

    def start_then_stop(self, *args, **kwargs):
        state["starting"] = True
        try:
            pids = start_workers(self, *args, **kwargs)  # the workers, started and recorded
        finally:
            state["starting"] = False
        if state["pending"] is not None:
            stop(state["pending"])
        return pids

    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, handler)
    LocalElasticAgent._start_workers = start_then_stop
    try:
        yield
    finally:
        LocalElasticAgent._start_workers = start_workers


def torchrun_args(n: int, argv: list[str]) -> list[str]:
    """torchrun's command line for ``lmlab train`` (``argv`` without --nproc) on ``n`` processes; SIGTERM and
    SIGINT are left to :func:`signals_wait_for_workers` where torchrun can be told so (PyTorch 2.6 and later)."""
    from torch.distributed.launcher.api import LaunchConfig

    args = ["--standalone", f"--nproc-per-node={n}"]
    if "signals_to_handle" in {f.name for f in dataclasses.fields(LaunchConfig)}:
        args.append("--signals-to-handle=SIGHUP,SIGQUIT")
    return [*args, "-m", "lmlab", *strip_nproc(argv)]


@contextlib.contextmanager
def _launcher_env(n: int) -> Iterator[None]:
    """The workers' environment: the launcher's, with OMP_NUM_THREADS (unless set) and the mark that the
    launcher reports how the run ended; the launcher's own environment is put back after."""
    saved = dict(os.environ)
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, usable_cores() // n)))
    os.environ[LAUNCHED_ENV] = "1"
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _handlers_restored() -> Iterator[None]:
    """torchrun installs its own handlers for :data:`STOP_SIGNALS` and leaves them: put the command's back."""
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            if handler is not None:
                signal.signal(s, handler)


def launch(args: argparse.Namespace, argv: list[str]) -> int:
    """Start ``lmlab train`` (``argv`` without --nproc) on ``args.nproc`` processes; their exit status."""
    n = args.nproc
    check_distributed(args, n)
    check_process_count(n)
    if world_size_from_env() > 1:
        raise LmlabError("--nproc is for a command started by hand; under torchrun, give torchrun --nproc-per-node")
    if n == 1:
        from lmlab.cli.main import main

        return main(strip_nproc(argv))
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    for name in list(logging.root.manager.loggerDict):  # the workers' own lines are what the user reads
        if name.startswith("torch.distributed"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    config = parse_args(torchrun_args(n, argv))
    try:
        with _handlers_restored(), _launcher_env(n), signals_wait_for_workers():
            run(config)
    except SignalException as e:  # Ctrl-C or SIGTERM here: torchrun has passed it on, the workers have saved
        print(f"lmlab: {_stopped_by(e.sigval)}", file=sys.stderr)
        return 128 + int(e.sigval)
    except ChildFailedError as e:
        rank, failure = e.get_first_failure()
        if failure.exitcode < 0:  # killed by a signal: say which process
            name = signal.Signals(-failure.exitcode).name
            print(f"lmlab: error: training process {rank} of {n} was stopped by {name}", file=sys.stderr)
            return 128 - failure.exitcode
        return failure.exitcode or 1
    return 0


def _stopped_by(sig: int) -> str:
    """The line that ends a run stopped by ``sig``, as :func:`lmlab.cli.main.main` says it.

    >>> _stopped_by(signal.SIGTERM), _stopped_by(signal.SIGINT), _stopped_by(signal.SIGHUP)
    ('terminated (SIGTERM)', 'interrupted', 'stopped by SIGHUP')
    """
    if sig == signal.SIGTERM:
        return "terminated (SIGTERM)"
    if sig == signal.SIGINT:
        return "interrupted"
    return f"stopped by {signal.Signals(sig).name}"


__all__ = [
    "MAX_PROCESSES_PER_CORE",
    "check_distributed",
    "check_process_count",
    "launch",
    "signals_wait_for_workers",
    "strip_nproc",
]
