"""Training on several processes (torchrun, DDP on gloo): the same optimisation as one process with the same global
batch, resume across process counts, a lost worker, and the bad inputs.

Every multi-process run is a subprocess with a timeout, so that a hang fails the test instead of blocking the suite.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from lmlab.nn import load_tensors
from lmlab.train.checkpoint import read_checkpoint_info
from lmlab.train.distributed import Shard, check_batch
from lmlab.train.metrics import read_metrics
from tests.classify.test_task import make_examples, write_tsv

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="no torch.distributed")

LSTM = ["--model", "lstm", "--tokenizer", "char", "--batch-size", "8", "--seq-len", "16", "--d-embed", "24",
        "--d-hidden", "24", "--dropout", "0", "--lr", "1", "--log-every", "5", "--eval-every", "10",
        "--preset", "word-lm-example"]  # fmt: skip  # SGD on a plateau: 20 steps then 20 more follow 40 at once
TRANSFORMER = ["--model", "transformer", "--tokenizer", "char", "--batch-size", "8", "--seq-len", "16",
               "--d-model", "32", "--n-head", "2", "--n-layer", "2", "--dropout", "0", "--lr", "3e-3",
               "--log-every", "5", "--eval-every", "10"]  # fmt: skip


def lmlab(*args, nproc: int = 1, timeout: float = 600, check: bool = True, torchrun: bool = False):
    """``lmlab ARGS`` as a user runs it, on ``nproc`` processes (``--nproc``, or torchrun's own command)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if torchrun:
        launcher = ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", "-m", "lmlab"]
        cmd = [sys.executable, *launcher, *map(str, args)]
    else:
        extra = ["--nproc", str(nproc)] if nproc > 1 else []
        cmd = [sys.executable, "-m", "lmlab", *map(str, args), *extra]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if check:
        assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def text(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("text") / "text.txt"
    lines = [f"the {w} sat on the mat and the dog ran to the {v}." for w in ("cat", "owl", "fox") for v in "abcdefg"]
    path.write_text("\n".join(lines * 12) + "\n")
    return path


def weights(run: Path) -> dict[str, torch.Tensor]:
    return load_tensors(run / "model.safetensors")


def last_weights(run: Path) -> dict[str, torch.Tensor]:
    return load_tensors(run / "checkpoints" / "last" / "model.safetensors")


def max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)


def figures(run: Path) -> list[dict]:
    """metrics.jsonl without the clock."""
    rows = read_metrics(run / "metrics.jsonl")
    return [{k: v for k, v in row.items() if not k.endswith("_per_s") and k != "elapsed_s"} for row in rows]


def assert_same_figures(a: Path, b: Path, tol: float = 1e-5) -> None:
    ra, rb = figures(a), figures(b)
    assert [sorted(r) for r in ra] == [sorted(r) for r in rb]
    for x, y in zip(ra, rb):
        for k in x:
            if isinstance(x[k], float):
                assert x[k] == pytest.approx(y[k], rel=tol, abs=tol), (k, x, y)
            else:
                assert x[k] == y[k], (k, x, y)


# ---- the share of a batch


def test_shards_cover_a_batch_once_in_order():
    for n in range(1, 12):
        for size in (1, 2, 3, 4):
            parts = [Shard(r, size).rows(list(range(n))) for r in range(size)]
            if n >= size:
                assert sum(parts, []) == list(range(n))
            else:  # fewer rows than processes: the ones without a row borrow the first (and count for nothing)
                shards = [Shard(r, size) for r in range(size)]
                rows = [s.rows(list(range(n))) for s in shards]
                assert [s.borrowed for s in shards] == [r >= n for r in range(size)]
                assert sum((x for x, s in zip(rows, shards) if not s.borrowed), []) == list(range(n))


def test_batch_that_does_not_split_names_the_nearest_valid_values():
    check_batch(64, 4)
    with pytest.raises(
        Exception, match="--batch-size 30 does not split evenly over 4 processes: use --batch-size 28 or 32"
    ):
        check_batch(30, 4)
    with pytest.raises(Exception, match="more than the global batch"):
        check_batch(2, 3)


# ---- N processes follow one process's optimisation


@pytest.fixture(scope="module")
def lstm_runs(tmp_path_factory, text):
    """One and two processes, 20 steps; one process, 40 steps (the uninterrupted reference)."""
    d = tmp_path_factory.mktemp("lstm")
    common = ["train", "--data", text, *LSTM, "--seed", "3"]
    lmlab(*common, "--max-steps", "20", "--out", d / "one")
    lmlab(*common, "--max-steps", "20", "--out", d / "two", nproc=2)
    lmlab(*common, "--max-steps", "40", "--out", d / "one-40")
    return d, common


def test_two_processes_train_an_lstm_as_one_with_the_same_global_batch(lstm_runs):
    d, _ = lstm_runs
    assert max_difference(last_weights(d / "one"), last_weights(d / "two")) <= 1e-5
    assert_same_figures(d / "one", d / "two")
    cfg = json.loads((d / "two" / "config.json").read_text())
    assert cfg["stats"]["processes"] == 2 and cfg["stats"]["status"] == "completed"
    assert not any(p.name.startswith(".") for p in d.iterdir())  # no partial folder or lock left behind


def test_a_two_process_checkpoint_resumes_on_one_process_and_the_reverse(lstm_runs):
    d, _ = lstm_runs
    for source, nproc in (("two", 1), ("one", 2)):
        run = d / f"{source}-then-{nproc}"
        shutil.copytree(d / source, run)
        lmlab("train", "--resume", run, "--max-steps", "40", nproc=nproc)
        assert max_difference(last_weights(run), last_weights(d / "one-40")) <= 1e-5, source
        assert_same_figures(run, d / "one-40")


def test_two_processes_train_a_transformer_as_one(tmp_path, text):
    common = ["train", "--data", text, *TRANSFORMER, "--max-steps", "20", "--seed", "5"]
    lmlab(*common, "--out", tmp_path / "one")
    lmlab(*common, "--out", tmp_path / "two", nproc=2, torchrun=True)  # torchrun's own command
    assert max_difference(last_weights(tmp_path / "one"), last_weights(tmp_path / "two")) <= 1e-5
    assert_same_figures(tmp_path / "one", tmp_path / "two")


def test_two_processes_train_a_text_classifier_as_one(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    write_tsv(data / "train.tsv", make_examples(101, 0))  # batches of 20: the last one has a single example
    write_tsv(data / "valid.tsv", make_examples(30, 1))
    write_tsv(data / "test.tsv", make_examples(30, 2))
    common = ["train", "--task", "classify", "--model", "textcnn", "--data", data, "--d-embed", "16",
              "--n-filters", "8", "--filter-widths", "2,3", "--dropout", "0", "--batch-size", "20",
              "--max-steps", "20", "--log-every", "5", "--seed", "1"]  # fmt: skip
    lmlab(*common, "--out", tmp_path / "one")
    r = lmlab(*common, "--out", tmp_path / "two", nproc=2)
    assert r.stdout.count("trained textcnn") == 1  # rank 0 reports; the other process is quiet
    assert max_difference(last_weights(tmp_path / "one"), last_weights(tmp_path / "two")) <= 1e-5
    assert_same_figures(tmp_path / "one", tmp_path / "two")


# ---- a lost worker


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _rank_of(pid: int) -> int | None:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for item in env:
        if item.startswith(b"RANK="):
            return int(item[5:])
    return None


def _start_long_run(common: list, run: Path) -> subprocess.Popen:
    """A 2-process run that would go on for long, once its first checkpoint (step 20) is written."""
    long = ["--max-steps", "100000", "--epochs", "5000", "--eval-every", "20", "--out", str(run), "--nproc", "2"]
    cmd = [sys.executable, "-m", "lmlab", *map(str, common), *long]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launcher = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 600  # generous: the test is about the stop, not the speed of a busy machine
    while not (run / "checkpoints" / "last" / "state.json").is_file():
        if launcher.poll() is not None or time.monotonic() > deadline:
            launcher.kill()
            pytest.fail(f"no checkpoint, or the run ended: {launcher.communicate()}")
        time.sleep(0.05)
    return launcher


def test_sigterm_to_the_launcher_stops_every_process_and_rank_0_saves(lstm_runs, tmp_path):
    d, common = lstm_runs
    run = tmp_path / "stopped"
    launcher = _start_long_run(common, run)
    try:
        time.sleep(1)
        launcher.send_signal(signal.SIGTERM)
        _, err = launcher.communicate(timeout=600)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 143, err
    assert "Traceback" not in err and "saved" in err
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["stats"]["status"] == "interrupted"
    assert read_checkpoint_info(run)["step"] == cfg["stats"]["steps"] >= 20


@pytest.mark.skipif(not Path("/proc").is_dir() or shutil.which("pgrep") is None, reason="needs /proc and pgrep")
def test_a_killed_worker_stops_the_run_with_its_error_and_one_process_resumes_it(lstm_runs, tmp_path):
    d, common = lstm_runs
    run = tmp_path / "killed"
    launcher = _start_long_run(common, run)
    try:
        workers = [p for p in _children(launcher.pid) if _rank_of(p) == 1]
        assert workers, "the worker of rank 1 was not found"
        os.kill(workers[0], signal.SIGKILL)
        _, err = launcher.communicate(timeout=600)  # the others are stopped, not left waiting for the lost one
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode != 0
    assert "training process 1 of 2 was stopped by SIGKILL" in err
    step = read_checkpoint_info(run)["step"]
    lmlab("train", "--resume", run, "--max-steps", str(step + 20))
    reference = d / "one-40" if step == 20 else tmp_path / "reference"
    if step != 20:  # the kill came after a later checkpoint: the uninterrupted run to the same step
        lmlab(*common, "--max-steps", str(step + 20), "--out", reference)
    assert max_difference(last_weights(run), last_weights(reference)) <= 1e-5


# SIGTERM while torchrun starts the workers: a stand-in for the process group's SIGTERM, sent by the launcher to
# itself just after the first worker is started (torchrun starts them in one expression; a signal in the middle
# once left the started ones unrecorded, unstopped, to print a traceback when their rendezvous timed out)
SIGTERM_AFTER_FIRST_WORKER = """
import os, signal, sys
from torch.distributed.elastic.multiprocessing import api

start = api.get_subprocess_handler

def start_then_sigterm(*args, **kwargs):
    handler = start(*args, **kwargs)
    if kwargs.get("local_rank_id") == 0:
        os.kill(os.getpid(), signal.SIGTERM)
    return handler

api.get_subprocess_handler = start_then_sigterm
from lmlab.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _processes_naming(marker: str) -> list[int]:
    """The processes whose command line contains ``marker`` (Linux)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@pytest.mark.skipif(not Path("/proc/self/cmdline").is_file(), reason="needs /proc")
def test_sigterm_while_the_workers_start_stops_them_all_quietly(tmp_path, text):
    from torch.distributed.elastic.multiprocessing import api

    if not hasattr(api, "get_subprocess_handler"):
        pytest.skip("this PyTorch starts its workers differently")
    run = tmp_path / "starting"
    argv = ["train", "--data", str(text), *LSTM, "--max-steps", "100000", "--out", str(run), "--nproc", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LMLAB_DIST_TIMEOUT": "120"}
    launcher = subprocess.Popen([sys.executable, "-c", SIGTERM_AFTER_FIRST_WORKER, *argv], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        # a worker left running keeps the pipes open: a hang here is the failure this test is about
        _, err = launcher.communicate(timeout=600)
    finally:
        if launcher.poll() is None:
            launcher.kill()
        for pid in _processes_naming(str(run)):  # workers left behind: theirs is the only command line naming run
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert launcher.returncode == 143, err
    assert [line for line in err.splitlines() if line.strip()] == ["lmlab: terminated (SIGTERM)"], err
    assert _processes_naming(str(run)) == []
    assert not run.exists()


def test_more_processes_than_the_cores_can_run_are_refused(tmp_path, text, capsys):
    from lmlab.cli.launch import MAX_PROCESSES_PER_CORE, usable_cores
    from lmlab.cli.main import main

    n = MAX_PROCESSES_PER_CORE * usable_cores() * 2  # a multiple of the batch below: only the count is wrong
    rc = main(["train", "--data", str(text), *LSTM, "--batch-size", str(n), "--out", str(tmp_path / "run"),
               "--nproc", str(n)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith(f"lmlab: error: --nproc {n} is more than this machine can run: at most "), err
    assert len(err.splitlines()) == 1 and not (tmp_path / "run").exists()


# ---- bad input: one line, exit status 2


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--nproc", "0"], "--nproc must be at least 1, got 0"),
        (["--nproc", "3"], "--batch-size 8 does not split evenly over 3 processes: use --batch-size 6 or 9"),
        (["--nproc", "16"], "16 processes are more than the global batch (--batch-size 8)"),
    ],
)
def test_bad_process_counts(tmp_path, text, extra, message):
    r = lmlab("train", "--data", text, *LSTM, "--max-steps", "2", "--out", tmp_path / "run", *extra, check=False)
    assert r.returncode == 2, r.stderr
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"lmlab: error: {message}"), r.stderr
    assert not (tmp_path / "run").exists()


def test_word2vec_and_counting_models_refuse_several_processes(tmp_path, text):
    r = lmlab("train", "--task", "word2vec", "--model", "skipgram", "--data", text, "--out", tmp_path / "w",
              "--nproc", "2", check=False)  # fmt: skip
    assert r.returncode == 2 and "cannot train on several processes" in r.stderr and "Traceback" not in r.stderr
    r = lmlab("train", "--model", "ngram", "--data", text, "--out", tmp_path / "n", "--nproc", "2", check=False)
    assert r.returncode == 2 and "not trained by gradient descent" in r.stderr


def test_a_folder_that_is_not_a_run_as_out_gets_one_line_from_rank_0(tmp_path, text):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    r = lmlab("train", "--data", text, *LSTM, "--max-steps", "2", "--out", out, "--nproc", "2", check=False)
    assert r.returncode == 2
    assert [x for x in r.stderr.splitlines() if x.strip()] == [
        f"lmlab: error: {out} is not empty and is not an lmlab run; choose another --out"
    ]
    assert [p.name for p in out.iterdir()] == ["notes.txt"] and (out / "notes.txt").read_text() == "keep me"
