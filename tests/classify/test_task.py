"""Text classification on the engine, through the command line: train, eval, classify, attention, resume, folds,
and the bad inputs each answered with one line."""

from __future__ import annotations

import functools
import json
import random
import signal

import numpy as np
import pytest
import torch

from lmlab.classify import task as classify_task
from lmlab.classify.task import pad_batch
from lmlab.cli.main import main
from lmlab.metrics import evaluation_metrics
from lmlab.nn import load_tensors
from lmlab.train.bucketing import BucketedBatches
from lmlab.train.metrics import read_metrics

POS = ["good", "great", "fine", "lovely", "superb", "moving"]
NEG = ["bad", "dull", "awful", "boring", "weak", "flat"]
FILLER = ["the", "film", "a", "movie", "plot", "acting", "is", "was", "very", "and"]
TINY_CNN = ["--d-embed", "16", "--n-filters", "8", "--filter-widths", "2,3"]
TINY_ATT = ["--d-embed", "16", "--d-hidden", "8", "--d-attention", "8"]


def make_examples(n: int, seed: int, labels=("neg", "pos")) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        label = rng.choice(labels)
        words = [rng.choice(FILLER) for _ in range(rng.randint(2, 9))]
        for _ in range(rng.randint(1, 2)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(POS if label == "pos" else NEG))
        out.append((label, " ".join(words)))
    return out


def write_tsv(path, examples) -> None:
    path.write_text("".join(f"{label}\t{text}\n" for label, text in examples), encoding="utf-8")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("sentiment")
    write_tsv(d / "train.tsv", make_examples(400, 0))
    write_tsv(d / "valid.tsv", make_examples(60, 1))
    write_tsv(d / "test.tsv", make_examples(80, 2))
    return d


@pytest.fixture
def cli(capsys):
    def run(*args):
        rc = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return rc, out, err

    return run


def _train(cli, data_dir, out, model="textcnn", *extra):
    flags = TINY_CNN if model == "textcnn" else TINY_ATT if model == "attention" else []
    return cli("train", "--task", "classify", "--model", model, "--data", data_dir, "--out", out, "--seed", "1",
               "--device", "cpu", *flags, *extra)  # fmt: skip


# ---- batching and metrics
def test_bucketed_batches_cover_every_example_once_per_epoch_in_a_fixed_order():
    seqs = [np.ones(n, dtype=np.int64) for n in np.random.default_rng(0).integers(1, 30, 503)]
    bb = BucketedBatches(np.array([s.size for s in seqs]), batch_size=16, seed=3)
    for epoch in (0, 1):
        seen = np.concatenate(bb.epoch_batches(epoch))
        assert sorted(seen.tolist()) == list(range(503))
    again = BucketedBatches(np.array([s.size for s in seqs]), batch_size=16, seed=3)
    assert all((a == b).all() for a, b in zip(bb.epoch_batches(1), again.epoch_batches(1)))
    assert not all((a == b).all() for a, b in zip(bb.epoch_batches(0), bb.epoch_batches(1)))
    # bucketing keeps little padding: far less than batches drawn at random
    lengths = np.array([s.size for s in seqs])
    padded = sum(lengths[b].max() * b.size for b in bb.epoch_batches(0))
    assert padded < 1.3 * lengths.sum()


def test_pad_batch_and_mask():
    x, mask = pad_batch([np.array([3, 4]), np.array([5, 6, 7])])
    assert x.tolist() == [[3, 4, 0], [5, 6, 7]] and mask.tolist() == [[True, True, False], [True, True, True]]


def test_unseen_label_is_an_error_and_a_class_of_its_own():
    m, report = evaluation_metrics(np.array([[1.0, 0.0], [0.0, 1.0]]), ["a", "zzz"], ["a", "b"])
    assert m["accuracy"] == 0.5 and report.labels == ["a", "b", "zzz"]


