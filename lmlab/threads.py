"""How many threads PyTorch's operators use, chosen by measuring, and chosen again when the machine changes.

Two-thread PyTorch on a 2-core machine runs at a third of its speed as soon as another busy process takes a core
(every parallel region waits at its barrier for the thread whose core was taken), slower than one thread. So the
engine does not trust a fixed count. :class:`ThreadTuner` times the training steps:

1. **probe**: each candidate count (1, then more, up to the usable cores) runs a few steps after one step to settle;
   the fastest median step wins (ties go to fewer threads). A candidate whose first timed step is already
   :data:`SLOWDOWN` times slower than the fastest so far is not timed further: beside a busy process, a two-thread
   step waits for a descheduled thread at every barrier and can take ten times as long as a one-thread step;
2. **watch**: the median of the last :data:`WINDOW` steps is compared with the probe's; when it is
   :data:`SLOWDOWN` times slower (another process took a core), or after :data:`RECHECK_SECONDS` of steps while
   running on fewer threads than cores (the other process may have ended; after the start's probe, which runs while
   the process warms up, :data:`FIRST_RECHECK_SECONDS`), it probes again. Probes cost at most
   :data:`PROBE_SHARE` of the training time: after a probe that took P seconds, the next waits for P /
   PROBE_SHARE seconds of steps (a model whose steps take milliseconds would otherwise probe many times a second).

``--threads N`` (or ``LMLAB_THREADS=N``) fixes the count: two runs agree to the last bit, and a resumed run with
its uninterrupted twin, only on the same count (a sum over two threads adds in another order than over one).
Every choice and change is logged, written in the metrics rows (``threads``) and recorded in the run's
``config.json`` (``stats.threads``). Runs on a GPU, or on several processes (each process has its core), keep
PyTorch's count. Inference (``lmlab eval``, ``generate``, ``translate``, :func:`lmlab.load`) has no steps to time
before it starts: :func:`inference_threads` takes the cores the load average leaves free.

Why one thread beside a busy process, and not OpenMP's passive wait: with ``OMP_WAIT_POLICY=PASSIVE`` (read once,
when PyTorch loads libgomp) a thread that reaches a barrier first sleeps at once instead of spinning, so two
threads beside a busy process no longer collapse, but one thread is still faster there: a descheduled thread holds
every barrier for a scheduler slice. And alone, two sleeping threads lose what spinning buys between the many short
parallel regions of a small model. The compare-char presets, ``--threads`` 1 and 2, alone and beside ``python -c
'while True: pass'`` (tokens/s, 2 cores, 2026-12-07): MLP default 71k, 84k, 69k, 25k, passive 70k, 35k, 70k, 58k;
Transformer default 42k, 60k, 40k, 4k, passive 42k, 54k, 43k, 37k; CNN passive 13.2k, 21.8k, 13.0k, 10.9k. Short
spins (``GOMP_SPINCOUNT`` 10^4, 10^5) did not help beside the busy process either (MLP, two threads: 10k, 6k). So
the engine keeps libgomp's default and leaves a busy machine to the tuner; what a training keeps beside one busy
process is about its one-thread speed over its two-thread speed alone (``bench/bench_busy.py``).
"""

from __future__ import annotations

import logging
import os
import statistics
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

PROBE_STEPS = 3  # timed steps per candidate (after one step to settle)
WINDOW = 8  # steps whose median is watched
SLOWDOWN = 1.5  # this much slower than at the probe: probe again
RECHECK_SECONDS = 30.0  # on fewer threads than cores, probe again after this many seconds of steps
#: the same after the start's probe, which is the least sure: it runs while the process warms up, often as the
#: process before it (a comparison's previous family, its evaluation) still ends; 30 s on one thread would be a
#: whole share of a 3-minute comparison (2026-12-07: an RNN whose start probe timed two threads at 3 s a step made
#: 722 updates, where the next comparison's made about 1,100)
FIRST_RECHECK_SECONDS = 5.0
MIN_STEPS_BETWEEN = 2 * WINDOW  # at least this many watched steps between two probes
PROBE_SHARE = 0.05  # the most of the training time probes may take


def env_threads() -> int | None:
    """``LMLAB_THREADS=N`` in the environment: a count every run and model of this process keeps (the test suite
    sets it, so that two runs of a test compute in the same order and agree to the last bit)."""
    env = os.environ.get("LMLAB_THREADS", "")
    return int(env) if env.isdigit() and int(env) > 0 else None


def usable_cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def candidates(cores: int) -> list[int]:
    """1, then doublings, then all the cores: [1, 2] on two, [1, 2, 4] on four, [1, 2, 4, 6] on six."""
    out, n = [1], 2
    while n < cores:
        out.append(n)
        n *= 2
    if cores > 1:
        out.append(cores)
    return out


