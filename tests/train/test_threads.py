"""The engine's thread count: chosen by timing steps, chosen again when the machine changes (issue 26)."""

from __future__ import annotations

import json

import pytest

from lmlab.threads import (
    FIRST_RECHECK_SECONDS,
    PROBE_SHARE,
    PROBE_STEPS,
    RECHECK_SECONDS,
    ThreadTuner,
    candidates,
    inference_threads,
)


class Machine:
    """A fake machine: a step takes ``ms[threads]`` milliseconds; ``ms`` can change mid-run."""

    def __init__(self, ms: dict[int, float], start: int = 2):
        self.ms, self.threads, self.calls = dict(ms), start, []

    def set(self, n: int) -> None:
        self.threads = n
        self.calls.append(n)

    def get(self) -> int:
        return self.threads

    def run(self, tuner: ThreadTuner, steps: int) -> float:
        """``steps`` steps; the seconds they took."""
        total = 0.0
        for _ in range(steps):
            tuner.before_step()
            seconds = self.ms[self.threads] / 1e3
            tuner.after_step(seconds)
            total += seconds
        return total

    def run_seconds(self, tuner: ThreadTuner, seconds: float) -> int:
        """Steps until ``seconds`` have passed; how many."""
        steps, total = 0, 0.0
        while total < seconds:
            total += self.run(tuner, 1)
            steps += 1
        return steps


def tuner_on(machine: Machine, **kw) -> ThreadTuner:
    return ThreadTuner(cores=2, set_threads=machine.set, get_threads=machine.get, **kw)


def test_candidates():
    assert candidates(1) == [1] and candidates(2) == [1, 2] and candidates(4) == [1, 2, 4]
    assert candidates(6) == [1, 2, 4, 6] and candidates(16) == [1, 2, 4, 8, 16]


def test_the_probe_takes_the_fastest_count():
    m = Machine({1: 10.0, 2: 6.0})
    t = tuner_on(m)
    m.run(t, 2 * (PROBE_STEPS + 1))
    assert t.threads == 2 and m.threads == 2 and t.mode == "adaptive"
    assert t.changes[0]["threads"] == 2 and t.changes[0]["ms_per_step"] == {"1": 10.0, "2": 6.0}


def test_a_busy_core_sends_it_to_one_thread_and_back_when_it_frees():
    m = Machine({1: 10.0, 2: 6.0})
    t = tuner_on(m)
    m.run_seconds(t, 5.0)
    assert t.threads == 2 and len(t.changes) == 1
    m.ms = {1: 11.0, 2: 30.0}  # another process took a core: two threads wait at every barrier
    m.run_seconds(t, 5.0)
    assert t.threads == 1 and "slowed" in t.changes[-1]["reason"]
    m.ms = {1: 10.0, 2: 6.0}  # the other process ended: found at the next regular check
    m.run_seconds(t, RECHECK_SECONDS + 1.0)
    assert t.threads == 2 and "regular check" in t.changes[-1]["reason"]
    assert [c["threads"] for c in t.changes] == [2, 1, 2]


def test_a_start_probe_taken_beside_a_passing_load_is_checked_again_soon():
    """The start's probe met a busy core (the process before it still ending): one thread. The first regular
    check comes after FIRST_RECHECK_SECONDS, not RECHECK_SECONDS; the ones after it at RECHECK_SECONDS."""
    m = Machine({1: 10.0, 2: 40.0})
    t = tuner_on(m)
    m.run(t, 2 * (PROBE_STEPS + 1))
    assert t.threads == 1 and len(t.changes) == 1
    m.ms = {1: 10.0, 2: 6.0}  # the other process has ended
    m.run_seconds(t, FIRST_RECHECK_SECONDS + 1.0)
    assert t.threads == 2 and "regular check" in t.changes[-1]["reason"] and len(t.changes) == 2
    m.ms = {1: 11.0, 2: 30.0}  # busy again: one thread, and now the regular checks wait RECHECK_SECONDS
    m.run_seconds(t, 5.0)
    assert t.threads == 1 and len(t.changes) == 3
    m.ms = {1: 10.0, 2: 6.0}
    m.run_seconds(t, FIRST_RECHECK_SECONDS + 1.0)
    assert t.threads == 1 and len(t.changes) == 3
    m.run_seconds(t, RECHECK_SECONDS)
    assert t.threads == 2 and len(t.changes) == 4


