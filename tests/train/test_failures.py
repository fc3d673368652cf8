"""Bad input is one clear line and exit status 2 with nothing written; a non-finite loss stops the run naming the
step and keeps the last good checkpoint."""

from __future__ import annotations

import functools
import json
import math

import pytest
import torch

from lmlab.lm.models import task as loop
from lmlab.train.checkpoint import read_checkpoint_info
from tests.train.conftest import TINY_MLP, TINY_RNN

BASE = ["--max-steps", "20", "--eval-every", "5", "--log-every", "1", "--device", "cpu"]


def _poison_at(monkeypatch, at_step):
    def poison(step, trainer):
        if step == at_step:
            with torch.no_grad():
                trainer.net.decoder.bias.fill_(float("nan"))

    monkeypatch.setattr(loop, "train_neural", functools.partial(loop.train_neural, callbacks=[poison]))


def test_nan_loss_stops_naming_the_step_and_keeps_the_last_good_checkpoint(cli, corpus_dir, tmp_path, monkeypatch):
    _poison_at(monkeypatch, 7)
    run = tmp_path / "run"
    rc, _, err = cli("train", "--model", "lstm", "--data", corpus_dir, "--out", run, *BASE, *TINY_RNN)
    assert rc == 2
    assert err.count("\n") == 1 and "the training loss is nan at step 8" in err
    assert "last good checkpoint (step 5)" in err
    assert read_checkpoint_info(run)["step"] == 5
    monkeypatch.undo()
    rc, out, _ = cli("eval", run, "--json")  # the best model so far is usable
    assert rc == 0 and math.isfinite(json.loads(out)["perplexity"])


def test_nan_before_any_checkpoint_leaves_no_run(cli, corpus_dir, tmp_path, monkeypatch):
    _poison_at(monkeypatch, 1)
    run = tmp_path / "run"
    rc, _, err = cli("train", "--model", "gru", "--data", corpus_dir, "--out", run, *BASE, *TINY_RNN)
    assert rc == 2 and "at step 2: stopped before any checkpoint" in err
    assert not run.exists()


@pytest.mark.parametrize(
    "model, flags, message",
    [
        ("lstm", ["--lr", "0"], "--lr must be > 0"),
        ("gru", ["--lr", "-0.5"], "--lr must be > 0"),
        ("lstm", ["--batch-size", "0"], "--batch-size must be an integer >= 1"),
        ("rnn", ["--seq-len", "100000"], "too few for --batch-size 4 streams of --seq-len 100000"),
        ("mlp", ["--context-len", "100000"], "longer than the training split"),
        ("mlp", ["--dropout", "1.5"], "--dropout must be in [0, 1)"),
        ("lstm", ["--d-hidden", "16", "--tie-weights"], "--tie-weights needs --d-embed equal to --d-hidden"),
        ("gru", ["--optimizer", "newton"], "--optimizer must be one of"),
        ("lstm", ["--preset", "zaremba-huge"], "unknown preset"),
        ("gru", ["--preset", "zaremba-small"], "is for --model lstm"),
        ("lstm", ["--schedule", "plateau", "--early-stop", "0"], "--early-stop must be an integer >= 1"),
        ("lstm", ["--lr", "nan"], "--lr must be > 0"),
    ],
)
def test_bad_hyperparameters_exit_2_and_write_nothing(model, flags, message, cli, corpus_dir, tmp_path):
    run = tmp_path / "run"
    tiny = TINY_MLP if model == "mlp" else TINY_RNN
    rc, _, err = cli("train", "--model", model, "--data", corpus_dir, "--out", run, *BASE, *tiny, *flags)
    assert rc == 2
    assert err.count("\n") == 1 and message in err
    assert not run.exists()


def test_bad_input_leaves_an_existing_run_untouched(cli, corpus_dir, tmp_path):
    run = tmp_path / "run"
    assert cli("train", "--model", "mlp", "--data", corpus_dir, "--out", run, *BASE, *TINY_MLP)[0] == 0
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    rc, _, _ = cli("train", "--model", "mlp", "--data", corpus_dir, "--out", run, *BASE, *TINY_MLP, "--lr", "0")
    assert rc == 2
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


def test_out_is_not_a_run_directory(cli, corpus_dir, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    rc, _, err = cli("train", "--model", "mlp", "--data", corpus_dir, "--out", tmp_path, *BASE, *TINY_MLP)
    assert rc == 2 and "is not empty and is not an lmlab run" in err
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_missing_device(cli, corpus_dir, tmp_path):
    rc, _, err = cli(
        "train", "--model", "gru", "--data", corpus_dir, "--out", tmp_path / "r", *TINY_RNN, "--device", "cuda"
    )
    assert rc == 2 and "no CUDA device is available" in err
    assert not (tmp_path / "r").exists()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_bf16_training_resumes_on_cpu(cli, corpus_dir, tmp_path):
    run = tmp_path / "run"
    args = ["--model", "lstm", "--data", corpus_dir, "--eval-every", "5", *TINY_RNN]
    rc, _, err = cli("train", *args, "--out", run, "--max-steps", "10", "--device", "cuda")
    assert rc == 0, err
    assert json.loads((run / "config.json").read_text())["stats"]["device"].startswith("cuda")
    rc, _, err = cli("train", "--resume", run, "--max-steps", "15", "--device", "cpu")
    assert rc == 0, err
    rc, out, _ = cli("eval", run, "--json")
    assert rc == 0 and math.isfinite(json.loads(out)["perplexity"])
