"""lmlab never loses a user's files (issue 10, items 1, 2, 3, 12, 14, 15, 17, and kill -9 at any step).

It replaces only what it made (an lmlab run, its own partial folder, a comparison), never ``.``, the working
directory, an ancestor, ``$HOME``, ``/``, a link or a folder holding anything else; a run it replaces stays whole
until the new one is complete; two writers of one run are refused; nothing is written through a link out of a
run; SIGTERM is Ctrl-C; modes honour the umask. Every data-loss test compares the user's files byte for byte.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lmlab.lm.models import task as loop
from lmlab.train.checkpoint import read_checkpoint_info
from tests.train import conftest as train_conftest
from tests.train.conftest import TINY_MLP, TINY_RNN
from tests.train.test_resume import LSTM_ARGS, assert_same_run

# the fixtures of tests/train: its small corpus, and the CLI run in this process
corpus_dir = train_conftest.corpus_dir
cli = train_conftest.cli

REPO = Path(__file__).resolve().parents[2]
BASE = ["--max-steps", "10", "--eval-every", "5", "--log-every", "1", "--device", "cpu"]
MLP = ["--model", "mlp", *BASE, *TINY_MLP]
LSTM = ["--model", "lstm", *BASE, *TINY_RNN]
NGRAM = ["--model", "ngram", "--order", "2"]
HF_CONFIG = '{\n  "architectures": ["GPT2LMHeadModel"],\n  "model_type": "gpt2",\n  "n_embd": 768\n}\n'


def snapshot(path: Path) -> dict[str, object]:
    """Everything under ``path`` (hidden entries included): file bytes, link targets, folders."""
    if path.is_symlink():
        return {".": ("link", os.readlink(path))}
    out: dict[str, object] = {}
    for p in sorted(path.rglob("*")):
        key = str(p.relative_to(path))
        if p.is_symlink():
            out[key] = ("link", os.readlink(p))
        elif p.is_dir():
            out[key] = "dir"
        else:
            out[key] = p.read_bytes()
    return out


def leftovers(run: Path) -> list[str]:
    """lmlab's names beside ``run``: partial builds, old runs set aside, lock files."""
    return sorted(p.name for p in run.parent.iterdir() if p.name.startswith(f".{run.name}."))


def one_line_error(rc: int, err: str, *needles: str) -> None:
    assert rc == 2, err
    assert err.count("\n") == 1 and err.startswith("lmlab: error: "), err
    for needle in needles:
        assert needle in err, err


@pytest.fixture
def user_folder(tmp_path, corpus_dir) -> Path:
    """A folder that merely looks like a run: a HuggingFace config.json, a checkpoints/ folder, the user's corpus."""
    d = tmp_path / "my-model"
    (d / "checkpoints").mkdir(parents=True)
    (d / "config.json").write_text(HF_CONFIG)
    (d / "checkpoints" / "step-1000.bin").write_bytes(b"\x00\x01weights")
    shutil.copy(corpus_dir / "train.txt", d / "corpus.txt")
    return d


@pytest.fixture
def old_run(cli, corpus_dir, tmp_path) -> Path:
    """A finished neural run that a new training into the same --out would replace."""
    run = tmp_path / "run"
    rc, _, err = cli("train", *MLP, "--seed", "1", "--data", corpus_dir, "--out", run)
    assert rc == 0, err
    return run


def _with_callback(monkeypatch, callback) -> None:
    monkeypatch.setattr(loop, "train_neural", functools.partial(loop.train_neural, callbacks=[callback]))


@pytest.fixture
def sigterm_must_be_handled():
    """Before the fix SIGTERM killed the process outright: here it fails the test instead of killing pytest."""

    def unhandled(signum, frame):
        raise AssertionError("SIGTERM reached the default handler: lmlab did not handle it")

    previous = signal.signal(signal.SIGTERM, unhandled)
    yield
    signal.signal(signal.SIGTERM, previous)


