"""Conditional generation end to end (issue 27): ``lmlab train`` on a labelled corpus, ``lmlab eval --json`` with
the labels and shuffled, ``lmlab generate --condition`` and ``lmlab.load(RUN)`` with ``condition=``, and the
one-line errors (unknown label, n-gram models, bad labelled files).

The toy corpus makes the label decide everything: label A's lines are runs of "a", B's of "b", C's of "c". A GRU
trained for a few steps has learnt it, so its perplexity given the right labels is far below the shuffled one and
greedy generation for a label repeats that label's letter.
"""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

import lmlab
from lmlab.cli.main import main

TRAIN = ["--tokenizer", "char", "--d-embed", "8", "--d-hidden", "8", "--n-layer", "1", "--dropout", "0"]
TRAIN += ["--optimizer", "adam", "--lr", "0.05", "--batch-size", "8", "--seq-len", "8", "--schedule", "constant"]
TRAIN += ["--warmup-steps", "0", "--clip", "0.25"]  # the recipe this was written with (no warm-up)
TRAIN += ["--eval-every", "1000"]  # validation once, at the end (an epoch here is 4 steps)


def lmlab_cli(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main([str(a) for a in args])
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("condition")
    data = root / "letters"
    data.mkdir()
    for label in "ABC":
        (data / f"{label}.txt").write_text("\n".join(label.lower() * (2 + i % 4) for i in range(12)) + "\n\n")
    out = {"data": data}
    for name, extra in (("gru", ["--max-steps", "30"]), ("plain", ["--max-steps", "2", "--ignore-labels"])):
        rc, _, err = lmlab_cli("train", "--model", "gru", "--data", data, "--out", root / name, *TRAIN, *extra)
        assert rc == 0, err
        out[name] = root / name
    return out


def test_a_run_records_its_labels_and_how_it_reads_them(runs):
    config = json.loads((runs["gru"] / "config.json").read_text())
    assert config["labels"] == ["A", "B", "C"] and config["model"]["num_labels"] == 3
    assert config["model"]["examples"] == "lines" and "input token" in config["condition"]
    plain = json.loads((runs["plain"] / "config.json").read_text())
    assert "labels" not in plain and plain["model"]["num_labels"] == 0


def test_runs_from_before_labels_still_load(runs, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(runs["plain"], old)
    config = json.loads((old / "config.json").read_text())
    del config["model"]["num_labels"]
    (old / "config.json").write_text(json.dumps(config))
    m = lmlab.load(old)
    assert m.labels == () and m.predict(["aaa"]) == lmlab.load(runs["plain"]).predict(["aaa"])
    config["labels"] = ["A"]  # labels the weights do not have
    (old / "config.json").write_text(json.dumps(config))
    with pytest.raises(lmlab.LmlabError, match="names 1 labels; field 'model.num_labels' is 0"):
        lmlab.load(old)


def test_eval_json_gives_the_perplexity_given_the_labels_and_shuffled(runs):
    rc, out, err = lmlab_cli("eval", runs["gru"], "--json")
    assert rc == 0, err
    r = json.loads(out)
    assert {"perplexity", "tokens", "lines", "shuffled_perplexity", "shuffled_cross_entropy", "shuffle_seed"} <= set(r)
    assert r["shuffle_seed"] == 0 and r["lines"] == 3  # test: one line of each label
    assert r["perplexity"] < 2.5 < 2 * r["perplexity"] < r["shuffled_perplexity"]
    assert set(r["per_label"]) == {"A", "B", "C"}
    assert sum(e["tokens"] for e in r["per_label"].values()) == r["tokens"]
    assert all(e["perplexity"] < e["shuffled_perplexity"] for e in r["per_label"].values())
    rc, out, err = lmlab_cli("eval", runs["gru"], "--json")
    assert json.loads(out) == r  # the shuffle is seeded
    # a model trained without the labels: per label, nothing shuffled
    rc, out, err = lmlab_cli("eval", runs["plain"], "--json")
    assert rc == 0, err
    plain = json.loads(out)
    assert "shuffled_perplexity" not in plain and set(plain["per_label"]) == {"A", "B", "C"}
    assert plain["tokens"] == r["tokens"]


def test_generate_for_a_label_by_the_cli_and_by_lmlab_load(runs):
    for label in "ABC":
        rc, out, err = lmlab_cli("generate", runs["gru"], "--condition", label, "--greedy", "--max-tokens", "4")
        assert rc == 0, err
        assert out.endswith("\n") and set(out[:-1]) == {label.lower()}  # the label's letter, 1 to 4 times
    rc, out, _ = lmlab_cli("generate", runs["gru"], "--condition", "B", "--seed", "3", "--num-samples", "1")
    m = lmlab.load(runs["gru"])
    assert m.labels == ("A", "B", "C") and m.describe()["labels"] == ["A", "B", "C"]
    steps = list(m.generate(condition="B", seed=3))
    assert out == "".join(s["text"] for s in steps) + "\n"
    # predict and explain read the text given the label
    given_a, given_c = m.predict(["aaa", "aaa"], condition=["A", "C"])
    assert given_a["condition"] == "A" and given_a["perplexity"] < given_c["perplexity"]
    assert m.predict(["aaa"], condition="A")[0]["logprobs"] == given_a["logprobs"]
    assert m.explain("aaa", condition="A")["condition"] == "A"


def test_condition_errors_are_one_line(runs, tmp_path):
    rc, _, err = lmlab_cli("generate", runs["gru"], "--condition", "D")
    assert rc == 2 and err.strip() == "lmlab: error: unknown condition 'D'; this model knows: A, B, C"
    rc, _, err = lmlab_cli("generate", runs["gru"])
    assert rc == 2 and "give --condition one of: A, B, C" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(lmlab.LmlabError, match="give condition= one of: A, B, C"):
        lmlab.load(runs["gru"]).predict(["aaa"])
    rc, _, err = lmlab_cli("generate", runs["plain"], "--condition", "A")
    assert rc == 2 and "trained without labels, so it takes no condition" in err
    (tmp_path / "plain.txt").write_text("aaa\n")
    rc, _, err = lmlab_cli("eval", runs["gru"], "--text", tmp_path / "plain.txt")
    assert rc == 2 and "conditioned on a label" in err and "label<TAB>text" in err


def test_ngram_models_say_they_take_no_condition(runs, tmp_path):
    args = ("train", "--model", "ngram", "--tokenizer", "char", "--data", runs["data"], "--out", tmp_path / "ng")
    rc, _, err = lmlab_cli(*args)
    assert rc == 2 and err.startswith("lmlab: error: ngram models take no condition") and "--ignore-labels" in err
    assert len(err.strip().splitlines()) == 1
    rc, _, err = lmlab_cli(*args, "--ignore-labels")
    assert rc == 0, err
    rc, _, err = lmlab_cli("generate", tmp_path / "ng", "--condition", "A")
    assert rc == 2 and err.startswith("lmlab: error: ngram models take no condition")


def test_bad_labelled_corpora_are_one_line(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "Full.txt").write_text("abc\n" * 12)
    (tmp_path / "folder" / "Empty.txt").write_text("\n \n")
    (tmp_path / "pairs.tsv").write_text("A\tabc\nB\tbcd\nno tab here\n")
    (tmp_path / "nolabel.tsv").write_text("A\tabc\n\tbcd\n")
    cases = {
        tmp_path / "folder": "Empty.txt: the label file of 'Empty' has no text",
        tmp_path / "pairs.tsv": "pairs.tsv:3: no tab; each line of a labelled corpus must be label<TAB>text",
        tmp_path / "nolabel.tsv": "nolabel.tsv:2: empty label",
    }
    for data, message in cases.items():
        rc, _, err = lmlab_cli("train", "--model", "gru", "--data", data, "--out", tmp_path / "run", *TRAIN)
        assert rc == 2 and message in err and len(err.strip().splitlines()) == 1, err
    (tmp_path / "few.tsv").write_text("A\tabc\nB\tbcd\n")
    rc, _, err = lmlab_cli("train", "--model", "gru", "--data", tmp_path / "few.tsv", "--out", tmp_path / "run", *TRAIN)
    assert rc == 2 and "too few to split" in err
    rc, _, err = lmlab_cli(
        "train", "--model", "gru", "--data", tmp_path / "folder", "--out", tmp_path / "r", "--examples", "stream"
    )
    assert rc == 2