# ---- the command line
def test_train_eval_classify_attention(cli, data_dir, tmp_path):
    run = tmp_path / "run"
    rc, out, err = _train(cli, data_dir, run, "attention", "--epochs", "8", "--lr", "0.01")
    assert rc == 0, err
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["task"] == "classify" and cfg["family"] == "attention" and cfg["labels"] == ["neg", "pos"]
    assert (run / "confusion-valid.png").read_bytes()[:4] == b"\x89PNG"
    rows = read_metrics(run / "metrics.jsonl")
    assert any("val_accuracy" in r for r in rows) and any("examples_per_s" in r for r in rows)

    rc, out, err = cli("eval", run, "--split", "test", "--json")
    assert rc == 0, err
    r = json.loads(out)
    assert {"accuracy", "macro_f1", "examples", "per_class", "confusion_matrix"} <= r.keys()
    assert r["examples"] == 80 and r["accuracy"] > 0.9  # the words give the label away

    rc, out, err = cli("classify", run, "--text", "a superb and lovely film")
    label, prob = out.strip().split("\t")
    assert rc == 0 and label == "pos" and 0.5 < float(prob) <= 1
    rc, out, _ = cli("classify", run, "--text", "dull", "--json")
    probs = json.loads(out)["probabilities"]
    assert set(probs) == {"neg", "pos"} and abs(sum(probs.values()) - 1) < 1e-9 and json.loads(out)["label"] == "neg"
    lines = tmp_path / "in.txt"
    lines.write_text("great movie\nawful plot\nthe film\n")
    rc, out, _ = cli("classify", run, "--input", lines)
    assert rc == 0 and [line.split("\t")[0] for line in out.splitlines()][:2] == ["pos", "neg"]
    assert len(out.splitlines()) == 3
    lines.write_text("great movie\n\nthe film\n")
    rc, out, err = cli("classify", run, "--input", lines)
    assert rc == 2 and f"{lines} line 2 is empty; give one text per line" in err and err.count("\n") == 1
    rc, out, err = cli("classify", run, "--text", "  ")
    assert rc == 2 and "--text is empty" in err

    for suffix in ("png", "html"):
        rc, out, err = cli("attention", run, "--text", "the plot was dull", "--out", tmp_path / f"a.{suffix}")
        assert rc == 0, err
    rc, out, err = cli("plot", run, "--out", tmp_path / "curves.png")  # loss, and accuracy / macro-F1 beside it
    assert rc == 0 and (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    page = (tmp_path / "a.html").read_text()
    assert "dull" in page and "hop 1" in page


def test_weights_of_attention_sum_to_one_over_the_words(data_dir, tmp_path, cli):
    run = tmp_path / "run"
    assert _train(cli, data_dir, run, "attention", "--epochs", "2", "--hops", "2")[0] == 0
    clf, _ = classify_task.load_classifier(run)
    words, weights, probs = clf.attention("the film was superb")
    assert words == ["the", "film", "was", "superb"] and weights.shape == (2, 4)
    assert np.allclose(weights.sum(axis=1), 1.0) and abs(probs.sum() - 1) < 1e-9


def _timeless(rows):
    return [{k: v for k, v in r.items() if k not in ("elapsed_s", "examples_per_s")} for r in rows]


def test_ctrl_c_then_resume_equals_uninterrupted(cli, data_dir, tmp_path, monkeypatch):
    args = ["--epochs", "3", "--eval-every", "5", "--log-every", "2", "--batch-size", "32"]
    assert _train(cli, data_dir, tmp_path / "whole", "textcnn", *args)[0] == 0

    def ctrl_c(step, trainer):
        if step == 7:
            signal.raise_signal(signal.SIGINT)

    patched = functools.partial(classify_task.train_classifier, callbacks=[ctrl_c])
    monkeypatch.setattr(classify_task, "train_classifier", patched)
    run = tmp_path / "stopped"
    rc, _, err = _train(cli, data_dir, run, "textcnn", *args)
    assert rc == 130 and "--resume" in err
    monkeypatch.undo()
    rc, _, err = cli("train", "--resume", run)
    assert rc == 0, err
    a, b = tmp_path / "whole", run
    assert _timeless(read_metrics(a / "metrics.jsonl")) == _timeless(read_metrics(b / "metrics.jsonl"))
    wa, wb = load_tensors(a / "model.safetensors"), load_tensors(b / "model.safetensors")
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], atol=1e-6, rtol=1e-6)


def test_folds(cli, data_dir, tmp_path):
    run = tmp_path / "cv"
    rc, out, err = _train(cli, data_dir, run, "bow", "--folds", "3", "--epochs", "2")
    assert rc == 0, err
    cv = json.loads((run / "cv.json").read_text())
    assert cv["folds"] == 3 and len(cv["per_fold"]) == 3 and cv["accuracy"]["std"] >= 0
    assert sum(f["examples"] for f in cv["per_fold"]) == 540  # every example tested exactly once
    assert all((run / f"fold-{i}" / "config.json").is_file() for i in (1, 2, 3))