# ---- item 1: only lmlab runs are replaced; some places never are
@pytest.mark.parametrize("family", [MLP, NGRAM], ids=["mlp", "ngram"])
def test_a_folder_that_merely_looks_like_a_run_is_refused_and_unchanged(family, cli, corpus_dir, user_folder):
    before = snapshot(user_folder)
    rc, _, err = cli("train", *family, "--data", corpus_dir, "--out", user_folder)
    one_line_error(rc, err, f"{user_folder} is not empty and is not an lmlab run; choose another --out")
    assert snapshot(user_folder) == before
    assert leftovers(user_folder) == []


@pytest.mark.parametrize("family", [LSTM, NGRAM], ids=["lstm", "ngram"])
@pytest.mark.parametrize("place", [".", "..", "home"])
def test_the_working_directory_its_ancestors_and_home_are_never_replaced(
    place,
    family,
    cli,
    tmp_path,
    corpus_dir,
    monkeypatch,
):
    home = tmp_path / "home"
    project = home / "project"  # `cd ~/project && lmlab train ... --out .` in a folder with a config.json
    project.mkdir(parents=True)
    (home / "config.json").write_text(HF_CONFIG)
    (project / "config.json").write_text(HF_CONFIG)
    shutil.copy(corpus_dir / "train.txt", project / "corpus.txt")
    monkeypatch.setenv("HOME", str(home))
    if place == "home":
        monkeypatch.chdir(tmp_path)
        out = str(home)
    else:
        monkeypatch.chdir(project)
        out = place
    before = snapshot(tmp_path)
    rc, _, err = cli("train", *family, "--data", project / "corpus.txt", "--out", out)
    why = {".": "is the working directory", "..": "contains the working directory", "home": "is your home directory"}
    one_line_error(rc, err, f"--out {out} {why[place]}")
    assert snapshot(tmp_path) == before


def test_the_root_directory_is_never_replaced(cli, corpus_dir):
    rc, _, err = cli("train", *NGRAM, "--data", corpus_dir, "--out", "/")
    one_line_error(rc, err, "--out / is the root directory")


def test_a_symlinked_out_is_refused_not_replaced_by_a_folder(cli, corpus_dir, tmp_path):
    target = tmp_path / "real"
    assert cli("train", *NGRAM, "--data", corpus_dir, "--out", target)[0] == 0
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    before = snapshot(target)
    rc, _, err = cli("train", *NGRAM, "--data", corpus_dir, "--out", link)
    one_line_error(rc, err, f"{link} is a symbolic link")
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert snapshot(target) == before


