"""Two passes of a streaming estimation at once, where they do not depend on each other.

Most of estimating within ``--memory`` is compiled code and numpy over large arrays (sorts, merges, joins, reads and
writes of the spill files), all of which let go of Python's lock; so the orders of a pass that are independent of
each other (adjusting the counts, writing the tables, the model file's hash tables, adding a block's counts to each
order's sorter) and the two halves of the estimate pass that form a pipeline run on two threads, as lmplz keeps two
cores busy. Each of two concurrent tasks gets half the memory budget, so the peak stays that of one; the results are
the same, bit for bit, whatever the number of threads (each task computes what it computed alone, in the same
order).

``LMLAB_THREADS=1`` (:func:`lmlab.threads.env_threads`) runs every task in turn, on the calling thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from lmlab.errors import LmlabError
from lmlab.threads import env_threads, usable_cores

T = TypeVar("T")
R = TypeVar("R")

#: Tasks run at once at most: lmplz's pipeline keeps about two cores busy, and more would split the budget finer.
MAX_WORKERS = 2

_local = threading.local()


class Cancelled(Exception):
    """Raised in a task, at its next :func:`check`, once another task has failed or the caller was interrupted."""


def workers() -> int:
    """Threads an estimation uses: ``LMLAB_THREADS`` where set, else the usable cores, at most :data:`MAX_WORKERS`."""
    return max(1, min(MAX_WORKERS, env_threads() or usable_cores()))


def check() -> None:
    """Stop a task run by :func:`each` (raise :class:`Cancelled`) when a task beside it failed; called between
    chunks, so that an error or Ctrl-C stops every thread within a chunk's time."""
    stop = getattr(_local, "stop", None)
    if stop is not None and stop.is_set():
        raise Cancelled


def each(fn: Callable[[T], R], items: Iterable[T], n_workers: int | None = None) -> list[R]:
    """``[fn(x) for x in items]``, ``n_workers`` (default :func:`workers`) at a time, started in the order given.

    The error of a failed task is raised once every task has stopped (a user's error, :class:`LmlabError`, before
    any other: a full disk's message rather than the other task's missing file after the folder was removed), and
    the others are stopped at their next :func:`check`; Ctrl-C or SIGTERM in the caller stops them the same way.

    >>> each(lambda k: k * k, [2, 3, 4], n_workers=2)
    [4, 9, 16]
    """
    items = list(items)
    n_workers = workers() if n_workers is None else n_workers
    if n_workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    stop = threading.Event()

    def run(x: T) -> R:
        if stop.is_set():
            raise Cancelled
        _local.stop = stop
        try:
            return fn(x)
        except BaseException:
            stop.set()
            raise
        finally:
            _local.stop = None

    pool = ThreadPoolExecutor(min(n_workers, len(items)), thread_name_prefix="lmlab-ngram")
    futures = [pool.submit(run, x) for x in items]
    try:
        for f in futures:
            f.exception()  # wait; interruptible by Ctrl-C and SIGTERM
    except BaseException:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    errors = [e for f in futures if (e := f.exception()) is not None and not isinstance(e, Cancelled)]
    if errors:
        raise next((e for e in errors if isinstance(e, LmlabError)), errors[0])
    return [f.result() for f in futures]


__all__ = ["MAX_WORKERS", "Cancelled", "check", "each", "workers"]