def test_probes_of_fast_steps_take_a_small_share_of_the_time():
    """Steps of a millisecond on a machine whose other core is busy: a two-thread step takes 20 ms. The tuner
    stays on one thread, times a hopeless candidate once, and probes take at most PROBE_SHARE of the time."""
    m = Machine({1: 1.0, 2: 20.0}, start=1)
    t = tuner_on(m)
    probe_ms = []
    for _ in range(3 * int(RECHECK_SECONDS)):
        before = len(t.changes)
        m.run_seconds(t, 1.0)
        if len(t.changes) > before:
            probe_ms.append(t.changes[-1]["ms_per_step"])
    assert t.threads == 1 and all(c["threads"] == 1 for c in t.changes)
    assert 2 <= len(t.changes) <= 6  # the start, a check FIRST_RECHECK_SECONDS on, then every RECHECK_SECONDS
    assert all(ms == {"1": 1.0, "2": 20.0} for ms in probe_ms)
    spent = sum(PROBE_STEPS * 1.0 + 1.0 + 2 * 20.0 for _ in t.changes)  # settle + timed, one hopeless 2-thread step
    assert spent / 1e3 <= PROBE_SHARE * 3 * RECHECK_SECONDS


def test_a_slow_candidate_is_timed_once():
    m = Machine({1: 5.0, 2: 50.0}, start=1)
    t = tuner_on(m)
    m.run(t, 3 * (PROBE_STEPS + 1))
    assert m.calls.count(2) == 1 and m.calls[-1] == 1  # one visit to two threads
    assert t.changes[0]["threads"] == 1


def test_never_slower_than_one_thread_and_ties_go_to_fewer():
    m = Machine({1: 5.0, 2: 5.0})
    t = tuner_on(m)
    m.run(t, 2 * (PROBE_STEPS + 1))
    assert t.threads == 1


def test_a_fixed_count_is_kept_and_a_gpu_run_keeps_torchs():
    m = Machine({1: 10.0, 2: 1.0}, start=2)
    t = tuner_on(m, fixed=1)
    m.run(t, 100)
    assert (t.mode, t.threads, m.calls, t.changes) == ("fixed", 1, [1], [])
    m = Machine({1: 1.0, 2: 10.0}, start=2)
    t = tuner_on(m, enabled=False)
    m.run(t, 100)
    assert (t.mode, t.threads, m.calls) == ("kept", 2, [])
    assert ThreadTuner(cores=1, set_threads=m.set, get_threads=lambda: 1).mode == "kept"  # nothing to choose


def test_inference_threads(monkeypatch):
    import torch

    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("LMLAB_THREADS", "1")
        assert inference_threads() == 1 and torch.get_num_threads() == 1
        monkeypatch.delenv("LMLAB_THREADS")
        assert 1 <= inference_threads() <= max(1, torch.get_num_threads())
    finally:
        torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def adaptive(monkeypatch):
    """These tests are of the choice the suite's LMLAB_THREADS (tests/conftest.py) fixes elsewhere."""
    monkeypatch.delenv("LMLAB_THREADS", raising=False)


@pytest.mark.parametrize("flags, mode", [([], "adaptive"), (["--threads", "1"], "fixed")])
def test_a_run_records_its_threads(tmp_path, flags, mode):
    import torch

    from lmlab.cli.main import main

    before = torch.get_num_threads()
    (tmp_path / "c.txt").write_text("the cat sat on the mat\nthe dog sat on the log\n" * 60)
    argv = ["train", "--model", "gru", "--d-embed", "6", "--d-hidden", "6", "--max-steps", "12", "--batch-size", "4",
            "--seq-len", "8", "--log-every", "2", "--device", "cpu", "--data", tmp_path / "c.txt", "--out",
            tmp_path / "r", *flags]  # fmt: skip
    try:
        assert main([str(a) for a in argv]) == 0
    finally:
        torch.set_num_threads(before)
    cfg = json.loads((tmp_path / "r" / "config.json").read_text())
    record = cfg["stats"]["threads"]
    usable = len(__import__("os").sched_getaffinity(0))
    assert record["mode"] == (mode if usable > 1 or mode == "fixed" else "kept")
    rows = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert all(1 <= row["threads"] <= usable for row in rows if "train_loss" in row)
    if mode == "fixed":
        assert record["threads"] == 1 and record["changes"] == []
    elif usable > 1:
        # one thread settles and is timed; each other count settles and is timed once (hopeless) or fully
        first = record["changes"][0]["step"]
        assert (
            PROBE_STEPS + 1 + 2 * (len(record["candidates"]) - 1)
            <= first
            <= len(record["candidates"]) * (PROBE_STEPS + 1)
        )
