"""Pruning (lmlab/lm/ngram/prune.py): --prune thresholds and --limit-vocab-file give lmplz's ARPA file, in memory and
within --memory alike (the same model bit for bit), and bad thresholds or vocabulary files are one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from lmlab.cli.main import main
from lmlab.errors import LmlabError
from lmlab.lm.ngram.external import SpillDir
from lmlab.lm.ngram.model import NgramConfig, NgramLM
from lmlab.lm.ngram.prune import check_thresholds, read_vocab_file
from lmlab.lm.ngram.train import fit_streaming
from lmlab.tokenizers import WordTokenizer

from .test_kenlm_reference import compare
from .test_stream import _assert_same_model, _corpus

LMPLZ = Path(os.environ.get("KENLM_BIN", Path.home() / ".cache" / "kenlm-4cb443e" / "bin")) / "lmplz"


@pytest.fixture
def lmplz() -> Path:
    """KenLM's lmplz, built by ../shared/tools/build-kenlm.sh; the test is skipped without it."""
    if not LMPLZ.exists():
        pytest.skip(f"lmplz not built at {LMPLZ} (bash ../shared/tools/build-kenlm.sh builds it)")
    return LMPLZ


def _fit_both(lines, memory="300K", **cfg) -> tuple[NgramLM, NgramLM]:
    tok = WordTokenizer.train(lines)
    in_memory = NgramLM.fit(tok.encode_lines(lines).ids, tok, NgramConfig(**cfg))
    with SpillDir(None) as spill:
        streamed, _ = fit_streaming(lines, tok, NgramConfig(memory=memory, **cfg), spill, progress=False)
        _assert_same_model(in_memory, streamed)
        assert streamed.tokenizer.tokens() == in_memory.tokenizer.tokens()
    return in_memory, streamed


@pytest.fixture
def ptb_head(shared_data, tmp_path):
    """The first 2,000 lines of PTB train (<unk> renamed, as lmplz refuses it) and a vocabulary file of its 600
    most frequent words and one word the corpus lacks."""
    text = (shared_data / "ptb" / "ptb.train.txt").read_text()
    lines = [s.replace("<unk>", "UNKTOK") for s in text.split("\n")[:2000]]
    folder = tmp_path / "ptb"
    folder.mkdir()
    (folder / "train.txt").write_text("\n".join(lines) + "\n")
    counts = Counter(w for s in lines for w in s.split())
    (folder / "vocab.txt").write_text("\n".join(w for w, _ in counts.most_common(600)) + "\nnot-in-the-corpus\n")
    return lines, folder


@pytest.mark.parametrize(
    "order, prune, limit",
    [
        (3, [0, 0, 1], False),  # singleton trigrams
        (4, [0, 1], False),  # singletons of orders 2 and above (the last value repeats)
        (3, [1], False),  # unigrams too: the words seen once leave the vocabulary
        (3, [0, 1, 2], False),
        (3, None, True),
        (4, [0, 0, 1], True),
    ],
)
def test_pruned_model_equals_lmplz(lmplz, ptb_head, tmp_path, order, prune, limit):
    lines, folder = ptb_head
    cmd = [str(lmplz), "-o", str(order), "-S", "64M", "-T", str(tmp_path), "--discount_fallback"]
    cmd += ["--prune", *map(str, prune)] if prune else []
    cmd += ["--limit_vocab_file", str(folder / "vocab.txt")] if limit else []
    arpa = tmp_path / "ref.arpa"
    with open(folder / "train.txt", "rb") as fi, open(arpa, "wb") as fo:
        subprocess.run(cmd, stdin=fi, stdout=fo, stderr=subprocess.DEVNULL, check=True)
    model, _ = _fit_both(lines, order=order, prune=prune, limit_vocab_file=str(folder / "vocab.txt") if limit else None)
    worst = compare(model, arpa)  # the same n-grams, <unk> included
    assert max(worst.values()) < 1e-5, worst
    header = [line for line in arpa.read_text().splitlines()[1 : order + 1]]
    assert header == [f"ngram {k}={n}" for k, n in enumerate(model.sizes(), start=1)]


def test_pruned_word_reads_as_unk_and_every_distribution_sums_to_one(tmp_path):
    lines = _corpus(600)
    (tmp_path / "v.txt").write_text(" ".join(f"w{i}" for i in range(40)))
    model, _ = _fit_both(lines, order=3, prune=[0, 1], limit_vocab_file=str(tmp_path / "v.txt"))
    tok = model.tokenizer
    assert "w3" in tok and "w70" not in tok and tok.vocab_size == 3 + 40
    assert tok.encode("w70 w3") == [tok.unk_id, tok.token_to_id("w3")]
    for context in ([], [tok.token_to_id("w0")], [tok.token_to_id("w1"), tok.token_to_id("w0")]):
        p = 10 ** model.next_token_log10(context)
        assert p.sum() == pytest.approx(1.0, abs=1e-9)


