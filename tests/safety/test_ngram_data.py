"""Issue 10, items 4, 5, 7, 8 and 16: n-gram orders above the longest line, data recorded by content, impossible
ARPA values, whitespace-only corpora, and checksums of present dataset files.

Each test fails on the code before the fix (f9d6338): an IndexError, a silently different corpus, an accepted
p > 1, an LSTM "trained" on blank lines, a corrupted file trusted by ``lmlab data fetch``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from pathlib import Path

import numpy as np
import pytest

from lmlab.cli.main import main
from lmlab.data import DATASETS, DataFile, DatasetInfo, data_changes, data_fingerprint, load_corpus, register_dataset
from lmlab.errors import LmlabError
from lmlab.lm.ngram.arpa import read_arpa, write_arpa
from lmlab.lm.ngram.model import NgramConfig, NgramLM
from lmlab.lm.ngram.smoothing import SMOOTHINGS
from lmlab.tokenizers import WordTokenizer


@pytest.fixture
def cli(capsys):
    """``cli(*args) -> (exit status, stdout, stderr)`` of ``lmlab`` run in this process."""

    def run(*args) -> tuple[int, str, str]:
        rc = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return rc, out, err

    return run


def _fit(lines: list[str], **cfg) -> NgramLM:
    tok = WordTokenizer.train(lines)
    return NgramLM.fit(tok.encode_lines(lines).ids, tok, NgramConfig(**cfg))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---- item 4: an order above the longest line

# one or two words a line: with <s> and </s> no n-gram is longer than 4 tokens
SHORT_TRAIN = ["anna", "bob", "anna bob", "carl", "bob carl", "anna", "dora anna", "bob", "carl anna", "dora"]
SHORT_TEST = ["anna", "anna bob", "bob anna", "dora anna", "carl dora", "zed", "anna zed", "dora bob carl anna"]


@pytest.mark.parametrize("smoothing", sorted(SMOOTHINGS))
def test_empty_top_orders_score_as_the_highest_non_empty_order(smoothing, caplog):
    with caplog.at_level(logging.WARNING, logger="lmlab"):
        high = _fit(SHORT_TRAIN, order=6, smoothing=smoothing)
    assert high.sizes()[4:] == [0, 0]
    exact = _fit(SHORT_TRAIN, order=4, smoothing=smoothing)
    ids = high.tokenizer.encode_lines(SHORT_TEST).ids
    np.testing.assert_allclose(high.log10_stream(ids), exact.log10_stream(ids), rtol=0, atol=1e-12)
    for context in ([], [3], [3, 4], [4, 5, 3], [5, 5, 5, 5, 5]):
        np.testing.assert_allclose(high.next_token_log10(context), exact.next_token_log10(context), atol=1e-12)
    assert high.effective_order == 4 and "scores as an order-4 model" in caplog.text
    # no discount fallback warning about the empty orders (their counts of counts are all 0)
    assert "order 5:" not in caplog.text and "order 6:" not in caplog.text and "[0, 0, 0, 0" not in caplog.text


def test_empty_top_orders_round_trip_through_arpa_and_kenlm(tmp_path):
    model = _fit(SHORT_TRAIN, order=5)
    path = tmp_path / "m.arpa"
    write_arpa(model, path)
    assert "ngram 5=0\n" in path.read_text() and "\\5-grams:\n" in path.read_text()
    again = read_arpa(path)
    ids = model.tokenizer.encode_lines(SHORT_TEST).ids
    np.testing.assert_allclose(again.log10_stream(ids), model.log10_stream(ids), atol=1e-6)
    assert again.order == 5 and again.effective_order == 4 and again.sizes() == model.sizes()
    kenlm = pytest.importorskip("kenlm")
    ref = kenlm.Model(str(path))  # KenLM accepts empty orders and scores as the highest non-empty one
    assert ref.order == 5
    for line in SHORT_TEST + SHORT_TRAIN:
        mine = model.log10_stream(model.tokenizer.encode_lines([line]).ids).sum()
        assert mine == pytest.approx(ref.score(line, bos=True, eos=True), abs=1e-4), line


def test_default_ngram_on_names_trains_evaluates_and_exports(cli, shared_data, tmp_path, monkeypatch):
    """The issue's reproduction: word tokens, order 5, one name a line (nothing beyond 3-grams)."""
    monkeypatch.setenv("LMLAB_DATA_DIR", str(shared_data))
    run = tmp_path / "R"
    rc, out, err = cli("train", "--model", "ngram", "--data", "names", "--out", run)
    assert rc == 0, err
    assert "valid perplexity" in out and "scores as an order-3 model" in err
    rc, out, err = cli("eval", run, "--json")
    assert rc == 0, err
    five = json.loads(out)
    assert math.isfinite(five["perplexity"]) and err.count("\n") == 1  # the effective-order warning only
    assert cli("train", "--model", "ngram", "--order", 3, "--data", "names", "--out", tmp_path / "R3")[0] == 0
    three = json.loads(cli("eval", tmp_path / "R3", "--json")[1])
    assert five["perplexity"] == pytest.approx(three["perplexity"], rel=1e-12)

    arpa = tmp_path / "names.arpa"
    assert cli("export", run, "--format", "arpa", "--out", arpa)[0] == 0
    rc, out, err = cli("eval", arpa, "--data", "names", "--json")
    assert rc == 0, err
    assert json.loads(out)["perplexity"] == pytest.approx(five["perplexity"], rel=1e-6)
    kenlm = pytest.importorskip("kenlm")
    ref = kenlm.Model(str(arpa))
    names = load_corpus("names").test[:200]
    model = read_arpa(arpa)
    for name in names:
        mine = model.log10_stream(model.tokenizer.encode_lines([name]).ids).sum()
        assert mine == pytest.approx(ref.score(name, bos=True, eos=True), abs=1e-4), name


