"""load_corpus: dataset names, folders and single files; line semantics; errors; counts on the real data."""

from __future__ import annotations

import codecs
import hashlib
from pathlib import Path

import pytest

from lmlab.data import Corpus, load_corpus, split_lines
from lmlab.data.corpus import read_lines
from lmlab.errors import LmlabError


def _write_lines(path: Path, n: int) -> Path:
    path.write_text("".join(f"line {i}\n" for i in range(n)), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "text, lines",
    [
        ("", []),
        ("\n", [""]),
        ("a", ["a"]),
        ("a\n", ["a"]),
        ("a\n\nb\n", ["a", "", "b"]),  # empty lines are kept: WikiText uses them
        ("a\r\nb\r\n", ["a", "b"]),
        ("a\rb\n", ["a\rb"]),  # a lone \r is not a line end
        ("a\x0bb\x0cc\x1cd\x85e\u2028f\n", ["a\x0bb\x0cc\x1cd\x85e\u2028f"]),  # splitlines would cut 5 times
        ("a\n\n", ["a", ""]),
    ],
)
def test_split_lines(text: str, lines: list[str]) -> None:
    assert split_lines(text) == lines


def test_single_file_is_split_contiguously_and_deterministically(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "corpus.txt", 100)
    corpus = load_corpus(path)
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (90, 5, 5)
    assert corpus.train + corpus.valid + corpus.test == [f"line {i}" for i in range(100)]
    assert corpus.name == "corpus"
    assert load_corpus(str(path)) == corpus

    other = load_corpus(path, split=(0.8, 0.1, 0.1))
    assert (len(other.train), len(other.valid), len(other.test)) == (80, 10, 10)


def test_too_few_lines_to_split(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "tiny.txt", 10)
    with pytest.raises(LmlabError, match=r"tiny.txt has 10 lines: too few .* \(got 9/0/1\)"):
        load_corpus(path)
    assert len(load_corpus(path, split=(0.8, 0.1, 0.1)).valid) == 1


@pytest.mark.parametrize("split", [(0.9, 0.1), (0.9, 0.2, 0.1), (1.1, -0.05, -0.05), ("a", "b", "c")])
def test_bad_split_fractions(tmp_path: Path, split: tuple) -> None:
    with pytest.raises(LmlabError, match="three fractions"):
        load_corpus(_write_lines(tmp_path / "c.txt", 100), split=split)


def test_folder_with_three_files(tmp_path: Path) -> None:
    for name, n in [("train", 7), ("valid", 2), ("test", 3)]:
        _write_lines(tmp_path / f"{name}.txt", n)
    corpus = load_corpus(tmp_path)
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (7, 2, 3)
    assert corpus.split("valid") == ["line 0", "line 1"]
    assert corpus.name == tmp_path.name
    assert "folder" in corpus.source


def test_folder_missing_a_file(tmp_path: Path) -> None:
    _write_lines(tmp_path / "train.txt", 5)
    with pytest.raises(LmlabError, match="lacks valid.txt, test.txt"):
        load_corpus(tmp_path)


def test_not_utf8_names_file_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_bytes(b"hello\nw\xc3\xb6rld\nbad \xff byte\n" * 30)
    with pytest.raises(LmlabError) as e:
        load_corpus(path)
    message = str(e.value)
    assert str(path) in message and "byte offset 17 (byte 0xff)" in message
    assert "--encoding-errors replace" in message and "\n" not in message

    corpus = load_corpus(path, encoding_errors="replace")
    assert corpus.train[:3] == ["hello", "wörld", "bad \ufffd byte"]


def test_utf8_byte_order_mark_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes(codecs.BOM_UTF8 + "".join(f"é{i}\n" for i in range(40)).encode())
    assert load_corpus(path).train[0] == "é0"


@pytest.mark.parametrize("content", [b"", b"\n\n\r\n"])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(LmlabError, match="empty.txt is empty"):
        load_corpus(path)


def test_unknown_name_lists_datasets(tmp_path: Path) -> None:
    with pytest.raises(LmlabError, match="'ptbb' is neither a registered text dataset .*ptb.*wikitext-2"):
        load_corpus("ptbb", data_dir=tmp_path)


def test_split_name_is_checked() -> None:
    corpus = Corpus("c", ["a"], ["b"], ["c"], "test")
    assert corpus.split("test") == ["c"]
    with pytest.raises(LmlabError, match="unknown split 'dev'"):
        corpus.split("dev")
    assert repr(corpus) == "Corpus(name='c', train=1 lines, valid=1 lines, test=1 lines, source='test')"


def test_non_text_dataset(shared_data: Path) -> None:
    with pytest.raises(LmlabError, match="^cora is a graph dataset, not a text corpus$"):
        load_corpus("cora", data_dir=shared_data)


def test_missing_dataset_without_download(tmp_path: Path) -> None:
    with pytest.raises(LmlabError) as e:
        load_corpus("wikitext-2", data_dir=tmp_path, download=False)
    message = str(e.value)
    assert str(tmp_path / "wikitext-2" / "train.txt") in message
    assert "https://raw.githubusercontent.com/pytorch/examples/" in message and "LMLAB_DATA_DIR" in message


def test_registered_name_wins_over_a_local_file(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_lines(tmp_path / "names", 100)
    monkeypatch.chdir(tmp_path)
    assert len(load_corpus("names", data_dir=shared_data).train) == 28_829
    assert len(load_corpus(Path("names")).train) == 90


def test_ptb(shared_data: Path) -> None:
    corpus = load_corpus("ptb", data_dir=shared_data, download=False)
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (42_068, 3_370, 3_761)
    assert sum(len(line.split()) for line in corpus.train) == 887_521
    assert corpus.train[0].startswith(" aer banknote berlitz")


def test_wikitext2_keeps_blank_lines(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LMLAB_DATA_DIR", str(shared_data))
    corpus = load_corpus("wikitext-2", download=False)
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (36_718, 3_760, 4_358)
    assert corpus.train[:2] == [" ", " = Valkyria Chronicles III = "]  # blank lines are kept, and as they are


def test_names(shared_data: Path) -> None:
    corpus = load_corpus("names", data_dir=shared_data, download=False)
    lines = corpus.train + corpus.valid + corpus.test
    in_file = read_lines(shared_data / "names" / "names.txt")
    assert in_file[0] == "emma" and in_file[-1] == "zzyzx"  # no trailing newline in the file: last line kept whole
    assert sorted(lines) == sorted(in_file) and len(lines) == 32_033  # every name once, in another order
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (28_829, 1_602, 1_602)
    # the file runs by popularity and alphabet; shuffled, the test names start with every letter (a contiguous
    # tail would be rare boys' names from c to z) and the split is the same on every machine
    assert len({name[0] for name in corpus.test}) >= 25
    digest = hashlib.sha256("\n".join(corpus.test).encode()).hexdigest()
    assert digest == "0cf8906e7086989d10e1e14f0918dd64617618e1293fd99b45860729671ae51f"
    assert load_corpus("names", data_dir=shared_data, download=False).test == corpus.test


def test_tinyshakespeare(shared_data: Path) -> None:
    corpus = load_corpus("tinyshakespeare", data_dir=shared_data, download=False)
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (36_000, 2_000, 2_000)
    assert corpus.train[0] == "First Citizen:"
