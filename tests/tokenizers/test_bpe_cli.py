"""``lmlab tokenizer train|encode|decode|inspect|export``, and bad input as one line with exit status 2."""

from __future__ import annotations

import json

import pytest

from lmlab.cli.main import main
from lmlab.tokenizers import BPETokenizer, load_tokenizer

LINES = ["low lower newest widest", "the lowest of the low", "wider and wider"] * 4


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("byte_level", [False, True])
def test_train_encode_decode_inspect_export(tmp_path, corpus, capsys, byte_level):
    tok_path = tmp_path / "tok.json"
    flags = ["--byte-level"] if byte_level else []
    argv = ["tokenizer", "train", "--kind", "bpe", "--vocab-size", 280, *flags, "--min-frequency", 3]
    code, out, err = run(capsys, *argv, "--out", tok_path, corpus)
    assert code == 0, err
    assert "bpe tokenizer" in out and tok_path.is_file() and (tmp_path / "tok.vocab").is_file()
    tok = load_tokenizer(tok_path)
    assert isinstance(tok, BPETokenizer) and tok.byte_level == byte_level and tok.min_frequency == 3
    assert tok.to_dict() == BPETokenizer.train(LINES, vocab_size=280, byte_level=byte_level, min_frequency=3).to_dict()

    ids_path = tmp_path / "ids.txt"
    code, out, err = run(capsys, "tokenizer", "encode", tok_path, corpus, "--out", ids_path)
    assert code == 0 and out == ""
    ids_lines = ids_path.read_text().splitlines()
    assert [list(map(int, line.split())) for line in ids_lines] == [tok.encode(line) for line in LINES]

    code, out, err = run(capsys, "tokenizer", "decode", tok_path, ids_path)
    assert code == 0 and out.splitlines() == LINES

    code, out, err = run(capsys, "tokenizer", "encode", tok_path, "--text", "lowest", "--tokens")
    assert code == 0 and "".join(json.loads(out)) == "lowest"

    code, out, err = run(capsys, "tokenizer", "decode", tok_path, "--ids", " ".join(map(str, tok.encode("wider"))))
    assert code == 0 and out == "wider\n"

    code, out, err = run(capsys, "tokenizer", "inspect", tok_path, "--text", "the lowest")
    assert code == 0 and "merges" in out and "'low'" in out
    code, out, err = run(capsys, "tokenizer", "inspect", tok_path, "--all")
    assert code == 0 and len(out.splitlines()) >= tok.vocab_size

    hf_path = tmp_path / "hf.json"
    code, out, err = run(capsys, "tokenizer", "export", tok_path, "--hf", hf_path)
    assert code == 0 and json.loads(hf_path.read_text())["model"]["type"] == "BPE"


def test_encode_reports_unseen_characters(tmp_path, corpus, capsys):
    tok_path = tmp_path / "tok.json"
    assert run(capsys, "tokenizer", "train", "--vocab-size", 100, "--out", tok_path, corpus)[0] == 0
    code, out, err = run(capsys, "tokenizer", "encode", tok_path, "--text", "low жж ё")
    assert code == 0 and out.split().count("0") == 3
    assert "3 character(s) not seen in training became <unk>" in err
    code, out, err = run(capsys, "tokenizer", "encode", tok_path, "--text", "low\n\nlow wider")
    tok = load_tokenizer(tok_path)
    assert code == 0 and out.split("\n") == [" ".join(map(str, tok.encode(t))) for t in ["low", "", "low wider"]] + [""]


@pytest.mark.parametrize("byte_level", [False, True])
def test_encode_gives_the_same_ids_line_by_line_and_on_the_fast_path(tmp_path, corpus, capsys, monkeypatch, byte_level):
    from lmlab.cli import tokenizer_cmd

    tok_path, text = tmp_path / "tok.json", tmp_path / "text.txt"
    text.write_text("low lowest ж\n\n  wider  newer\tnew\nthe end\n", encoding="utf-8")
    train = ["tokenizer", "train", "--vocab-size", 300 if byte_level else 60, "--out", tok_path, corpus]
    assert run(capsys, *train, *(["--byte-level"] if byte_level else []))[0] == 0
    outputs = []
    for fast_path_chars in (0, 10**9):  # the fast path for every text, then for none
        monkeypatch.setattr(tokenizer_cmd, "FAST_PATH_CHARS", fast_path_chars)
        outputs.append(run(capsys, "tokenizer", "encode", tok_path, text))
    assert outputs[0] == outputs[1] and outputs[0][0] == 0 and len(outputs[0][1].splitlines()) == 4


def test_other_kinds_train_too(tmp_path, corpus, capsys):
    for kind in ("char", "word"):
        code, out, err = run(capsys, "tokenizer", "train", "--kind", kind, "--out", tmp_path / f"{kind}.json", corpus)
        assert code == 0 and load_tokenizer(tmp_path / f"{kind}.json").kind == kind


def test_bad_input_is_one_line_and_status_2(tmp_path, corpus, capsys):
    tok_path = tmp_path / "tok.json"
    bad_utf8 = tmp_path / "bad.txt"
    bad_utf8.write_bytes(b"good line\nbad \xff byte\n")
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    cases = [
        (["train", "--vocab-size", 10, "--out", tok_path, corpus], "smaller than the initial vocabulary"),
        (["train", "--out", tok_path, corpus], "needs --vocab-size"),
        (["train", "--vocab-size", 300, "--out", tok_path, bad_utf8], "not valid UTF-8 at byte offset 14"),
        (["train", "--vocab-size", 300, "--out", tok_path, empty], "is empty"),
        (["train", "--vocab-size", 300, "--out", tok_path, tmp_path / "missing.txt"], "no such file"),
        # a folder is not "no such file": say what it is and what to give
        (
            ["train", "--vocab-size", 300, "--out", tok_path, tmp_path],
            f"{tmp_path} is a directory; give the text files in it (e.g. {tmp_path / '*.txt'})",
        ),
        (
            ["train", "--vocab-size", 300, "--out", tmp_path, corpus],
            f"--out {tmp_path} is a directory; give the name of the file to write",
        ),
        (["inspect", tok_path, "--top", "-1"], "--top must be an integer from 0 to 1,000,000, got -1"),
        (["encode", tmp_path / "missing.json", "--text", "x"], "tokenizer file not found"),
    ]
    for argv, message in cases:
        code, out, err = run(capsys, "tokenizer", *argv)
        assert code == 2, argv
        assert message in err and len(err.strip().splitlines()) == 1, err

    assert run(capsys, "tokenizer", "train", "--vocab-size", 100, "--out", tok_path, corpus)[0] == 0
    d = json.loads(tok_path.read_text())
    for change, message in [
        ({"bpe_version": 9}, "version 9 is not supported"),
        ({"merges": [["x", "q"]]}, "uses a token"),
    ]:
        broken = tmp_path / "broken.json"
        broken.write_text(json.dumps({**d, "merge_counts": None, **change}))
        code, out, err = run(capsys, "tokenizer", "inspect", broken)
        assert code == 2 and message in err
    broken.write_text(tok_path.read_text()[:50])
    code, out, err = run(capsys, "tokenizer", "encode", broken, "--text", "x")
    assert code == 2 and "not a valid tokenizer file" in err
    for ids, message in [("1 x 2", "'x' is not a token id"), ("99999", "out of range")]:
        code, out, err = run(capsys, "tokenizer", "decode", tok_path, "--ids", ids)
        assert code == 2 and message in err
