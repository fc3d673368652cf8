"""A corpus whose training split stays in its file (lmlab/data/streamed.py) against the corpus read whole
(load_corpus): the same lines, splits, sources, fingerprints and errors, read a block at a time."""

from __future__ import annotations

import codecs
import tracemalloc

import pytest

from lmlab.data import corpus as corpus_module
from lmlab.data import data_fingerprint, load_corpus, read_lines, streamed
from lmlab.data.streamed import count_lines, iter_lines, stream_corpus
from lmlab.errors import LmlabError

#: Files whose lines are easy to get wrong: a byte-order mark, \r\n, blank and whitespace lines, a form feed (not
#: a line end), a last line without a newline, non-ASCII text, a bare \r inside a line
AWKWARD = [
    b"",
    b"\n",
    b"\n\n",
    b"a",
    b"a\n",
    b"a\r\n\r\nb\r\n",
    b"a\rb\nc\r",
    codecs.BOM_UTF8 + b"x\ny",
    codecs.BOM_UTF8,
    b"one\x0ctwo\n  \n\xc3\xa9t\xc3\xa9 \xe2\x82\xac\n\tlast",
]


@pytest.mark.parametrize("block", [1, 2, 3, 5, 1 << 23])
@pytest.mark.parametrize("data", AWKWARD)
def test_lines_and_their_count_equal_read_lines(tmp_path, monkeypatch, data, block):
    monkeypatch.setattr(streamed, "BLOCK_BYTES", block)
    path = tmp_path / "t.txt"
    path.write_bytes(data)
    whole = codecs.decode(data.removeprefix(codecs.BOM_UTF8), "utf-8")
    expected = corpus_module.split_lines(whole)
    assert list(iter_lines(path)) == expected
    assert count_lines(path) == len(expected)
    for stop in range(len(expected) + 2):
        assert list(iter_lines(path, stop=stop)) == expected[:stop]


@pytest.mark.parametrize("block", [1, 4, 1 << 23])
def test_invalid_bytes_as_read_lines_has_them(tmp_path, monkeypatch, block):
    monkeypatch.setattr(streamed, "BLOCK_BYTES", block)
    path = tmp_path / "t.txt"
    # an ended and an unended multi-byte sequence, a stray continuation byte, a bad byte at the very end
    path.write_bytes(codecs.BOM_UTF8 + b"ok\nbad \xe2\x82\nx\x80y\r\nlast \xf0\x9f\x98")
    assert list(iter_lines(path, encoding_errors="replace")) == read_lines(path, encoding_errors="replace")
    with pytest.raises(LmlabError) as whole:
        read_lines(path)
    with pytest.raises(LmlabError) as streaming:
        list(iter_lines(path))
    assert str(streaming.value) == str(whole.value)
    assert "byte offset 10 (byte 0xe2)" in str(whole.value)  # 3 (the mark) + 3 + 4