def test_pruning_nothing_is_the_unpruned_model():
    lines = _corpus(400)
    plain, _ = _fit_both(lines, order=4)
    zeros, _ = _fit_both(lines, order=4, prune=[0, 0])
    _assert_same_model(plain, zeros)


@pytest.mark.parametrize("memory", ["100K", "1G"])
def test_streaming_pruned_equals_in_memory_across_chunks(memory, tmp_path):
    (tmp_path / "v.txt").write_text("\n".join(f"w{i}" for i in range(0, 150, 2)))
    _fit_both(_corpus(800), memory=memory, order=5, prune=[0, 1, 1, 2], limit_vocab_file=str(tmp_path / "v.txt"))


@pytest.mark.parametrize(
    "prune, message",
    [
        ([], "--prune takes one threshold per order, 1 to 3 values for an order-3 model"),
        ([0, 0, 1, 1], "--prune takes one threshold per order, 1 to 3 values .*got 4: 0,0,1,1"),
        ([0, 2, 1], "must not decrease with the order.*got 0,2,1"),
        ([0, -1], "must be counts >= 0, got 0,-1"),
    ],
)
def test_bad_thresholds_are_refused(prune, message):
    with pytest.raises(LmlabError, match=message):
        NgramConfig(order=3, prune=prune)
    assert check_thresholds([0, 1], 4) == (0, 1, 1, 1)


def test_pruning_is_for_kneser_ney_only():
    with pytest.raises(LmlabError, match="--prune and --limit-vocab-file prune modified-kneser-ney and kneser-ney"):
        NgramConfig(smoothing="witten-bell", prune=[0, 1])


def test_missing_or_empty_vocabulary_file(tmp_path):
    with pytest.raises(LmlabError, match=r"--limit-vocab-file .*nope.txt: no such file"):
        read_vocab_file(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_text(" \n\n")
    with pytest.raises(LmlabError, match="holds no words"):
        read_vocab_file(tmp_path / "empty.txt")


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--prune", "0,3,1"], "must not decrease"),
        (["--prune", "0,0,0,1"], "1 to 3 values"),
        (["--prune", "0,-2"], "counts >= 0"),
        (["--limit-vocab-file", "MISSING"], "no such file"),
        (["--limit-vocab-file", "EMPTY", "--memory", "1M"], "holds no words"),
    ],
)
def test_cli_bad_pruning_is_one_line_and_exit_2(tmp_path, capsys, flags, message):
    (tmp_path / "c.txt").write_text("\n".join(_corpus(50)) + "\n")
    (tmp_path / "empty.txt").write_text("")
    flags = [{"MISSING": str(tmp_path / "missing.txt"), "EMPTY": str(tmp_path / "empty.txt")}.get(f, f) for f in flags]
    argv = ["train", "--model", "ngram", "--order", "3", "--tokenizer", "word", "--data", str(tmp_path / "c.txt")]
    assert main([*argv, *flags, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "run" / "model.ngram").exists()


def test_cli_pruned_runs_in_memory_and_streaming_are_the_same_file(tmp_path, capsys):
    (tmp_path / "c.txt").write_text("\n".join(_corpus(800)) + "\n")
    (tmp_path / "v.txt").write_text(" ".join(f"w{i}" for i in range(60)))
    argv = ["train", "--model", "ngram", "--order", "4", "--tokenizer", "word", "--data", str(tmp_path / "c.txt")]
    argv += ["--prune", "0,0,1", "--limit-vocab-file", str(tmp_path / "v.txt")]
    assert main([*argv, "--out", str(tmp_path / "a")]) == 0
    assert main([*argv, "--memory", "200K", "--out", str(tmp_path / "b")]) == 0
    assert (tmp_path / "a" / "model.ngram").read_bytes() == (tmp_path / "b" / "model.ngram").read_bytes()
    assert (tmp_path / "a" / "tokenizer.json").read_bytes() == (tmp_path / "b" / "tokenizer.json").read_bytes()
    capsys.readouterr()
    assert main(["eval", str(tmp_path / "a"), "--split", "test", "--json"]) == 0
    assert np.isfinite(json.loads(capsys.readouterr().out)["perplexity"])
