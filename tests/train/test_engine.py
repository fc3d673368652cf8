"""The training engine through the CLI: every family trains, evaluates and generates; metrics, plots, presets,
TOML configs; the n-gram path is unchanged."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from lmlab.lm.run import load_model
from lmlab.train.device import CompiledOrEager
from lmlab.train.metrics import read_metrics
from tests.train.conftest import TINY_MLP, TINY_RNN

COMMON = ["--max-steps", "12", "--eval-every", "6", "--log-every", "3", "--seed", "0", "--device", "cpu"]
FAMILIES = {
    "mlp": TINY_MLP,
    "rnn": [*TINY_RNN, "--nonlinearity", "relu", "--lr", "1"],
    "lstm": [*TINY_RNN, "--tie-weights", "--locked-dropout"],
    "gru": [*TINY_RNN, "--optimizer", "adam", "--lr", "0.01", "--schedule", "cosine", "--init", "orthogonal"],
}


@pytest.mark.parametrize("family", FAMILIES)
def test_train_eval_generate(family, cli, corpus_dir, tmp_path):
    run = tmp_path / "run"
    rc, out, err = cli("train", "--model", family, "--data", corpus_dir, "--out", run, *COMMON, *FAMILIES[family])
    assert rc == 0, err
    assert f"trained {family}" in out and "valid perplexity" in out
    assert {"config.json", "tokenizer.json", "model.safetensors", "metrics.jsonl", "checkpoints"} <= {
        p.name for p in run.iterdir()
    }
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["family"] == family and cfg["stats"]["status"] == "completed" and cfg["stats"]["steps"] == 12

    rc, out, err = cli("eval", run, "--split", "test", "--json")
    assert rc == 0, err
    result = json.loads(out)
    assert result["family"] == family and math.isfinite(result["perplexity"]) and result["perplexity"] > 1
    assert result["perplexity"] < 20  # V = 18: it has learned something in 12 steps

    rc, out, err = cli("generate", run, "--seed", "0", "--num-samples", "2", "--max-tokens", "6", "--prompt", "the")
    assert rc == 0, err
    samples = out.strip().split("\n")
    assert len(samples) == 2 and all(s.startswith("the") for s in samples)


@pytest.mark.parametrize("family", ["mlp", "gru"])
def test_examples_lines_trains_and_scores_lines_apart(family, cli, corpus_dir, tmp_path):
    run = tmp_path / "run"
    extra = [*FAMILIES[family], "--examples", "lines", "--seq-len", "10"]
    rc, out, err = cli("train", "--model", family, "--data", corpus_dir, "--out", run, *COMMON, *extra)
    assert rc == 0, err
    lm, _ = load_model(run)
    assert lm.config.examples == "lines" and lm.lines_apart  # recorded in the run, read back
    rc, out, err = cli("eval", run, "--json")
    assert rc == 0, err
    assert json.loads(out)["perplexity"] < 20
    rc, out, err = cli("train", "--model", family, "--data", corpus_dir, "--out", tmp_path / "bad", "--examples", "x")
    assert rc == 2 and err.strip() == "lmlab: error: --examples must be one of stream, lines, got 'x'"
    assert not (tmp_path / "bad").exists()


def test_metrics_jsonl_rows(cli, corpus_dir, tmp_path):
    run = tmp_path / "run"
    rc, _, err = cli("train", "--model", "gru", "--data", corpus_dir, "--out", run, *COMMON, *TINY_RNN)
    assert rc == 0, err
    rows = read_metrics(run / "metrics.jsonl")
    train = [r for r in rows if "train_loss" in r]
    valid = [r for r in rows if "val_perplexity" in r]
    assert [r["step"] for r in train] == [3, 6, 9, 12]
    assert [r["step"] for r in valid] == [6, 12]
    for r in train:
        assert {"step", "train_loss", "tokens_per_s", "lr", "grad_norm", "epoch"} <= set(r)
        assert r["tokens_per_s"] > 0 and math.isfinite(r["train_loss"])
    for r in valid:
        assert r["val_perplexity"] == pytest.approx(math.exp(r["val_loss"]))
    # the run's model is the best of the evaluations, and eval reproduces its validation perplexity
    best = min(r["val_perplexity"] for r in valid)
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["stats"]["best_val_perplexity"] == pytest.approx(best)
    rc, out, _ = cli("eval", run, "--split", "valid", "--json")
    assert json.loads(out)["perplexity"] == pytest.approx(best, rel=1e-6)


def test_plot(cli, corpus_dir, tmp_path):
    run = tmp_path / "run"
    rc, _, err = cli("train", "--model", "mlp", "--data", corpus_dir, "--out", run, *COMMON, *TINY_MLP, "--plot")
    assert rc == 0, err
    assert (run / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rc, out, _ = cli("plot", run, "--out", tmp_path / "c.png")
    assert rc == 0 and (tmp_path / "c.png").is_file()
    rc, _, err = cli("plot", tmp_path)
    assert rc == 2 and "no metrics.jsonl" in err


def test_preset_then_config_file_then_flags(cli, corpus_dir, tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text("lr = 5.0\nd_hidden = 10\n")
    run = tmp_path / "run"
    rc, _, err = cli(
        "train", "--model", "lstm", "--preset", "zaremba-small", "--config", toml, "--data", corpus_dir,
        "--out", run, "--max-steps", "3", "--seed", "1", "--device", "cpu",
        "--d-embed", "10", "--batch-size", "4", "--seq-len", "6", "--lr", "7",
    )  # fmt: skip
    assert rc == 0, err
    model = json.loads((run / "config.json").read_text())["model"]
    assert model["lr"] == 7.0  # flag over file over preset
    assert model["d_hidden"] == 10  # file over preset
    assert (model["epochs"], model["init"], model["init_range"], model["schedule"]) == (13, "uniform", 0.1, "step")
    assert json.loads((run / "config.json").read_text())["stats"]["preset"] == "zaremba-small"
    toml.write_text("learning_rate = 1.0\n")
    rc, _, err = cli("train", "--model", "lstm", "--config", toml, "--data", corpus_dir, "--out", tmp_path / "x")
    assert rc == 2 and "unknown --config" in err


def test_explicit_cells_train_through_the_cli(cli, corpus_dir, tmp_path):
    rc, _, err = cli(
        "train", "--model", "lstm", "--data", corpus_dir, "--out", tmp_path / "run", "--no-fused",
        "--max-steps", "3", "--device", "cpu", *TINY_RNN,
    )  # fmt: skip
    assert rc == 0, err
    model, cfg = load_model(tmp_path / "run")
    assert cfg["model"]["fused"] is False and model.net.rnn.fused is False


def test_ngram_path_unchanged(cli, corpus_dir, tmp_path):
    rc, out, err = cli("train", "--model", "ngram", "--order", "3", "--data", corpus_dir, "--out", tmp_path / "ng")
    assert rc == 0, err and "trained ngram" in out
    rc, out, _ = cli("eval", tmp_path / "ng", "--json")
    assert rc == 0 and json.loads(out)["family"] == "ngram"
    with pytest.raises(SystemExit) as e:  # neural flags are not n-gram flags
        cli("train", "--model", "ngram", "--data", corpus_dir, "--out", tmp_path / "ng2", "--lr", "1")
    assert e.value.code == 2
    rc, _, err = cli(
        "train", "--model", "ngram", "--preset", "zaremba-small", "--data", corpus_dir, "--out", tmp_path / "n3"
    )
    assert rc == 2 and "is for --model lstm" in err


def test_compile_falls_back_to_eager(monkeypatch, caplog):
    net = nn.Linear(2, 2)
    x = torch.ones(1, 2)

    def unavailable(module):
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(torch, "compile", unavailable)
    with caplog.at_level("WARNING"):
        f = CompiledOrEager(net)
    assert torch.equal(f(x), net(x)) and "unavailable" in caplog.text

    def fails_on_call(*args):
        raise RuntimeError("backend failed")

    monkeypatch.setattr(torch, "compile", lambda module: fails_on_call)
    f = CompiledOrEager(net)
    assert torch.equal(f(x), net(x)) and f.compiled is None


def test_early_stopping_keeps_the_best_weights(cli, corpus_dir, tmp_path, monkeypatch):
    import functools

    from lmlab.lm.models import task as loop

    def spoil(step, trainer):  # after the first evaluation, make the model worse
        if step == 4:
            with torch.no_grad():
                for p in trainer.net.parameters():
                    p.add_(torch.randn_like(p))

    monkeypatch.setattr(loop, "train_neural", functools.partial(loop.train_neural, callbacks=[spoil]))
    run = tmp_path / "run"
    rc, _, err = cli(
        "train", "--model", "gru", "--data", corpus_dir, "--out", run, "--max-steps", "40", "--eval-every", "4",
        "--early-stop", "2", "--optimizer", "sgd", "--lr", "0.01", "--schedule", "constant", "--device", "cpu",
        *TINY_RNN,
    )  # fmt: skip
    assert rc == 0, err
    stats = json.loads((run / "config.json").read_text())["stats"]
    assert stats["status"] == "stopped early" and stats["steps"] == 12 and stats["best_step"] == 4
    monkeypatch.undo()
    rc, out, _ = cli("eval", run, "--split", "valid", "--json")
    assert json.loads(out)["perplexity"] == pytest.approx(stats["best_val_perplexity"], rel=1e-6)


def test_tensorboard_needs_its_package(cli, corpus_dir, tmp_path):
    from lmlab.train.metrics import tensorboard_available

    if tensorboard_available():
        pytest.skip("tensorboard is installed here")
    rc, _, err = cli(
        "train", "--model", "gru", "--data", corpus_dir, "--out", tmp_path / "r", *TINY_RNN, "--tensorboard"
    )
    assert rc == 2 and "pip install 'lmlab[tensorboard]'" in err and not (tmp_path / "r").exists()


def test_resume_needs_a_neural_checkpoint(cli, corpus_dir, tmp_path):
    assert cli("train", "--model", "ngram", "--order", "2", "--data", corpus_dir, "--out", tmp_path / "ng")[0] == 0
    rc, _, err = cli("train", "--resume", tmp_path / "ng")
    assert rc == 2 and "no checkpoint to resume from" in err
