"""word2vec files: round trips, gensim reading lmlab's files and the reverse, the C tool's layout, bad files."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from lmlab.data import vectors as vectors_module
from lmlab.data.vectors import read_word2vec, write_word2vec
from lmlab.errors import LmlabError

WORDS = ["the", "café", "naïve", "</s>", "日本", "x-ray", "2½", "a\u00a0b"]  # the last holds a no-break space


def _vectors(n: int = len(WORDS), dim: int = 7, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n, dim)).astype(np.float32) * np.float32(3)
    v[0, 0], v[1, 1], v[2, 2] = 0.0, 1e-30, -123456.789  # zero bytes, a tiny and a large value
    return v


@pytest.mark.parametrize("binary", [False, True])
def test_round_trip_is_exact(tmp_path: Path, binary: bool) -> None:
    vecs = _vectors()
    path = tmp_path / "v.w2v"
    write_word2vec(path, WORDS, vecs, binary=binary)
    words, got = read_word2vec(path)
    assert words == WORDS
    assert got.dtype == np.float32 and got.shape == vecs.shape
    np.testing.assert_array_equal(got, vecs)
    # Forcing the format gives the same; the limit takes the first vectors.
    np.testing.assert_array_equal(read_word2vec(path, binary=binary)[1], vecs)
    words3, got3 = read_word2vec(path, limit=3)
    assert words3 == WORDS[:3]
    np.testing.assert_array_equal(got3, vecs[:3])
    assert read_word2vec(path, limit=0)[1].shape == (0, 7)


def test_text_file_layout(tmp_path: Path) -> None:
    path = tmp_path / "v.txt"
    write_word2vec(path, ["a", "b"], np.array([[0.1, -2.5], [1.0, 3e-8]]))
    assert path.read_text(encoding="utf-8") == "2 2\na 0.1 -2.5\nb 1.0 3e-08\n"


def test_binary_file_layout(tmp_path: Path) -> None:
    path = tmp_path / "v.bin"
    write_word2vec(path, ["a", "é"], np.array([[1.0, 2.0], [-0.5, 0.25]]), binary=True)
    expected = (
        b"2 2\na " + struct.pack("<2f", 1.0, 2.0) + b"\n" + "é ".encode() + struct.pack("<2f", -0.5, 0.25) + b"\n"
    )
    assert path.read_bytes() == expected


gensim = pytest.importorskip("gensim")


@pytest.mark.parametrize("binary", [False, True])
def test_gensim_reads_lmlab_files(tmp_path: Path, binary: bool) -> None:
    from gensim.models import KeyedVectors

    vecs = _vectors()
    path = tmp_path / "lmlab.w2v"
    write_word2vec(path, WORDS, vecs, binary=binary)
    kv = KeyedVectors.load_word2vec_format(str(path), binary=binary)
    assert list(kv.index_to_key) == WORDS
    np.testing.assert_array_equal(kv.vectors, vecs)


@pytest.mark.parametrize("binary", [False, True])
def test_lmlab_reads_gensim_files(tmp_path: Path, binary: bool) -> None:
    from gensim.models import KeyedVectors

    vecs = _vectors(dim=5, seed=1)
    kv = KeyedVectors(vector_size=5)
    kv.add_vectors(WORDS, vecs)
    path = tmp_path / "gensim.w2v"
    kv.save_word2vec_format(str(path), binary=binary)
    if binary:  # gensim writes no newline after a vector, unlike the C tool
        assert not path.read_bytes().endswith(b"\n")
    words, got = read_word2vec(path)
    assert words == WORDS
    np.testing.assert_array_equal(got, vecs)


def test_lmlab_reads_gensim_trained_vectors(tmp_path: Path) -> None:
    from gensim.models import Word2Vec

    sentences = [["the", "cat", "sat", "on", "the", "mat"], ["the", "dog", "sat"]] * 20
    model = Word2Vec(sentences, vector_size=8, min_count=1, epochs=2, seed=0, workers=1)
    for binary in (False, True):
        path = tmp_path / f"w2v.{binary}"
        model.wv.save_word2vec_format(str(path), binary=binary)
        words, got = read_word2vec(path)
        assert words == list(model.wv.index_to_key)
        np.testing.assert_array_equal(got, model.wv.vectors)


def test_c_tool_binary_with_newline_after_each_vector(tmp_path: Path) -> None:
    # What word2vec.c writes with -binary 1: fprintf "%lld %lld\n", then per word "%s " + fwrite of the
    # floats + "\n". The first word is the sentence end "</s>"; 10.0's bytes hold a space (0x20) and the
    # second vector's first value a newline byte (0x0a), which a reader splitting at either would trip on.
    vecs = np.array([[0.0, 10.0, -1.5], [np.float32(struct.unpack("<f", b"\x0a\x00\x80\x3f")[0]), 2.0, 3.0]])
    data = b"2 3\n" + b"</s> " + vecs[0].astype("<f4").tobytes() + b"\n"
    data += b"king " + vecs[1].astype("<f4").tobytes() + b"\n"
    path = tmp_path / "vectors.bin"
    path.write_bytes(data)
    words, got = read_word2vec(path)
    assert words == ["</s>", "king"]
    np.testing.assert_array_equal(got, vecs.astype(np.float32))


def test_c_tool_text_with_trailing_space(tmp_path: Path) -> None:
    # word2vec.c's text output: "%s " then "%lf " per value, so a space before each newline.
    path = tmp_path / "vectors.txt"
    path.write_bytes(b"2 3\n</s> 0.001 -0.002 0.003 \nking 0.500000 -0.250000 1.000000 \r\n")
    words, got = read_word2vec(path)
    assert words == ["</s>", "king"]
    np.testing.assert_array_equal(got, np.array([[0.001, -0.002, 0.003], [0.5, -0.25, 1.0]], dtype=np.float32))


def test_binary_read_in_small_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Words and vectors that straddle the reader's chunk boundaries are read the same.
    monkeypatch.setattr(vectors_module, "CHUNK", 5)
    vecs = _vectors(dim=3)
    path = tmp_path / "v.bin"
    write_word2vec(path, WORDS, vecs, binary=True)
    words, got = read_word2vec(path)
    assert words == WORDS
    np.testing.assert_array_equal(got, vecs)


def _write(tmp_path: Path, data: bytes, name: str = "bad.vec") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", r"bad\.vec is empty"),
        (b"two three\na 1 2\n", r"bad\.vec:1: the first line must be the header 'N D'.*'two three'"),
        (b"3\n", r"bad\.vec:1: the first line must be the header"),
        (b"2 0\n", r"bad\.vec:1: the first line must be the header"),
        (b"1 2 3\n", r"bad\.vec:1: the first line must be the header"),
        (b"the 0.1 0.2 0.3\nof 0.4 0.5 0.6\n", r"GloVe file has no header"),
        (b"2 3\na 0.1 0.2 0.3\nb 0.1 0.2\n", r"bad\.vec:3: word 'b' has 2 values, the header says 3"),
        (b"2 3\na 0.1 0.2 0.3\nb 0.1 0.2 0.3 0.4\n", r"bad\.vec:3: word 'b' has 4 values"),
        (b"2 2\na 0.1 0.2\nb 0.1 zero\n", r"bad\.vec:3: word 'b': 'zero' is not a number"),
        (b"2 2\na 0.1 0.2\nb 0.1 nan\n", r"bad\.vec: line 3 \('b'\) has a value that is not finite"),
        (b"3 2\na 0.1 0.2\nb 0.1 0.2\n", r"only 2 vectors, but the header says 3"),
        (b"1 2\na 0.1 0.2\nb 0.1 0.2\n", r"bad\.vec:3: more vectors than the 1 the header announces"),
        (b"2 2\na 0.1 0.2\n\xff 0.1 0.2\n", r"bad\.vec:3: not valid UTF-8"),
    ],
)
def test_bad_text_files(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(LmlabError, match=message) as e:
        read_word2vec(_write(tmp_path, data))
    assert "\n" not in str(e.value)


def _binary(words: list[bytes], dim: int, vecs: np.ndarray, n: int | None = None) -> bytes:
    body = b"".join(w + b" " + v.astype("<f4").tobytes() + b"\n" for w, v in zip(words, vecs))
    return f"{len(words) if n is None else n} {dim}\n".encode() + body


def test_bad_binary_files(tmp_path: Path) -> None:
    vecs = _vectors(n=3, dim=4)
    good = _binary([b"a", b"bb", b"ccc"], 4, vecs)
    # Cut inside the last vector, before the last word, and inside the last word.
    cut_vector = _write(tmp_path, good[:-6])
    with pytest.raises(LmlabError, match=r"truncated: the file ends inside the vector of word #3 \('ccc'\) of 3"):
        read_word2vec(cut_vector)
    more_words = _write(tmp_path, _binary([b"a", b"bb", b"ccc"], 4, vecs, n=4))
    with pytest.raises(LmlabError, match=r"truncated: the file ends before word #4 of the 4"):
        read_word2vec(more_words, binary=True)
    with pytest.raises(LmlabError, match=r"truncated"):
        read_word2vec(_write(tmp_path, good[: good.index(b"ccc") + 2]), binary=True)
    # The header's dimension is wrong: the reader runs out of step with the records and says so in one line.
    for header in (b"3 3", b"3 5"):
        with pytest.raises(LmlabError, match=r"bad\.vec: ") as e:
            read_word2vec(_write(tmp_path, header + good[good.index(b"\n") :]), binary=True)
        assert "\n" not in str(e.value)
    fewer = _write(tmp_path, b"2 4" + good[good.index(b"\n") :])
    with pytest.raises(LmlabError, match=r"more data after the 2 vectors the header announces"):
        read_word2vec(fewer, binary=True)
    bad_word = _write(tmp_path, _binary([b"a", b"\xffb"], 4, vecs[:2]))
    with pytest.raises(LmlabError, match=r"word #2 \(b'\\xffb'\) is not valid UTF-8"):
        read_word2vec(bad_word)
    words, _ = read_word2vec(bad_word, encoding_errors="replace")
    assert words == ["a", "\ufffdb"]
    nan = vecs[:2].copy()
    nan[1, 2] = np.nan
    with pytest.raises(LmlabError, match=r"word #2 \('bb'\) has a value that is not finite"):
        read_word2vec(_write(tmp_path, _binary([b"a", b"bb"], 4, nan)))


def test_missing_file_and_bad_options(tmp_path: Path) -> None:
    with pytest.raises(LmlabError, match="not found"):
        read_word2vec(tmp_path / "nothing.bin")
    with pytest.raises(LmlabError, match="is a folder"):
        read_word2vec(tmp_path)
    with pytest.raises(LmlabError, match="encoding_errors"):
        read_word2vec(tmp_path / "x", encoding_errors="ignore")


@pytest.mark.parametrize(
    "words, vecs, message",
    [
        (["a", "b c"], np.zeros((2, 2)), r"word #2 'b c' is empty or holds whitespace"),
        (["a", ""], np.zeros((2, 2)), r"word #2 '' is empty"),
        (["a", "b\n"], np.zeros((2, 2)), r"holds whitespace"),
        (["a", "b\tc"], np.zeros((2, 2)), r"holds whitespace"),
        (["a", "b"], np.zeros((3, 2)), r"shape"),
        (["a"], np.zeros(2), r"shape"),
        (["a"], np.array([[np.inf, 0.0]]), r"nan or inf"),
        (["a"], np.array([[1e39, 0.0]]), r"too large for float32"),
    ],
)
def test_write_refuses_bad_input_and_leaves_nothing(tmp_path: Path, words, vecs, message: str) -> None:
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(LmlabError, match=message):
        write_word2vec(path, words, vecs, binary=True)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]