# ---- item 7: impossible values in an ARPA file

ARPA = """\\data\\
ngram 1=4
ngram 2=2

\\1-grams:
-0.5\t</s>
-99\t<s>\t{bos_bow}
-0.4\ta\t-0.2
{a_b}\tb

\\2-grams:
{p}\t<s> a
-0.2\ta b

\\end\\
"""


def _arpa(tmp_path: Path, bos_bow="-0.3", a_b="-0.6", p="-0.1") -> Path:
    path = tmp_path / "x.arpa"
    path.write_text(ARPA.format(bos_bow=bos_bow, a_b=a_b, p=p))
    return path


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"p": "0.5"}, r"x.arpa:12: log10 probability 0.5 is positive \(p > 1\)"),
        ({"a_b": "0.01"}, r"x.arpa:9: log10 probability 0.01 is positive"),
        ({"p": "nan"}, r"x.arpa:12: log10 probability nan is not a finite number"),
        ({"a_b": "inf"}, r"x.arpa:9: log10 probability inf is not a finite number"),
        ({"p": "+Infinity"}, r"x.arpa:12: log10 probability \+Infinity is not a finite number"),
        ({"bos_bow": "nan"}, r"x.arpa:7: back-off weight nan of a 1-gram is not a finite number"),
        ({"bos_bow": "inf"}, r"x.arpa:7: back-off weight inf of a 1-gram is not a finite number"),
    ],
)
def test_impossible_arpa_values_name_the_line_and_value(tmp_path, fields, message):
    with pytest.raises(LmlabError, match=message) as e:
        read_arpa(_arpa(tmp_path, **fields))
    assert "\n" not in str(e.value)


def test_possible_arpa_values_still_load(tmp_path):
    # -99 (log10 0, KenLM's <s>), a positive back-off, a back-off of log10 0 and p = 1 are all legal
    model = read_arpa(_arpa(tmp_path, bos_bow="0.25", p="0"))
    tok = model.tokenizer
    assert model.log10_stream(tok.encode_lines(["a"]).ids).tolist() == pytest.approx([0.0, -0.2 - 0.5])
    assert model.log10_stream(tok.encode_lines(["b"]).ids).tolist() == pytest.approx([0.25 - 0.6, -0.5])
    assert read_arpa(_arpa(tmp_path, bos_bow="-99", a_b="-inf")).order == 2


# ---- item 8: a whitespace-only corpus or split is empty


@pytest.mark.parametrize("content", ["   \n\t\n \u00a0 \n", " \n", "\n \n\x0c\n"])
def test_whitespace_only_file_is_empty(tmp_path, content):
    path = tmp_path / "blank.txt"
    path.write_text(content * 20, encoding="utf-8")
    with pytest.raises(LmlabError, match=r"blank.txt is empty \(no line with text, only empty or whitespace"):
        load_corpus(path)


