"""Kneser-Ney within a memory budget (lmlab/lm/ngram/stream.py) gives the in-memory estimator's model bit for bit,
KenLM's on its fixtures, and refuses a budget or a disk too small in one line, leaving no temporary file."""

from __future__ import annotations

import errno
import json
import logging

import numpy as np
import pytest

from lmlab.cli.main import main
from lmlab.errors import LmlabError
from lmlab.lm.ngram import external
from lmlab.lm.ngram.external import SpillDir, parse_size
from lmlab.lm.ngram.model import NgramConfig, NgramLM
from lmlab.lm.ngram.train import fit_streaming
from lmlab.tokenizers import WordTokenizer

from .test_kenlm_reference import TOL, compare


def _corpus(n_lines: int, seed: int = 0) -> list[str]:
    """Zipf-like words, lines of 1 to 14 words: many n-grams seen once, some often."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(150)]
    p = 1.0 / np.arange(1, 151)
    p /= p.sum()
    return [" ".join(rng.choice(vocab, size=rng.integers(1, 15), p=p)) for _ in range(n_lines)]


def _both(lines, memory, **cfg):
    tok = WordTokenizer.train(lines)
    in_memory = NgramLM.fit(tok.encode_lines(lines).ids, tok, NgramConfig(**cfg))
    spill = SpillDir(None)
    streamed, tokens = fit_streaming(lines, tok, NgramConfig(memory=memory, **cfg), spill, progress=False)
    assert tokens == tok.encode_lines(lines).ids.size
    return in_memory, streamed, spill


def _assert_same_model(a: NgramLM, b: NgramLM) -> None:
    assert a.order == b.order and a.discounts == b.discounts
    for k in range(a.order):
        for name in ("keys", "logp", "bow"):
            x, y = getattr(a, name)[k], np.asarray(getattr(b, name)[k])
            assert x.dtype == y.dtype and np.array_equal(x, y), f"order {k + 1} {name}"


@pytest.mark.parametrize(
    "memory, cfg",
    [
        ("100K", {"order": 5}),  # many blocks, runs merged in several rounds
        ("2M", {"order": 3}),  # several runs, one merge
        ("1G", {"order": 4}),  # every sort in memory
        ("300K", {"order": 3, "smoothing": "kneser-ney"}),
        ("300K", {"order": 3, "interpolate_unigrams": False}),
        ("300K", {"order": 2}),
        ("300K", {"order": 1}),
        ("300K", {"order": 6}),
    ],
)
def test_streaming_equals_in_memory_bit_for_bit(memory, cfg):
    a, b, spill = _both(_corpus(800), memory, **cfg)
    _assert_same_model(a, b)
    spill.remove()


def test_orders_above_the_longest_line_stay_empty():
    a, b, spill = _both(["a b", "b a c", "c"] * 5, "1M", order=7)
    _assert_same_model(a, b)
    assert b.effective_order == 5 and b.keys[5].size == 0
    spill.remove()


def test_streaming_equals_kenlm_names_5gram(kenlm_fixtures):
    lines = (kenlm_fixtures / "names.chars.txt").read_text().splitlines()
    tok = WordTokenizer.train(lines)
    with SpillDir(None) as spill:
        model, _ = fit_streaming(lines, tok, NgramConfig(order=5, memory="16M"), spill, progress=False)
        worst = compare(model, kenlm_fixtures / "names.char5.arpa")
        assert spill.written > 0
    assert max(worst.values()) < TOL, worst


def test_streaming_with_fallback_discounts_equals_kenlm(kenlm_fixtures, caplog):
    lines = (kenlm_fixtures / "tiny.txt").read_text().splitlines()
    with caplog.at_level(logging.WARNING, logger="lmlab"):
        _, model, spill = _both(lines, "1M", order=3)
    assert max(compare(model, kenlm_fixtures / "tiny.3gram.fallback.arpa").values()) < TOL
    assert "falling back" in caplog.text
    spill.remove()


def test_budget_too_small_for_one_block():
    tok = WordTokenizer.train(_corpus(50))
    with SpillDir(None) as spill, pytest.raises(LmlabError, match=r"--memory 1,024 bytes is too small to hold one"):
        fit_streaming(_corpus(50), tok, NgramConfig(order=3, memory="1K"), spill, progress=False)


def test_full_disk_during_a_spill_removes_the_files_and_names_folder_and_bytes(tmp_path, monkeypatch):
    real_open = open
    writes = []

    def full_after_two_runs(path, mode="r", *args, **kwargs):
        if "a" in mode:
            writes.append(path)
            if len(writes) > 2:
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(external, "open", full_after_two_runs, raising=False)
    lines = _corpus(1500)
    tok = WordTokenizer.train(lines)
    spill = SpillDir(tmp_path)
    with pytest.raises(LmlabError) as e:
        fit_streaming(lines, tok, NgramConfig(order=4, memory="200K"), spill, progress=False)
    message = str(e.value)
    assert str(tmp_path) in message and "no space left" in message and "bytes failed" in message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text", ["", "0", "-2G", "2X", "lots", "nan"])
def test_bad_memory_sizes_are_refused(text):
    with pytest.raises(LmlabError, match="memory size must be a positive number"):
        parse_size(text)


def test_memory_is_for_kneser_ney_only():
    with pytest.raises(LmlabError, match="--memory estimates modified-kneser-ney and kneser-ney only"):
        NgramConfig(smoothing="witten-bell", memory="1G")


def test_cli_train_within_memory_gives_the_in_memory_run(tmp_path, capsys):
    (tmp_path / "c.txt").write_text("\n".join(_corpus(800)) + "\n")
    temp = tmp_path / "temp"
    temp.mkdir()
    common = ["train", "--model", "ngram", "--order", "4", "--tokenizer", "word", "--data", str(tmp_path / "c.txt")]
    assert main([*common, "--out", str(tmp_path / "a")]) == 0
    assert main([*common, "--memory", "300K", "--temp-dir", str(temp), "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    assert list(temp.iterdir()) == []  # the temporary folder is gone
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert "memory" not in config["model"] and config["stats"]["spilled_bytes"] > 0
    assert (tmp_path / "a" / "model.ngram").read_bytes() == (tmp_path / "b" / "model.ngram").read_bytes()
    outputs = []
    for run in ("a", "b"):
        assert main(["eval", str(tmp_path / run), "--split", "test", "--json"]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1]


def test_streaming_from_an_open_file_equals_the_list_of_lines(tmp_path):
    lines = _corpus(500)
    (tmp_path / "c.txt").write_text("\n".join(lines) + "\n")
    tok = WordTokenizer.train(lines)
    with SpillDir(None) as spill, open(tmp_path / "c.txt") as f:
        from_file, n = fit_streaming(f, tok, NgramConfig(order=4, memory="200K"), spill, progress=False)
        assert n == tok.encode_lines(lines).ids.size
        _assert_same_model(NgramLM.fit(tok.encode_lines(lines).ids, tok, NgramConfig(order=4)), from_file)


@pytest.mark.parametrize("prune", [None, (0, 0, 1)])
def test_every_pass_shows_a_bar_with_its_rate_and_the_bytes_spilled(monkeypatch, prune):
    """The count, adjust, estimate and write passes each draw a bar (shown as on a terminal here): its rate in
    tokens or n-grams a second, and the bytes spilled so far, which grow from pass to pass to the folder's total."""
    import io

    from tqdm import tqdm

    from lmlab.lm.ngram import stream

    bars = []

    def shown_bar(desc, total, unit, progress):
        assert progress
        bar = tqdm(total=total, desc=desc, unit=unit, unit_scale=True, file=io.StringIO(), mininterval=0, delay=0)
        bars.append(bar)
        return bar

    monkeypatch.setattr(stream, "_bar", shown_bar)
    lines = _corpus(800)
    tok = WordTokenizer.train(lines)
    cfg = NgramConfig(order=4, memory="300K", **({"prune": prune} if prune else {}))
    with SpillDir(None) as spill:
        fit_streaming(lines, tok, cfg, spill, progress=True)
        written = spill.written
    names = [b.desc for b in bars]
    assert names == ["count n-grams", "adjust counts", "estimate probabilities", "write tables"]
    spilled = []
    for bar in bars:
        text = bar.fp.getvalue().rsplit("\r", 1)[-1]
        unit = "token" if bar.desc == "count n-grams" else "n-gram"
        assert bar.n > 0 and f"{unit}/s" in text, text
        if bar.total is not None:
            assert bar.n == bar.total, (bar.desc, bar.n, bar.total)
        mib = float(text.split("spilled ")[1].split(" MiB")[0].replace(",", ""))
        spilled.append(mib)
    assert spilled == sorted(spilled) and 0 < spilled[-1] <= written / 2**20 + 0.5
    assert spilled[-1] >= written / 2**20 - 0.5  # the last pass writes the last bytes


