"""Writing one benchmark's section of bench/RESULTS.md without touching the others."""

from __future__ import annotations

import datetime as _dt
import os
import platform
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def today() -> str:
    return _dt.date.today().isoformat()


def update_section(name: str, body: str, path: Path = RESULTS) -> None:
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->`` of ``path`` (bench/RESULTS.md by
    default; appended if absent)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class Interleaved:
    """The engine against a plain PyTorch loop, one update each in turn: a training callback that, after each of
    the engine's updates, runs ``ref_step(step)`` on the batch the engine has just trained on and times it. The
    engine's update is the time from the end of one reference step to the start of the next (its batching,
    schedule, clipping and logging included); ``size(step)`` counts the batch's units (examples, images, tokens).
    """

    def __init__(self, ref_step, size):
        self.ref_step, self.size = ref_step, size
        self.marks: list[tuple[float, float]] = []
        self.ref_times: list[float] = []
        self.sizes: list[int] = []

    def __call__(self, step: int, trainer) -> None:
        import time

        t0 = time.perf_counter()
        self.ref_step(step - 1)  # the batch lmlab's engine has just trained on
        t1 = time.perf_counter()
        self.marks.append((t0, t1))
        self.ref_times.append(t1 - t0)
        self.sizes.append(self.size(step - 1))

    def summary(self, unit: str, warmup: int, steps: int) -> dict:
        """Units per second of both after ``warmup`` updates, their ratio and median step times."""
        import statistics

        ours = [self.marks[k][0] - self.marks[k - 1][1] for k in range(warmup + 1, warmup + steps + 1)]
        theirs = self.ref_times[warmup + 1 : warmup + steps + 1]
        n = sum(self.sizes[warmup + 1 : warmup + steps + 1])
        return {
            f"lmlab_{unit}_per_s": n / sum(ours),
            f"plain_{unit}_per_s": n / sum(theirs),
            "ratio": sum(theirs) / sum(ours),
            "step_ms_lmlab_median": 1000 * statistics.median(ours),
            "step_ms_plain_median": 1000 * statistics.median(theirs),
            "steps": len(ours),
        }