def test_whitespace_only_split_is_named(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("".join(f"line {i}\n" for i in range(90)) + "  \n" * 5 + "more\n" * 5)
    with pytest.raises(LmlabError, match=r"c.txt: the valid split \(lines 91-95 of 100\) has no text"):
        load_corpus(path)
    folder = tmp_path / "f"
    folder.mkdir()
    for name, text in (("train", "a b\n"), ("valid", " \n\t\n"), ("test", "a\n")):
        (folder / f"{name}.txt").write_text(text)
    with pytest.raises(LmlabError, match=r"f/valid.txt is empty"):
        load_corpus(folder)


def test_lstm_refuses_a_whitespace_only_corpus(cli, tmp_path):
    path = tmp_path / "spaces.txt"
    path.write_text("   \n" * 200)
    rc, _, err = cli("train", "--model", "lstm", "--data", path, "--tokenizer", "char", "--out", tmp_path / "r",
                     "--max-steps", 2, "--device", "cpu")  # fmt: skip
    assert rc == 2 and err.count("\n") == 1 and "spaces.txt is empty" in err
    assert not (tmp_path / "r").exists()


# ---- item 5: the data a run was trained on, by absolute path and content


def test_relative_data_is_recorded_absolute_with_split_hashes(cli, tmp_path, monkeypatch):
    work, elsewhere = tmp_path / "work", tmp_path / "elsewhere"
    work.mkdir()
    elsewhere.mkdir()
    (work / "corpus.txt").write_text("".join(f"the cat number {i % 7} sat\n" for i in range(100)))
    (elsewhere / "corpus.txt").write_text("".join(f"a dog {i}\n" for i in range(100)))  # same name, other text
    monkeypatch.chdir(work)
    rc, _, err = cli("train", "--model", "ngram", "--order", 3, "--data", "corpus.txt", "--out", tmp_path / "run")
    assert rc == 0, err
    data = json.loads((tmp_path / "run" / "config.json").read_text())["data"]
    assert data["spec"] == str(work / "corpus.txt")
    corpus = load_corpus(work / "corpus.txt")
    assert data["sha256"]["test"] == hashlib.sha256("".join(f"{line}\n" for line in corpus.test).encode()).hexdigest()
    before = cli("eval", tmp_path / "run", "--json")[1]

    monkeypatch.chdir(elsewhere)  # the training file is still found, and not the one of the same name here
    rc, out, err = cli("eval", tmp_path / "run", "--json")
    assert rc == 0 and out == before and err == ""

    with open(work / "corpus.txt", "a") as f:  # the test split gains a line
        f.write("the cat number 3 sat\n" * 10)
    rc, out, err = cli("eval", tmp_path / "run", "--json")
    assert rc == 0 and err.count("\n") == 1
    assert err.startswith(f"lmlab: warning: {work / 'corpus.txt'}: its contents changed since training (")
    rc, out, err = cli("eval", tmp_path / "run", "--data", work / "corpus.txt")
    assert rc == 0 and "warning" not in err  # data named on the command line is the user's choice


def test_named_corpus_keeps_its_name(shared_data, monkeypatch):
    monkeypatch.setenv("LMLAB_DATA_DIR", str(shared_data))
    fp = data_fingerprint(load_corpus("names"))
    assert fp["spec"] == "names" and set(fp["sha256"]) == {"train", "valid", "test"}


def test_runs_without_hashes_are_not_warned_about(cli, tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("".join(f"word {i % 5}\n" for i in range(60)))
    run = tmp_path / "run"
    assert cli("train", "--model", "ngram", "--order", 2, "--data", path, "--out", run)[0] == 0
    config = json.loads((run / "config.json").read_text())
    del config["data"]["sha256"]  # as written before hashes were recorded
    (run / "config.json").write_text(json.dumps(config))
    path.write_text(path.read_text().replace("word 4", "word 3"))
    rc, _, err = cli("eval", run)
    assert rc == 0 and err == ""
    assert data_changes(config["data"], load_corpus(path)) == []


def test_resume_refuses_data_whose_contents_changed(cli, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, n in (("train", 200), ("valid", 20), ("test", 20)):
        (corpus / f"{name}.txt").write_text("".join(f"the cat {i % 9} sat on the mat\n" for i in range(n)))
    run = tmp_path / "run"
    rc, _, err = cli("train", "--model", "lstm", "--data", corpus, "--tokenizer", "char", "--out", run,
                     "--max-steps", 2, "--eval-every", 1, "--device", "cpu", "--d-embed", 8, "--d-hidden", 8,
                     "--n-layer", 1, "--batch-size", 2, "--seq-len", 8)  # fmt: skip
    assert rc == 0, err
    (corpus / "valid.txt").write_text((corpus / "valid.txt").read_text().replace("mat", "hat"))
    before = _snapshot(run)
    rc, _, err = cli("train", "--resume", run, "--max-steps", 4)
    assert rc == 2 and err.count("\n") == 1
    assert f"--resume {run}: {corpus}: its contents changed since training (valid)" in err
    assert _snapshot(run) == before


# ---- item 16: checksums of files already in the data directory

CONTENT = "".join(f"line {i} of the fake corpus\n" for i in range(300)).encode()
OTHER = b"another file\n" * 10


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A registered two-file dataset, a mirror holding the good files, and an empty data directory."""
    files = tuple(
        DataFile(f"fake/{name}", f"https://example.invalid/{name}", hashlib.sha256(data).hexdigest(), len(data))
        for name, data in (("words.txt", CONTENT), ("other.txt", OTHER))
    )
    register_dataset(DatasetInfo("test-fake-files", "a test dataset", "analogy", files))
    mirror = tmp_path / "mirror" / "fake"
    mirror.mkdir(parents=True)
    (mirror / "words.txt").write_bytes(CONTENT)
    (mirror / "other.txt").write_bytes(OTHER)
    monkeypatch.setenv("LMLAB_DATA_MIRROR", (tmp_path / "mirror").as_uri())
    data = tmp_path / "data"
    monkeypatch.setenv("LMLAB_DATA_DIR", str(data))
    yield data
    del DATASETS["test-fake-files"]


def _corrupt(data: Path) -> bytes:
    bad = CONTENT.replace(b"line 7 ", b"line 8 ")  # same size, other bytes
    (data / "fake").mkdir(parents=True, exist_ok=True)
    (data / "fake" / "words.txt").write_bytes(bad)
    return bad


def test_fetch_verifies_a_present_file_and_force_replaces_it(cli, fake):
    bad = _corrupt(fake)
    rc, _, err = cli("data", "fetch", "test-fake-files")
    assert rc == 2 and err.count("\n") == 1
    assert f"{fake / 'fake' / 'words.txt'} is corrupted: sha256" in err
    assert "lmlab data fetch test-fake-files --force" in err
    assert (fake / "fake" / "words.txt").read_bytes() == bad  # never replaced without being asked

    rc, out, err = cli("data", "fetch", "test-fake-files", "--force")
    assert rc == 0, err
    assert (fake / "fake" / "words.txt").read_bytes() == CONTENT
    assert (fake / "fake" / "other.txt").read_bytes() == OTHER
    assert set(os.listdir(fake / "fake")) == {"words.txt", "other.txt"}  # no .part left behind
    assert cli("data", "fetch", "test-fake-files")[0] == 0


def test_verify_reports_every_file(cli, fake):
    rc, out, _ = cli("data", "verify")
    assert rc == 0 and "no dataset has files in" in out  # nothing present: nothing to check
    _corrupt(fake)
    rc, out, err = cli("data", "verify", "test-fake-files")
    assert rc == 2 and err == ""
    assert out.splitlines() == [
        f"mismatch {fake / 'fake' / 'words.txt'}: sha256 {hashlib.sha256(_corrupt(fake)).hexdigest()} does not "
        f"match the expected {hashlib.sha256(CONTENT).hexdigest()}",
        f"missing  {fake / 'fake' / 'other.txt'}",
    ]
    assert cli("data", "fetch", "test-fake-files", "--force")[0] == 0
    rc, out, _ = cli("data", "verify")  # default: every dataset with a file present
    assert rc == 0
    assert out.splitlines() == [f"ok       {fake / 'fake' / 'words.txt'}", f"ok       {fake / 'fake' / 'other.txt'}"]
    (fake / "fake" / "other.txt").write_bytes(b"short\n")
    rc, out, _ = cli("data", "verify", "test-fake-files")
    assert rc == 2 and "has 6 bytes, expected 130" in out.splitlines()[1]
    rc, _, err = cli("data", "verify", "no-such-dataset")
    assert rc == 2 and "unknown dataset 'no-such-dataset'" in err