@pytest.mark.parametrize("memory", ["100K", "1G"])
def test_without_the_compiled_sort_the_same_model(monkeypatch, memory):
    """A build without the C extension sorts, merges, joins and counts the windows' prefixes with numpy: the same
    model, bit for bit, spilled or in memory."""
    monkeypatch.setattr(external, "_count", None)
    a, b, spill = _both(_corpus(300), memory, order=4)
    _assert_same_model(a, b)
    spill.remove()


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_compiled_windows_of_a_block_equal_numpys(dtype):
    """The compiled pad-and-window pass of counting gives numpy's records (counts.pad_stream, then stream.windows),
    empty lines and the longest order included."""
    from lmlab.lm.ngram.stream import padded_windows

    if external._count is None:
        pytest.skip("the _count extension is not built")
    rng = np.random.default_rng(3)
    V, bos, eos = 40, 1, 2
    lines = [np.append(rng.integers(3, V, rng.integers(0, 9)), eos) for _ in range(500)]
    ids = np.concatenate(lines).astype(dtype)
    for order in (1, 2, 3, 5, 10):
        got = padded_windows(ids, bos, eos, order, sentinel=V)
        expected = padded_windows(ids, bos, eos, order, sentinel=V, compiled=False)
        assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes(), order
    for block in (ids[:1], ids[:0], np.array([eos, eos, eos], dtype=dtype)):
        assert (
            padded_windows(block, bos, eos, 3, V).tobytes()
            == padded_windows(block, bos, eos, 3, V, compiled=False).tobytes()
        )
    with pytest.raises(ValueError, match="one row per token"):
        external._count.pad_windows(
            ids, bos, eos, 3, V, np.empty(ids.size, dtype=[(f"w{j}", "<i4") for j in range(3)] + [("c", "<u4")])
        )
    with pytest.raises(ValueError, match="int32 or int64"):
        external._count.pad_windows(
            ids.astype(np.float64), bos, eos, 3, V, np.empty(0, dtype=[("w0", "<i4"), ("c", "<u4")])
        )