class ThreadTuner:
    """Chooses the intra-op thread count of a training from its step times (see the module docstring).

    ``fixed``: a count to keep (``--threads N``); ``enabled=False``: keep the current count (GPU, several
    processes). ``set_threads``/``get_threads`` default to PyTorch's; tests pass their own.
    """

    def __init__(
        self,
        fixed: int | None = None,
        *,
        enabled: bool = True,
        cores: int | None = None,
        set_threads: Callable[[int], None] | None = None,
        get_threads: Callable[[], int] | None = None,
    ):
        fixed = fixed if fixed is not None else env_threads()
        if set_threads is None or get_threads is None:
            import torch

            set_threads, get_threads = torch.set_num_threads, torch.get_num_threads
        self._set, cores = set_threads, cores or usable_cores()
        self.candidates = candidates(cores)
        self.mode = "fixed" if fixed is not None else ("adaptive" if enabled and len(self.candidates) > 1 else "kept")
        self.threads = fixed if fixed is not None else get_threads()
        if fixed is not None:
            self._set(fixed)
        self.changes: list[dict[str, Any]] = []
        self.step = 0
        self._queue: list[int] = []  # candidates still to probe
        self._times: dict[int, list[float]] = {}
        self._settle = False
        self._window: deque[float] = deque(maxlen=WINDOW)
        self._baseline: float | None = None
        self._since_probe = 0  # watched steps since the last probe
        self._since_seconds = 0.0  # and their seconds
        self._probe_seconds = 0.0  # what the current (or last) probe's steps took, settling ones included
        if self.mode == "adaptive":
            self._start_probe("start")

    # ---- the engine's two calls
    def before_step(self) -> None:
        """Set the thread count for the next step (a probe's candidate, or the chosen one)."""
        if self._queue and self.threads != self._queue[0]:
            self._use(self._queue[0])
            self._settle = True

    def after_step(self, seconds: float) -> None:
        """The time the step just taken needed (its update only: not validation, not checkpoints)."""
        self.step += 1
        if self.mode != "adaptive":
            return
        if self._queue:
            self._probe_seconds += seconds
            if self._settle:  # the first step on a new count warms its thread pool: not counted
                self._settle = False
                return
            n = self._queue[0]
            times = self._times.setdefault(n, [])
            times.append(seconds)
            done = [statistics.median(t) for c, t in self._times.items() if c != n]
            hopeless = bool(done) and seconds > SLOWDOWN * min(done)  # already far slower than the fastest
            if len(times) >= PROBE_STEPS or hopeless:
                self._queue.pop(0)
                if not self._queue:
                    self._choose()
            return
        self._window.append(seconds)
        self._since_probe += 1
        self._since_seconds += seconds
        if len(self._window) < WINDOW or self._since_probe < MIN_STEPS_BETWEEN:
            return
        if self._since_seconds < self._probe_seconds / PROBE_SHARE:
            return
        now = statistics.median(self._window)
        assert self._baseline is not None
        if now > SLOWDOWN * self._baseline:
            self._start_probe(f"steps slowed from {self._baseline * 1e3:.1f} to {now * 1e3:.1f} ms")
        elif self.threads < self.candidates[-1] and self._since_seconds >= self._recheck_seconds():
            self._start_probe(
                f"a regular check ({self._since_seconds:.0f} s on {self.threads} of {self.candidates[-1]} threads)"
            )

    # ---- what the run records
    def record(self) -> dict[str, Any]:
        return {"mode": self.mode, "threads": self.threads, "candidates": self.candidates, "changes": self.changes}

    # ---- inside
    def _recheck_seconds(self) -> float:
        """Seconds of steps on fewer threads than cores before a regular check: sooner after the start's probe."""
        return FIRST_RECHECK_SECONDS if len(self.changes) == 1 else RECHECK_SECONDS

    def _use(self, n: int) -> None:
        self._set(n)
        self.threads = n

    def _start_probe(self, reason: str) -> None:
        self._reason = reason
        self._queue = list(self.candidates)
        self._times = {}
        self._probe_seconds = 0.0
        self._settle = True  # the first step of a probe is not timed, even on the count already set (a training's
        # first step also warms its allocator)

    def _choose(self) -> None:
        medians = {n: statistics.median(t) for n, t in self._times.items()}
        best = min(medians, key=lambda n: (round(medians[n], 6), n))  # ties: fewer threads
        self._use(best)
        self._baseline = medians[best]
        self._window.clear()
        self._since_probe = 0
        self._since_seconds = 0.0
        change = {
            "step": self.step,
            "threads": best,
            "reason": self._reason,
            "ms_per_step": {str(n): round(m * 1e3, 2) for n, m in medians.items()},
        }
        self.changes.append(change)
        timings = ", ".join(f"{n} thread{'s' * (n > 1)} {m * 1e3:.1f} ms" for n, m in medians.items())
        log.info("threads: %d (%s; measured %s)", best, self._reason, timings)


def inference_threads(fixed: int | None = None) -> int:
    """The thread count for a model that only runs (no steps to time first): ``fixed`` (or ``LMLAB_THREADS``), else
    the usable cores the one-minute load average leaves free, at least one. Sets PyTorch's and returns it."""
    import torch

    fixed = fixed if fixed is not None else env_threads()
    if fixed is None:
        cores = usable_cores()
        try:
            busy = os.getloadavg()[0]
        except OSError:  # pragma: no cover
            busy = 0.0
        fixed = max(1, min(cores, int(cores - busy + 0.5)))
    torch.set_num_threads(fixed)
    return fixed


__all__ = ["FIRST_RECHECK_SECONDS", "ThreadTuner", "candidates", "env_threads", "inference_threads", "usable_cores"]