def test_pretrained_embeddings(cli, data_dir, tmp_path):
    vectors = tmp_path / "vectors.txt"
    words = POS + NEG + FILLER
    rng = np.random.default_rng(0)
    vectors.write_text(f"{len(words)} 16\n" + "".join(
        w + " " + " ".join(f"{v:.5f}" for v in rng.normal(size=16)) + "\n" for w in words))  # fmt: skip
    run = tmp_path / "static"
    rc, _, err = _train(cli, data_dir, run, "textcnn", "--epochs", "1", "--embeddings", vectors,
                        "--embedding-mode", "static")  # fmt: skip
    assert rc == 0, err
    table = load_tensors(run / "model.safetensors")["embed.table.weight"]
    from lmlab.tokenizers import load_tokenizer

    tok = load_tokenizer(run / "tokenizer.json")
    row = tok.token_to_id("superb") + 1
    expected = np.array(vectors.read_text().splitlines()[1 + words.index("superb")].split()[1:], dtype=np.float32)
    np.testing.assert_allclose(table[row].numpy(), expected, atol=1e-5)  # copied, and static: never trained


@pytest.mark.parametrize(
    "case, expect",
    [
        ("no_tab", "train.tsv:2"),
        ("one_class", "class"),
        ("folds_1", "--folds"),
        ("folds_many", "--folds"),
        ("bad_vectors", "v.txt:2"),
        ("wrong_dim", "dimension"),
        ("label_column", "column"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(case, expect, cli, data_dir, tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    extra: list = []
    data = data_dir
    if case == "no_tab":
        (d / "train.tsv").write_text("pos\tgood film\npos good film\n")
        data = d / "train.tsv"
    elif case == "one_class":
        write_tsv(d / "train.tsv", make_examples(30, 0, labels=("pos",)))
        data = d / "train.tsv"
    elif case == "folds_1":
        extra = ["--folds", "1"]
    elif case == "folds_many":
        extra = ["--folds", "100000"]
    elif case in ("bad_vectors", "wrong_dim"):
        v = tmp_path / "v.txt"
        v.write_text("2 16\ngood 1 2 3\nbad " + " ".join(["0.5"] * 16) + "\n" if case == "bad_vectors" else
                     "1 5\ngood 1 2 3 4 5\n")  # fmt: skip
        extra = ["--embeddings", v, "--embedding-mode", "static"]
    elif case == "label_column":
        (d / "x.csv").write_text("sentence,y\ngood film,pos\nbad film,neg\n")
        data, extra = d / "x.csv", ["--label-column", "polarity", "--text-column", "sentence"]
    out = tmp_path / "run"
    rc, stdout, err = _train(cli, data, out, "textcnn", "--epochs", "1", *extra)
    assert rc == 2, err
    assert len(err.strip().splitlines()) == 1 and expect in err and "Traceback" not in err
    assert not out.exists()


def test_naive_bayes_through_the_cli(cli, data_dir, tmp_path):
    run = tmp_path / "nb"
    rc, out, err = cli("train", "--task", "classify", "--model", "nb", "--data", data_dir, "--out", run, "--ngram", "1")
    assert rc == 0, err
    cfg = json.loads((run / "config.json").read_text())
    assert (cfg["task"], cfg["family"], cfg["model"]["ngram"]) == ("classify", "nb", 1)
    rc, out, err = cli("eval", run, "--split", "test", "--json")
    assert rc == 0 and json.loads(out)["accuracy"] > 0.9
    rc, out, _ = cli("classify", run, "--text", "superb")
    assert out.startswith("pos\t")
    rc, _, err = cli("train", "--task", "classify", "--model", "nb", "--data", data_dir, "--out", tmp_path / "x",
                     "--embeddings", tmp_path / "nope.txt")  # fmt: skip
    assert rc == 2 and "--embeddings" in err


def test_folds_refuse_a_folder_of_the_users(cli, data_dir, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    rc, _, err = _train(cli, data_dir, mine, "bow", "--folds", "2", "--epochs", "1")
    assert rc == 2 and "not an lmlab cross-validation" in err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]


def test_kim2014_preset_and_unknown_presets(cli, data_dir, tmp_path):
    run = tmp_path / "kim"
    rc, _, err = _train(cli, data_dir, run, "textcnn", "--preset", "kim2014", "--epochs", "1")
    assert rc == 0, err
    cfg = json.loads((run / "config.json").read_text())["model"]
    assert (cfg["optimizer"], cfg["lr"], cfg["rho"], cfg["batch_size"], cfg["clip"]) == (
        "adadelta",
        1.0,
        0.95,
        50,
        None,
    )
    rc, _, err = _train(cli, data_dir, tmp_path / "x", "bow", "--preset", "kim2014")
    assert rc == 2 and "unknown preset 'kim2014' for --model bow" in err