def test_an_out_below_a_file_is_one_line(cli, corpus_dir, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine\n")
    rc, _, err = cli("train", *NGRAM, "--data", corpus_dir, "--out", notes / "run")
    one_line_error(rc, err, f"{notes} is a file")
    assert notes.read_text() == "mine\n"


def test_compare_force_replaces_only_a_comparison(corpus_dir, user_folder, tmp_path, capsys, monkeypatch):
    from lmlab.cli.main import main

    (user_folder / "report.md").write_text("my notes\n")
    before = snapshot(user_folder)
    argv = ["compare", "--data", str(corpus_dir), "--models", "ngram", "--tokenizer", "word", "--steps", "1"]
    assert main([*argv, "--force", "--out", str(user_folder)]) == 2
    err = capsys.readouterr().err
    assert "is not empty and is not an lmlab comparison" in err and err.count("\n") == 1
    assert snapshot(user_folder) == before
    monkeypatch.chdir(user_folder)
    assert main([*argv, "--force", "--out", "."]) == 2
    assert "--out . is the working directory" in capsys.readouterr().err
    assert snapshot(user_folder) == before


def test_compare_force_never_replaces_a_user_folder_at_runs_family(corpus_dir, user_folder, tmp_path, capfd):
    from lmlab.cli.main import main

    # a comparison folder (a different comparison: --force replaces it) whose runs/ngram is the user's folder
    report = tmp_path / "report"
    (report / "runs").mkdir(parents=True)
    (report / "results.json").write_text(json.dumps({"format": "lmlab-compare", "version": 1, "rows": []}))
    user_folder.rename(report / "runs" / "ngram")
    before = snapshot(report / "runs" / "ngram")
    argv = ["compare", "--data", str(corpus_dir), "--models", "ngram", "--tokenizer", "word", "--steps", "1"]
    assert main([*argv, "--force", "--out", str(report)]) == 0  # the row fails, the comparison reports it
    rows = json.loads((report / "results.json").read_text())["rows"]
    assert rows[0]["status"].startswith("failed")
    assert "is not empty and is not an lmlab run" in capfd.readouterr().err  # the child's one line
    assert snapshot(report / "runs" / "ngram") == before


# ---- item 2: the old run stays whole until the new one is complete
def _crash(step, trainer):
    if step == 2:
        raise RuntimeError("power cut")


def _ctrl_c(step, trainer):
    if step == 2:
        signal.raise_signal(signal.SIGINT)


def _sigterm(step, trainer):
    if step == 2:
        signal.raise_signal(signal.SIGTERM)


@pytest.mark.parametrize("stop", ["crash", "ctrl-c", "sigterm", "diverge"])
def test_retraining_keeps_the_old_run_until_the_new_one_has_a_checkpoint(
    stop,
    cli,
    corpus_dir,
    old_run,
    monkeypatch,
    sigterm_must_be_handled,
):
    before = snapshot(old_run)
    args = ["train", *MLP, "--seed", "2", "--data", corpus_dir, "--out", old_run]
    if stop == "crash":
        _with_callback(monkeypatch, _crash)
        with pytest.raises(RuntimeError, match="power cut"):
            cli(*args)
    elif stop == "diverge":
        rc, _, err = cli(*args, "--lr", "1e4")
        one_line_error(rc, err, "lower --lr", "the previous run there is unchanged")
    else:
        _with_callback(monkeypatch, _ctrl_c if stop == "ctrl-c" else _sigterm)
        rc, _, err = cli(*args)
        assert rc == (130 if stop == "ctrl-c" else 143)
        assert f"{old_run} still holds the previous run" in err
    monkeypatch.undo()
    assert snapshot(old_run) == before
    assert leftovers(old_run) == []
    rc, out, err = cli("eval", old_run, "--json")
    assert rc == 0 and json.loads(out)["perplexity"] > 1, err


def test_after_its_first_checkpoint_the_new_run_takes_the_old_ones_place(cli, corpus_dir, old_run, monkeypatch):
    def crash(step, trainer):
        if step == 7:  # after the checkpoint at step 5
            raise RuntimeError("power cut")

    _with_callback(monkeypatch, crash)
    with pytest.raises(RuntimeError, match="power cut"):
        cli("train", *MLP, "--seed", "2", "--data", corpus_dir, "--out", old_run)
    monkeypatch.undo()
    info = read_checkpoint_info(old_run)
    assert (info["seed"], info["step"]) == (2, 5)  # the new run, resumable
    assert leftovers(old_run) == []
    rc, _, err = cli("train", "--resume", old_run)
    assert rc == 0, err


def test_a_partial_folder_left_by_a_kill_is_recognised_and_removed(cli, corpus_dir, old_run):
    from lmlab import rundir

    with rundir.run_lock(old_run):
        partial = rundir.RunBuild(old_run).dir  # as a kill -9 leaves it: never placed, never discarded
    assert rundir.is_partial(partial) and rundir.is_lmlab_run(partial) and not rundir.is_partial(old_run)
    lookalike = old_run.parent / f".{old_run.name}.partial-0123abcd"  # the user's, unmarked: never touched
    lookalike.mkdir()
    (lookalike / "notes.txt").write_text("mine")
    rc, _, err = cli("train", *MLP, "--data", corpus_dir, "--out", old_run)
    assert rc == 0, err
    assert not partial.exists() and (lookalike / "notes.txt").read_text() == "mine"
    assert rundir.is_lmlab_run(old_run) and not (old_run / rundir.PARTIAL_MARKER).exists()


def test_a_kill_between_the_swaps_two_renames_gives_the_old_run_back(old_run):
    from lmlab import rundir

    before = snapshot(old_run)
    aside = old_run.parent / f".{old_run.name}.old-89abcdef"
    with rundir.run_lock(old_run):
        partial = rundir.RunBuild(old_run).dir
        old_run.rename(aside)  # the first rename of the swap, then the kill
        rundir.clean_leftovers(old_run)  # what the next lmlab writing this run does first
    assert snapshot(old_run) == before
    assert not aside.exists() and not partial.exists()


# ---- item 3: one writer per run
def test_a_second_training_into_the_same_out_is_refused_naming_the_first(cli, corpus_dir, tmp_path, monkeypatch):
    run = tmp_path / "run"
    second: dict[str, object] = {}

    def start_another(step, trainer):
        if step == 7:  # the first run is in place and has a checkpoint
            argv = ["train", *MLP, "--data", str(corpus_dir), "--out", str(run)]
            p = subprocess.run(
                [sys.executable, "-m", "lmlab.cli.main", *argv], capture_output=True, text=True, env=_env(), timeout=600
            )
            second.update(rc=p.returncode, err=p.stderr)

    _with_callback(monkeypatch, start_another)
    rc, _, err = cli("train", *MLP, "--data", corpus_dir, "--out", run)
    assert rc == 0, err
    one_line_error(
        second["rc"], second["err"], f"{run} is in use by another lmlab process (pid {os.getpid()}: lmlab train"
    )
    monkeypatch.undo()
    assert read_checkpoint_info(run)["step"] == 10
    rc, out, err = cli("eval", run, "--json")  # the first run is complete and loadable
    assert rc == 0 and json.loads(out)["tokens"] > 0, err
    assert leftovers(run) == []  # the lock file goes with its holder


def test_bad_input_leaves_no_lock_file_nor_parent_folders(cli, corpus_dir, tmp_path):
    rc, _, err = cli("train", *MLP, "--seq-len", "100000", "--data", corpus_dir, "--out", tmp_path / "a" / "b" / "run")
    one_line_error(rc, err, "--seq-len 100000")  # found after the lock was taken: the lock's folders go with it
    assert os.listdir(tmp_path) == []


# ---- item 12: nothing written through a link out of the run
@pytest.mark.parametrize("entry", ["metrics.jsonl", "checkpoints"])
def test_resume_never_writes_through_a_link_out_of_the_run(entry, cli, old_run, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    if entry == "metrics.jsonl":  # a dangling link: appending would create the file outside
        (old_run / entry).unlink()
        (old_run / entry).symlink_to(outside / "stolen.jsonl")
    else:
        (old_run / entry).rename(outside / entry)
        (old_run / entry).symlink_to(outside / entry, target_is_directory=True)
    before = snapshot(outside)
    rc, _, err = cli("train", "--resume", old_run, "--max-steps", "15")
    one_line_error(rc, err, str(old_run / entry))
    assert snapshot(outside) == before


def test_plot_never_writes_through_a_planted_link(cli, old_run, tmp_path):
    victim = tmp_path / "victim.png"
    victim.write_bytes(b"mine")
    (old_run / ".curves.png.tmp.png").symlink_to(victim)  # the fixed temporary name the plot used to write to
    rc, _, err = cli("plot", old_run)
    assert rc == 0, err
    assert victim.read_bytes() == b"mine"
    assert (old_run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_metrics_log_never_appends_through_a_link(tmp_path):
    from lmlab.errors import LmlabError
    from lmlab.train.metrics import MetricsLog

    (tmp_path / "metrics.jsonl").symlink_to(tmp_path / "elsewhere.jsonl")
    with pytest.raises(LmlabError, match="metrics.jsonl is a symbolic link"):
        MetricsLog(tmp_path / "metrics.jsonl")
    assert not (tmp_path / "elsewhere.jsonl").exists()


# ---- item 14: divergence is one line, not an OverflowError
def test_lr_1e4_is_one_line_and_keeps_the_old_run(cli, corpus_dir, tmp_path):
    run = tmp_path / "run"
    assert cli("train", *LSTM, "--data", corpus_dir, "--out", run)[0] == 0
    before = snapshot(run)
    rc, _, err = cli("train", *LSTM, "--lr", "1e4", "--data", corpus_dir, "--out", run)
    one_line_error(rc, err, "the training loss is not finite at step 2", "lower --lr (now 10000)")
    assert snapshot(run) == before and leftovers(run) == []


# ---- item 15: SIGTERM is Ctrl-C
def test_sigterm_saves_a_neural_run_and_says_so(cli, corpus_dir, tmp_path, monkeypatch, sigterm_must_be_handled):
    def term(step, trainer):
        if step == 7:
            signal.raise_signal(signal.SIGTERM)

    _with_callback(monkeypatch, term)
    run = tmp_path / "run"
    rc, _, err = cli("train", *MLP, "--data", corpus_dir, "--out", run)
    assert rc == 143
    assert "saving a checkpoint after this step" in err and f"lmlab train --resume {run}" in err
    assert err.endswith("lmlab: terminated (SIGTERM)\n")
    assert read_checkpoint_info(run)["step"] == 7
    assert json.loads((run / "config.json").read_text())["stats"]["status"] == "interrupted"
    monkeypatch.undo()
    rc, _, err = cli("train", "--resume", run)
    assert rc == 0, err


def test_sigterm_stops_other_commands_cleanly(cli, corpus_dir, tmp_path, monkeypatch, sigterm_must_be_handled):
    from lmlab.lm.ngram.model import NgramLM

    run = tmp_path / "run"
    assert cli("train", *NGRAM, "--data", corpus_dir, "--out", run)[0] == 0
    before, names = snapshot(run), sorted(os.listdir(tmp_path))
    save_weights = NgramLM.save_weights

    def save_then_sigterm(self, directory):  # SIGTERM halfway through writing the new run
        save_weights(self, directory)
        signal.raise_signal(signal.SIGTERM)

    monkeypatch.setattr(NgramLM, "save_weights", save_then_sigterm)
    rc, _, err = cli("train", *NGRAM, "--smoothing", "witten-bell", "--data", corpus_dir, "--out", run)
    assert (rc, err) == (143, "lmlab: terminated (SIGTERM)\n")
    assert snapshot(run) == before and sorted(os.listdir(tmp_path)) == names  # no temporary file or folder left


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}


@pytest.mark.slow
def test_compare_stops_its_child_with_sigterm_and_the_child_saves(corpus_dir, tmp_path):
    from lmlab.train.metrics import read_metrics

    out = tmp_path / "report"
    argv = ["compare", "--data", str(corpus_dir), "--models", "mlp", "--tokenizer", "word", "--steps", "1000000"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmlab.cli.main", *argv, "--device", "cpu", "--out", str(out)],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so that the test can clean up the child whatever happens
    )
    try:
        deadline = time.monotonic() + 600  # generous: a busy machine is slow to start, not broken
        while not any(read_metrics(p) for p in (out / "runs").glob("*mlp*/metrics.jsonl")):  # in its training loop
            assert proc.poll() is None and time.monotonic() < deadline, "the comparison did not start training"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)  # to lmlab compare only, as a scheduler would
        stdout, err = proc.communicate(timeout=600)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # nothing left running, pass or fail
    assert proc.returncode == 143, err
    assert "stopping mlp with SIGTERM" in stdout and "terminated (SIGTERM): saving a checkpoint" in err
    run = out / "runs" / "mlp"
    assert read_checkpoint_info(run)["step"] >= 1
    assert json.loads((run / "config.json").read_text())["stats"]["status"] == "interrupted"
    assert json.loads((out / "results.json").read_text())["format"] == "lmlab-compare"


# ---- item 17: the umask decides the modes
@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_runs_honour_the_umask(umask, cli, corpus_dir, tmp_path):
    from lmlab.compare import write_report

    previous = os.umask(umask)
    try:
        for family in (NGRAM, MLP):
            run = tmp_path / family[1]
            rc, _, err = cli("train", *family, "--data", corpus_dir, "--out", run)
            assert rc == 0, err
        report = tmp_path / "report"  # a comparison's report, for a web server to read
        cmp = {"data": "tiny", "tokenizer": "word", "device": "cpu", "budget_minutes": None, "steps": 1}
        write_report(report, {"comparison": cmp, "rows": [], "machine": "here", "date": "today"})
        for folder in (tmp_path / NGRAM[1], tmp_path / MLP[1], report):
            modes = {str(p.relative_to(tmp_path)): stat.S_IMODE(p.stat().st_mode) for p in [folder, *folder.rglob("*")]}
            want = {k: (0o777 if (tmp_path / k).is_dir() else 0o666) & ~umask for k in modes}
            assert modes == want
    finally:
        os.umask(previous)


# ---- kill -9 at a random step
KILL_AT_STEP = """
import functools, os, signal, sys
from lmlab.lm.models import task as loop
def kill(step, trainer):
    if step == {step}:
        os.kill(os.getpid(), signal.SIGKILL)
loop.train_neural = functools.partial(loop.train_neural, callbacks=[kill])
from lmlab.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def reference_runs(tmp_path_factory, corpus_dir):
    """An uninterrupted run, and an older run (another seed) that the killed training replaces."""
    from lmlab.cli.main import main

    d = tmp_path_factory.mktemp("reference")
    assert main(["train", *LSTM_ARGS, "--data", str(corpus_dir), "--out", str(d / "whole")]) == 0
    assert main(["train", *LSTM_ARGS, "--seed", "11", "--data", str(corpus_dir), "--out", str(d / "old")]) == 0
    return d / "whole", d / "old"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sigkill_at_a_random_step_leaves_the_old_run_or_a_resumable_one(
    seed, reference_runs, cli, corpus_dir, tmp_path, monkeypatch
):
    import tempfile

    whole, old = reference_runs
    run = tmp_path / "run"
    shutil.copytree(old, run, symlinks=True)
    before = snapshot(run)
    temp = tmp_path / "temp"  # the system's temporary folder, for the killed process and the one after it
    temp.mkdir()
    # LSTM_ARGS: 20 steps, a checkpoint every 6; seeds 0, 1, 2 draw steps 13, 5 and 2: both outcomes occur
    step = random.Random(seed).randint(1, 20)
    argv = ["train", *LSTM_ARGS, "--data", str(corpus_dir), "--out", str(run)]
    p = subprocess.run(
        [sys.executable, "-c", KILL_AT_STEP.format(step=step), *argv],
        env={**_env(), "TMPDIR": str(temp)},
        capture_output=True,
        timeout=600,
    )
    assert p.returncode == -signal.SIGKILL, p.stderr.decode()
    # the killed training's scratch folder (its encoded data) is left; the next training removes it
    assert [d.name[:14] for d in temp.iterdir()] == ["lmlab-scratch-"]
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    if step < 6:  # killed before the new run's first checkpoint: the old run, whole
        assert snapshot(run) == before
        from lmlab.rundir import is_partial

        lock, partial = leftovers(run)  # the lock file too: SIGKILL gave no chance to remove it (nor need)
        assert is_partial(run.parent / partial) and lock == ".run.lock"
        rc, _, err = cli("train", *LSTM_ARGS, "--data", corpus_dir, "--out", run)  # start again
    else:  # the new run, resumable from its last checkpoint
        assert read_checkpoint_info(run)["step"] == step // 6 * 6
        rc, _, err = cli("train", "--resume", run)
    assert rc == 0, err
    assert_same_run(whole, run)
    assert leftovers(run) == []
    assert list(temp.iterdir()) == []
