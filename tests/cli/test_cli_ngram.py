"""The n-gram command forms a user (and later checks) rely on, and how bad input is refused."""

from __future__ import annotations

import json
import os

import pytest

from lmlab.cli.main import main


@pytest.fixture
def corpus(tmp_path):
    lines = [
        f"the {a} {v} on the {b}" for a in ("cat", "dog", "bird") for v in ("sat", "slept") for b in ("mat", "log")
    ]
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "train.txt").write_text("\n".join(lines * 3) + "\n")
    (folder / "valid.txt").write_text("the cat sat on the log\nthe bird slept\n")
    (folder / "test.txt").write_text("the dog sat on the mat\nthe cow sat\n")
    return folder


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_train_eval_generate_export(tmp_path, corpus, capsys):
    run_dir = tmp_path / "run"
    code, out, err = run(
        capsys,
        "train",
        "--model",
        "ngram",
        "--order",
        5,
        "--smoothing",
        "modified-kneser-ney",
        "--tokenizer",
        "word",
        "--data",
        corpus,
        "--out",
        run_dir,
    )
    assert code == 0, err
    assert {"config.json", "tokenizer.json", "model.ngram"} <= set(os.listdir(run_dir))
    config = json.loads((run_dir / "config.json").read_text())
    assert config["family"] == "ngram" and config["model"]["order"] == 5
    assert config["command"].startswith("lmlab train --model ngram")

    code, out, err = run(capsys, "eval", run_dir, "--split", "test", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert {"perplexity", "cross_entropy", "tokens", "oov"} <= result.keys()
    assert result["tokens"] == 6 + 1 + 3 + 1 and result["oov"] == 1

    code, out, err = run(capsys, "generate", run_dir, "--num-samples", 5, "--seed", 1)
    assert code == 0, err
    samples = out.splitlines()
    assert len(samples) == 5 and all(s.split()[0] == "the" for s in samples if s)
    again = run(capsys, "generate", run_dir, "--num-samples", 5, "--seed", 1)[1]
    assert again == out  # a seed makes samples reproducible
    code, out, _ = run(
        capsys,
        "generate",
        run_dir,
        "--prompt",
        "the dog",
        "--greedy",
        "--temperature",
        0.5,
        "--top-k",
        3,
        "--top-p",
        0.9,
        "--max-tokens",
        4,
    )
    assert code == 0 and out.startswith("the dog")

    arpa = tmp_path / "m.arpa"
    code, out, err = run(capsys, "export", run_dir, "--format", "arpa", "--out", arpa)
    assert code == 0, err
    code, out, err = run(capsys, "eval", arpa, "--data", corpus, "--json")
    assert json.loads(out)["perplexity"] == pytest.approx(result["perplexity"], rel=1e-5)
    kenlm = pytest.importorskip("kenlm")
    assert kenlm.Model(str(arpa)).order == 5


def test_named_corpus_from_the_data_directory(tmp_path, shared_data, capsys, monkeypatch):
    monkeypatch.setenv("LMLAB_DATA_DIR", str(shared_data))
    code, out, err = run(
        capsys,
        "train",
        "--model",
        "ngram",
        "--order",
        3,
        "--tokenizer",
        "char",
        "--data",
        "names",
        "--out",
        tmp_path / "names",
    )
    assert code == 0, err
    code, out, err = run(capsys, "eval", tmp_path / "names", "--json")
    r = json.loads(out)
    assert 6 < r["perplexity"] < 12 and r["oov"] == 0


def bad(capsys, tmp_path, *argv):
    code, out, err = run(capsys, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lmlab: error:"), err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing half-written
    return lines[0]


def train_args(data, tmp_path, *extra):
    return ["train", "--model", "ngram", "--data", data, "--out", tmp_path / "out", *extra]


def test_empty_corpus(tmp_path, capsys):
    (tmp_path / "empty.txt").write_text("\n\n")
    assert "empty" in bad(capsys, tmp_path, *train_args(tmp_path / "empty.txt", tmp_path))


def test_not_utf8_names_file_and_offset_and_replace_flag_works(tmp_path, capsys):
    path = tmp_path / "latin1.txt"
    path.write_bytes(("hello world\n" * 30).encode() + b"caf\xe9 au lait\n" + b"more text\n" * 30)
    msg = bad(capsys, tmp_path, *train_args(path, tmp_path))
    assert "latin1.txt" in msg and "byte offset 363" in msg and "--encoding-errors replace" in msg
    code, _, err = run(capsys, *train_args(path, tmp_path, "--encoding-errors", "replace"))
    assert code == 0, err


@pytest.mark.parametrize("order", [0, 11, -1])
def test_order_out_of_range(tmp_path, corpus, capsys, order):
    assert "order must be an integer from 1 to 10" in bad(
        capsys, tmp_path, *train_args(corpus, tmp_path, "--order", order)
    )


def test_unknown_smoothing_lists_the_valid_ones(tmp_path, corpus, capsys):
    msg = bad(capsys, tmp_path, *train_args(corpus, tmp_path, "--smoothing", "good-luck"))
    assert "modified-kneser-ney" in msg and "witten-bell" in msg and "stupid-backoff" in msg


def test_unknown_family(tmp_path, corpus, capsys):
    assert "ngram" in bad(capsys, tmp_path, "train", "--model", "hmm", "--data", corpus, "--out", tmp_path / "out")


def test_malformed_arpa_names_the_line(tmp_path, capsys):
    path = tmp_path / "broken.arpa"
    path.write_text("\\data\\\nngram 1=2\n\n\\1-grams:\n-1 <s>\noops\n\n\\end\\\n")
    assert "broken.arpa:6" in bad(capsys, tmp_path, "eval", path, "--text", path)


def test_named_corpus_missing_says_where_it_looked(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LMLAB_DATA_DIR", str(tmp_path / "nodata"))
    monkeypatch.setenv("LMLAB_DATA_MIRROR", "http://127.0.0.1:9")  # nothing listens there: fails at once
    msg = bad(capsys, tmp_path, *train_args("ptb", tmp_path))
    assert "nodata" in msg and "LMLAB_DATA_DIR" in msg


def test_stupid_backoff_has_no_perplexity(tmp_path, corpus, capsys):
    code, out, err = run(capsys, *train_args(corpus, tmp_path, "--smoothing", "stupid-backoff"))
    assert code == 0, err
    assert "scores, not probabilities" in bad(capsys, tmp_path / "x", "eval", tmp_path / "out")


def test_sampling_flags_are_checked(tmp_path, corpus, capsys):
    assert run(capsys, *train_args(corpus, tmp_path))[0] == 0
    for flags, text in [(["--top-p", 1.5], "top-p"), (["--temperature", 0], "temperature"), (["--top-k", 0], "top-k")]:
        assert text in bad(capsys, tmp_path / "x", "generate", tmp_path / "out", *flags)


def test_config_toml_and_unknown_key(tmp_path, corpus, capsys):
    (tmp_path / "ok.toml").write_text('order = 2\nsmoothing = "witten-bell"\n')
    code, _, err = run(capsys, *train_args(corpus, tmp_path, "--config", tmp_path / "ok.toml"))
    assert code == 0, err
    assert json.loads((tmp_path / "out" / "config.json").read_text())["model"]["smoothing"] == "witten-bell"
    (tmp_path / "bad.toml").write_text("ordre = 2\n")
    msg = bad(capsys, tmp_path / "x", *train_args(corpus, tmp_path / "x", "--config", tmp_path / "bad.toml"))
    assert "ordre" in msg and "order" in msg
