"""Independent passes of a streaming estimation run two at a time (lmlab/lm/ngram/workers.py): the model, its file
and a full disk's message are those of one thread; a failed task stops the one beside it."""

from __future__ import annotations

import threading

import pytest

from lmlab.errors import LmlabError
from lmlab.lm.ngram import workers
from lmlab.lm.ngram.external import SpillDir
from lmlab.lm.ngram.model import NgramConfig
from lmlab.lm.ngram.train import fit_streaming
from lmlab.lm.run import save_run
from lmlab.runconfig import RunInfo
from lmlab.tokenizers import WordTokenizer

from .test_stream import (
    _assert_same_model,
    _corpus,
)
from .test_stream import (
    test_full_disk_during_a_spill_removes_the_files_and_names_folder_and_bytes as full_disk_check,
)

WAIT = 60  # seconds a test waits for the other thread before it fails (a hang, not a slow machine)


def test_tasks_run_at_once_and_results_keep_their_order():
    both = threading.Barrier(2, timeout=WAIT)  # broken (an error) unless the two tasks run at the same time

    def task(k):
        both.wait()
        return k * k

    assert workers.each(task, [3, 4], n_workers=2) == [9, 16]
    assert workers.each(lambda k: k + 1, [1, 2, 3], n_workers=1) == [2, 3, 4]


def test_a_failed_task_stops_the_other_at_its_next_check_and_its_error_is_raised():
    started, stopped = threading.Event(), threading.Event()

    def task(k):
        if k == 0:
            assert started.wait(WAIT)
            raise ValueError("broken")
        started.set()
        try:
            while True:  # a long pass, checking between its chunks
                workers.check()
                threading.Event().wait(0.001)
        finally:
            stopped.set()

    with pytest.raises(ValueError, match="broken"):
        workers.each(task, [0, 1], n_workers=2)
    assert stopped.is_set()


def test_a_users_error_is_raised_before_another_tasks_error():
    failed = threading.Event()

    def task(k):
        if k == 0:  # fails after the other, with what a removed folder gives
            assert failed.wait(WAIT)
            raise FileNotFoundError("spill folder gone")
        failed.set()
        raise LmlabError("no space left on the device")

    with pytest.raises(LmlabError, match="no space left"):
        workers.each(task, [0, 1], n_workers=2)


def _fit_and_save(tmp_path, n_workers, monkeypatch, name):
    monkeypatch.setattr(workers, "workers", lambda: n_workers)
    lines = _corpus(1500, seed=5)
    tok = WordTokenizer.train(lines)
    with SpillDir(tmp_path) as spill:
        model, _ = fit_streaming(lines, tok, NgramConfig(order=5, memory="200K"), spill, progress=False)
        save_run(model, tmp_path / name, RunInfo(data={}, command="test", stats={}))
        assert spill.written > 0
    return model, (tmp_path / name / "model.ngram").read_bytes()


def test_two_threads_give_the_model_and_the_file_of_one(tmp_path, monkeypatch):
    one, file_one = _fit_and_save(tmp_path, 1, monkeypatch, "one")
    two, file_two = _fit_and_save(tmp_path, 2, monkeypatch, "two")
    _assert_same_model(one, two)
    assert file_one == file_two


def test_a_full_disk_on_two_threads_removes_the_files_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(workers, "workers", lambda: 2)
    full_disk_check(tmp_path, monkeypatch)
