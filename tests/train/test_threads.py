"""The engine's thread count: chosen by timing steps, chosen again when the machine changes (issue 26)."""

from __future__ import annotations

import json

import pytest

from lmlab.threads import PROBE_STEPS, RECHECK_STEPS, WINDOW, ThreadTuner, candidates, inference_threads


class Machine:
    """A fake machine: a step takes ``ms[threads]`` milliseconds; ``ms`` can change mid-run."""

    def __init__(self, ms: dict[int, float], start: int = 2):
        self.ms, self.threads, self.calls = dict(ms), start, []

    def set(self, n: int) -> None:
        self.threads = n
        self.calls.append(n)

    def get(self) -> int:
        return self.threads

    def run(self, tuner: ThreadTuner, steps: int) -> None:
        for _ in range(steps):
            tuner.before_step()
            tuner.after_step(self.ms[self.threads] / 1e3)


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
    m.run(t, 2 * (PROBE_STEPS + 1) + 3 * WINDOW)
    assert t.threads == 2
    m.ms = {1: 11.0, 2: 30.0}  # another process took a core: two threads wait at every barrier
    m.run(t, 3 * WINDOW + 2 * (PROBE_STEPS + 1))
    assert t.threads == 1 and "slowed" in t.changes[-1]["reason"]
    m.ms = {1: 10.0, 2: 6.0}  # the other process ended: found at the next regular check
    m.run(t, RECHECK_STEPS + 2 * (PROBE_STEPS + 1))
    assert t.threads == 2 and "regular check" in t.changes[-1]["reason"]
    assert [c["threads"] for c in t.changes] == [2, 1, 2]


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
        assert record["changes"] and record["changes"][0]["step"] == 2 * (PROBE_STEPS + 1)