def test_a_file_is_read_a_block_at_a_time(tmp_path, monkeypatch):
    monkeypatch.setattr(streamed, "BLOCK_BYTES", 1 << 16)
    path = tmp_path / "big.txt"
    line = "the quick brown fox jumps over the lazy dog " * 3
    path.write_text((line + "\n") * 40_000)  # 5.3 MB
    tracemalloc.start()
    try:
        n = sum(1 for _ in iter_lines(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert n == 40_000
    assert peak < 1 << 20, peak  # a few blocks, not the 5.3 MB file


def _corpus_file(tmp_path, lines: list[str], name: str = "c.txt"):
    path = tmp_path / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def _same_corpus(spec, **kw):
    whole = load_corpus(spec, **kw)
    stream = stream_corpus(spec, **kw)
    assert stream is not None
    assert list(stream.scan()) == whole.train
    assert list(stream.train) == whole.train  # and again, for the estimator
    assert (stream.valid, stream.test) == (whole.valid, whole.test)
    assert (stream.name, stream.source, stream.spec) == (whole.name, whole.source, whole.spec)
    assert stream.fingerprint() == data_fingerprint(whole)
    return stream


@pytest.mark.parametrize("n_lines", [20, 21, 39, 40, 9999])
def test_a_single_file_is_cut_as_load_corpus_cuts_it(tmp_path, monkeypatch, n_lines):
    monkeypatch.setattr(streamed, "BLOCK_BYTES", 64)
    monkeypatch.setattr(streamed, "HASH_LINES", 7)
    path = _corpus_file(tmp_path, [f"line {i} é" for i in range(n_lines)])
    _same_corpus(str(path))


def test_a_folder_streams_its_train_file(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, n in (("train", 50), ("valid", 5), ("test", 6)):
        _corpus_file(folder, [f"{name} {i}" for i in range(n)], f"{name}.txt")
    stream = _same_corpus(str(folder))
    assert stream.train.stop is None


def test_registered_datasets(shared_data):
    _same_corpus("ptb", data_dir=shared_data, download=False)  # train.txt, valid.txt, test.txt
    _same_corpus("tinyshakespeare", data_dir=shared_data, download=False)  # one file cut by lines
    # shuffled before the cut, or labelled: read whole
    assert stream_corpus("names", data_dir=shared_data, download=False) is None
    assert stream_corpus("names-by-language", data_dir=shared_data, download=False) is None


def test_labelled_corpora_are_not_streamed(tmp_path):
    (tmp_path / "x.tsv").write_text("pos\tgood\n")
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "en.txt").write_text("one\n")
    assert stream_corpus(str(tmp_path / "x.tsv")) is None
    assert stream_corpus(str(tmp_path / "labels")) is None
    assert stream_corpus(str(tmp_path / "nothing.txt")) is None  # load_corpus says what is wrong


@pytest.mark.parametrize(
    "data",
    [
        b"",  # empty
        b" \n\t\n\n" * 10,  # only whitespace
        b"a\nb\n",  # too few lines to split
        b"x\n" * 18 + b" \n \n",  # no text in valid and test
        b"x\n" * 18 + b"y\n \n",  # no text in test
        b"\n" * 18 + b"y\nz\n",  # no text in train
        b"x\n" * 18 + b"\xff\n",  # not UTF-8
    ],
)
def test_the_same_errors_in_the_same_order(tmp_path, data):
    path = tmp_path / "c.txt"
    path.write_bytes(data)
    with pytest.raises(LmlabError) as whole:
        load_corpus(str(path))
    stream = stream_corpus(str(path))
    with pytest.raises(LmlabError) as streaming:
        list(stream.scan())
    assert str(streaming.value) == str(whole.value)


def test_folder_errors(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "train.txt").write_text(" \n\n")
    (folder / "valid.txt").write_text("v\n")
    with pytest.raises(LmlabError) as whole:
        load_corpus(str(folder))
    with pytest.raises(LmlabError) as streaming:
        stream_corpus(str(folder))
    assert str(streaming.value) == str(whole.value) and "lacks test.txt" in str(whole.value)
    (folder / "test.txt").write_text("t\n")
    with pytest.raises(LmlabError) as whole:
        load_corpus(str(folder))
    with pytest.raises(LmlabError) as streaming:
        list(stream_corpus(str(folder)).scan())
    assert str(streaming.value) == str(whole.value) and "is empty" in str(whole.value)


def test_the_scan_draws_a_bar_of_the_training_lines(tmp_path, monkeypatch):
    """The vocabulary's pass over the training text has its bar (shown as on a terminal here): every training line
    counted, of the total the cut gives, and their rate."""
    import io

    from tqdm import tqdm

    bars = []

    def shown_bar(desc, total, unit, progress):
        bars.append(tqdm(total=total, desc=desc, unit=unit, file=io.StringIO(), mininterval=0, delay=0))
        return bars[-1]

    monkeypatch.setattr(streamed, "_bar", shown_bar)
    monkeypatch.setattr(streamed, "HASH_LINES", 7)
    lines = [f"line {i}" for i in range(100)]
    corpus = stream_corpus(_corpus_file(tmp_path, lines))
    assert list(corpus.scan()) == lines[:90]
    (bar,) = bars
    assert bar.desc == "read training text" and bar.n == bar.total == 90
    assert "line/s" in bar.fp.getvalue().rsplit("\r", 1)[-1]
