"""``lmlab train --model ngram --memory``: the training text read from its file as a stream (lmlab/data/streamed.py)
gives the run the corpus read whole gives, byte for byte; the parameter count reads no mapped table."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lmlab.cli.main import main
from lmlab.data import corpus as corpus_module
from lmlab.data import streamed
from lmlab.lm.ngram import model as model_module
from lmlab.lm.ngram.external import SpillDir
from lmlab.lm.ngram.model import NgramConfig, NgramLM
from lmlab.lm.ngram.train import fit_streaming
from lmlab.tokenizers import WordTokenizer

from .test_stream import _corpus


def _awkward_file(path, n_lines: int = 600):
    """A corpus with a byte-order mark, \\r\\n line ends, blank lines, mixed case and a last line unended."""
    lines = _corpus(n_lines, seed=3)
    lines = [line.upper() if i % 7 == 0 else ("" if i % 11 == 0 else line) for i, line in enumerate(lines)]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode())


def _train(args, out, capsys) -> tuple[int, str, str]:
    status = main([*args, "--out", str(out)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _whole(monkeypatch):
    """The CLI with the corpus read whole, as before streaming."""
    monkeypatch.setattr(streamed, "stream_corpus", lambda *a, **k: None)


@pytest.mark.parametrize(
    "extra",
    [
        ["--order", "4"],
        ["--order", "3", "--lowercase", "--min-freq", "2", "--smoothing", "kneser-ney"],
        ["--order", "3", "--tokenizer", "char"],
    ],
)
def test_the_streamed_run_is_the_run_of_the_corpus_read_whole(tmp_path, monkeypatch, capsys, extra):
    _awkward_file(tmp_path / "c.txt")
    monkeypatch.setattr(streamed, "BLOCK_BYTES", 1000)  # many blocks
    args = ["train", "--model", "ngram", "--data", str(tmp_path / "c.txt"), "--memory", "300K", *extra]
    # the training split is never read whole: load_corpus's reader is not called
    with monkeypatch.context() as m:
        m.setattr(corpus_module, "read_lines", lambda *a, **k: pytest.fail("the corpus was read whole"))
        status, out_streamed, _ = _train(args, tmp_path / "streamed", capsys)
    assert status == 0
    with monkeypatch.context() as m:
        _whole(m)
        status, out_whole, _ = _train(args, tmp_path / "whole", capsys)
    assert status == 0
    for name in ("model.ngram", "tokenizer.json"):
        assert (tmp_path / "streamed" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    configs = []
    for run in ("streamed", "whole"):
        config = json.loads((tmp_path / run / "config.json").read_text())
        del config["stats"]["train_seconds"], config["created"]  # when and how long: the two runs differ there
        config["command"] = config["command"].replace(str(tmp_path / run), "OUT")
        configs.append(config)
    assert configs[0] == configs[1]
    assert configs[0]["data"]["sha256"]["train"]  # the fingerprint of the streamed split
    # the same report: parameters (counted before saving), vocabulary, validation perplexity
    assert out_streamed.split(" in ")[0] == out_whole.split(" in ")[0]
    assert out_streamed.splitlines()[-1] == out_whole.splitlines()[-1]
    assert "valid perplexity" in out_streamed


def test_a_folder_streams_its_train_file_into_the_same_run(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "corpus"
    folder.mkdir()
    lines = _corpus(500, seed=5)
    for name, part in (("train", lines[:400]), ("valid", lines[400:450]), ("test", lines[450:])):
        (folder / f"{name}.txt").write_text("\n".join(part) + "\n")
    args = ["train", "--model", "ngram", "--order", "3", "--data", str(folder), "--memory", "200K"]
    assert _train(args, tmp_path / "streamed", capsys)[0] == 0
    with monkeypatch.context() as m:
        _whole(m)
        assert _train(args, tmp_path / "whole", capsys)[0] == 0
    assert (tmp_path / "streamed" / "model.ngram").read_bytes() == (tmp_path / "whole" / "model.ngram").read_bytes()
    data = [json.loads((tmp_path / run / "config.json").read_text())["data"] for run in ("streamed", "whole")]
    assert data[0] == data[1]


@pytest.mark.parametrize(
    "text, extra",
    [
        ("a </s> b\n" * 18 + "\n\n", []),  # a reserved token, and no text in valid and test: the corpus first
        ("\n" * 30, ["--tokenizer", "nonsense"]),  # an empty corpus and a bad tokenizer: the corpus first
        ("a b\n" * 30, ["--tokenizer", "nonsense"]),
        ("a </s> b\n" * 30, []),
        ("x\n" * 18 + "\xff\n", ["--tokenizer", "char"]),
    ],
)
def test_the_same_error_as_the_corpus_read_whole(tmp_path, monkeypatch, capsys, text, extra):
    path = tmp_path / "c.txt"
    path.write_bytes(text.encode("latin-1"))
    args = ["train", "--model", "ngram", "--data", str(path), "--memory", "1M", *extra]
    status, _, err = _train(args, tmp_path / "streamed", capsys)
    with monkeypatch.context() as m:
        _whole(m)
        expected = _train(args, tmp_path / "whole", capsys)
    assert (status, err) == (expected[0], expected[2]) and status == 2
    assert not (tmp_path / "streamed" / "model.ngram").exists()


def test_parameters_are_counted_a_part_at_a_time(monkeypatch, tmp_path):
    lines = _corpus(400)
    tok = WordTokenizer.train(lines)
    in_memory = NgramLM.fit(tok.encode_lines(lines).ids, tok, NgramConfig(order=4))
    expected = sum(int(np.isfinite(lp).sum()) for lp in in_memory.logp)
    expected += sum(int((b != 0).sum()) for b in in_memory.bow[:-1])
    assert in_memory.num_parameters() == expected
    with SpillDir(None) as spill:
        model, _ = fit_streaming(lines, tok, NgramConfig(order=4, memory="200K"), spill, progress=False)
        assert isinstance(model.logp[1], np.memmap)
        reads = []
        real = model_module.read_rows
        monkeypatch.setattr(model_module, "read_rows", lambda *a: reads.append(a[1:]) or real(*a))
        monkeypatch.setattr(model_module, "READ_ROWS", 50)
        assert model.num_parameters() == expected
        assert reads and max(stop - start for start, stop in reads) == 50


def test_a_trained_run_knows_its_parameter_count(tmp_path, capsys):
    (tmp_path / "c.txt").write_text("\n".join(_corpus(300)) + "\n")
    args = ["train", "--model", "ngram", "--order", "3", "--data", str(tmp_path / "c.txt"), "--memory", "1M"]
    assert _train(args, tmp_path / "run", capsys)[0] == 0
    from lmlab.lm.run import load_model

    model, run_cfg = load_model(tmp_path / "run")
    assert model.counted_parameters is None
    assert run_cfg["stats"]["parameters"] == model.num_parameters()
