"""Checkpoints: a run stopped partway (Ctrl-C or a crash) and resumed ends exactly where an uninterrupted run
ends; damaged checkpoints and mismatched tokenizers or data are clear errors that lose nothing."""

from __future__ import annotations

import functools
import json
import signal

import pytest
import torch

from lmlab.lm.models import task as loop
from lmlab.nn import load_tensors
from lmlab.train.checkpoint import read_checkpoint_info
from lmlab.train.metrics import read_metrics
from tests.train.conftest import TINY_MLP, TINY_RNN

# dropout, Adam moments, a cosine schedule and carried BPTT state: everything that must be restored exactly
LSTM_ARGS = [
    "--model", "lstm", "--max-steps", "20", "--eval-every", "6", "--log-every", "2", "--seed", "3",
    "--device", "cpu", "--dropout", "0.3", "--optimizer", "adam", "--lr", "0.01", "--schedule", "cosine",
    "--warmup-steps", "3", *TINY_RNN,
]  # fmt: skip
MLP_ARGS = [
    "--model", "mlp", "--max-steps", "20", "--eval-every", "6", "--log-every", "2", "--seed", "3", "--device", "cpu",
    "--dropout", "0.2", "--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.1", "--schedule", "plateau", *TINY_MLP,
]  # fmt: skip


def _timeless(rows):
    return [{k: v for k, v in r.items() if k not in ("elapsed_s", "tokens_per_s")} for r in rows]


def assert_same_run(a, b):
    assert _timeless(read_metrics(a / "metrics.jsonl")) == _timeless(read_metrics(b / "metrics.jsonl"))
    wa, wb = load_tensors(a / "model.safetensors"), load_tensors(b / "model.safetensors")
    assert wa.keys() == wb.keys()
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], atol=1e-6, rtol=1e-6)
    sa = json.loads((a / "config.json").read_text())["stats"]
    sb = json.loads((b / "config.json").read_text())["stats"]
    assert (sa["steps"], sa["best_val_loss"], sa["status"]) == (sb["steps"], sb["best_val_loss"], sb["status"])


def _with_callback(monkeypatch, callback):
    monkeypatch.setattr(loop, "train_neural", functools.partial(loop.train_neural, callbacks=[callback]))


@pytest.mark.parametrize("args", [LSTM_ARGS, MLP_ARGS], ids=["lstm", "mlp"])
def test_ctrl_c_then_resume_equals_uninterrupted(args, cli, corpus_dir, tmp_path, monkeypatch):
    rc, _, err = cli("train", *args, "--data", corpus_dir, "--out", tmp_path / "whole")
    assert rc == 0, err

    def ctrl_c(step, trainer):
        if step == 9:
            signal.raise_signal(signal.SIGINT)

    _with_callback(monkeypatch, ctrl_c)
    run = tmp_path / "stopped"
    rc, _, err = cli("train", *args, "--data", corpus_dir, "--out", run)
    assert rc == 130 and f"lmlab train --resume {run}" in err
    assert read_checkpoint_info(run)["step"] == 9  # saved at once, between two periodic checkpoints
    assert json.loads((run / "config.json").read_text())["stats"]["status"] == "interrupted"
    monkeypatch.undo()

    rc, _, err = cli("train", "--resume", run)
    assert rc == 0, err
    assert_same_run(tmp_path / "whole", run)


def test_crash_then_resume_from_the_last_checkpoint(cli, corpus_dir, tmp_path, monkeypatch):
    rc, _, err = cli("train", *LSTM_ARGS, "--data", corpus_dir, "--out", tmp_path / "whole")
    assert rc == 0, err

    def crash(step, trainer):  # like a kill: no chance to save
        if step == 10:
            raise RuntimeError("power cut")

    _with_callback(monkeypatch, crash)
    run = tmp_path / "crashed"
    with pytest.raises(RuntimeError, match="power cut"):
        cli("train", *LSTM_ARGS, "--data", corpus_dir, "--out", run)
    assert read_checkpoint_info(run)["step"] == 6
    assert max(r["step"] for r in read_metrics(run / "metrics.jsonl")) == 10  # rows past the checkpoint...
    monkeypatch.undo()
    rc, _, err = cli("train", "--resume", run, "--device", "cpu")
    assert rc == 0, err
    assert_same_run(tmp_path / "whole", run)  # ...are rewritten, not duplicated


def test_resume_can_extend_a_finished_run(cli, corpus_dir, tmp_path):
    run = tmp_path / "run"
    assert cli("train", *LSTM_ARGS, "--data", corpus_dir, "--out", run)[0] == 0
    rc, _, err = cli("train", "--resume", run, "--max-steps", "26")
    assert rc == 0, err
    assert json.loads((run / "config.json").read_text())["stats"]["steps"] == 26
    rc, _, err = cli("train", "--resume", run, "--lr", "0.5")
    assert rc == 2 and "--lr cannot change when resuming" in err


@pytest.fixture
def finished_run(cli, corpus_dir, tmp_path):
    run = tmp_path / "run"
    rc, _, err = cli("train", *LSTM_ARGS, "--max-steps", "6", "--data", corpus_dir, "--out", run)
    assert rc == 0, err
    return run


def _snapshot(run):
    return {p.relative_to(run): p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("damage", ["truncate", "flip", "state-json", "missing"])
def test_damaged_checkpoint_is_a_clear_error(damage, cli, finished_run):
    last = finished_run / "checkpoints" / "last"
    target = last / ("state.json" if damage == "state-json" else "optimizer.safetensors")
    data = target.read_bytes()
    if damage == "truncate":
        target.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        target.write_bytes(data[:-2] + bytes([data[-2] ^ 1]) + data[-1:])
    elif damage == "state-json":
        target.write_bytes(data[:20])
    else:
        target.unlink()
    before = _snapshot(finished_run)
    rc, _, err = cli("train", "--resume", finished_run, "--max-steps", "12")
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("lmlab: error: ")
    assert {"truncate": "corrupted or truncated", "flip": "checksum", "state-json": "corrupted or truncated",
            "missing": "not found"}[damage] in err  # fmt: skip
    assert _snapshot(finished_run) == before  # nothing lost or changed


def test_damaged_model_file_is_a_clear_error_for_eval(cli, finished_run):
    path = finished_run / "model.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    rc, _, err = cli("eval", finished_run)
    assert rc == 2 and "corrupted or truncated" in err


def test_resume_with_another_tokenizer_or_data(cli, finished_run, corpus_dir, tmp_path):
    before = _snapshot(finished_run)
    rc, _, err = cli("train", "--resume", finished_run, "--tokenizer", "char")
    assert rc == 2 and "the tokenizer does not match the checkpoint's" in err
    other = tmp_path / "other"
    other.mkdir()
    for name in ("train", "valid", "test"):
        text = (corpus_dir / f"{name}.txt").read_text()
        (other / f"{name}.txt").write_text(text.replace("cat", "dog"))
    rc, _, err = cli("train", "--resume", finished_run, "--data", other)
    assert rc == 2 and "its contents changed since training (train/valid/test)" in err
    rc, _, err = cli("train", "--resume", tmp_path / "nowhere")
    assert rc == 2 and "no such run directory" in err
    assert _snapshot(finished_run) == before
