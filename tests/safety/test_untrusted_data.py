"""Untrusted data files: word2vec runs, word-vector files, IDX files, evaluation files and corpora (issue 22,
items 5, 6, 8, 9, 10 and 20; the downloads of item 7 are tested in tests/data/test_data_download.py).

Every reader opens regular files only, checks sizes and headers before it allocates, and turns bad input into
one LmlabError line. Memory is checked structurally, never by timing: a file whose header or size claims a lot
while its body is tiny (or sparse) must be refused, and :mod:`tracemalloc` (which sees numpy's allocations too)
shows the reader allocated next to nothing before refusing it. A FIFO that nobody ever opens for writing would
block a reader that opened it: those cases run in a child process with a generous timeout, so that a regression
fails the test instead of hanging it.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from lmlab.errors import LmlabError
from tests.safety.test_read import edit_json, one_line_error

REPO = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT = 300  # seconds: only a hang gets near it
MiB = 2**20
RUN_JSON_PEAK = 16 * MiB  # config.json is read by lmlab.runfiles.read_json, which asks for its 16 MiB limit at once


def peak_bytes(call: Callable[[], object]) -> int:
    """The most memory (Python and numpy) allocated while ``call()`` ran and raised an LmlabError."""
    tracemalloc.start()
    try:
        with pytest.raises(LmlabError):
            call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def child(code: str, *args: object) -> tuple[int, str, str]:
    """Run the Python ``code`` (``sys.argv[1:]`` are ``args``) in a child process, killed after CHILD_TIMEOUT."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-c", code, *map(str, args)]
    try:
        p = subprocess.run(command, capture_output=True, text=True, timeout=CHILD_TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hung for {CHILD_TIMEOUT} s: {code.strip()}")
    return p.returncode, p.stdout, p.stderr


# ---- a tiny word2vec run, copied by each test that damages it
@pytest.fixture(scope="module")
def w2v_run(tmp_path_factory) -> Path:
    from lmlab.train_options import TrainOptions
    from lmlab.word2vec.config import Word2VecConfig
    from lmlab.word2vec.runs import train_word2vec

    d = tmp_path_factory.mktemp("w2v")
    lines = [f"the {a} {v} on the {b}" for a in ("cat", "dog") for v in ("sat", "slept") for b in ("mat", "log")]
    (d / "corpus.txt").write_text("\n".join(lines * 5) + "\n", encoding="utf-8")
    cfg = Word2VecConfig(dim=8, min_count=1, epochs=1, threads=1, hs=True)
    train_word2vec(cfg, "skipgram", str(d / "corpus.txt"), TrainOptions(seed=1, progress=False), d / "run")
    return d / "run"


@pytest.fixture
def run(w2v_run, tmp_path) -> Path:
    return Path(shutil.copytree(w2v_run, tmp_path / "run"))


def load(run: Path):
    from lmlab.word2vec.runs import load_run

    return load_run(run)


def test_the_tiny_run_loads(run):
    r = load(run)
    assert len(r.vocab) == 8 and r.weights.syn0.shape == (8, 8) and r.weights.syn1.shape == (7, 8)
    assert r.vocab.words[0] == "the" and r.weights.syn0.flags.writeable


# ---- item 5: vectors.safetensors checked against the configuration and its own size before it is read
def test_w2v_weights_with_bytes_appended_are_refused_unread(run):
    weights = run / "vectors.safetensors"
    os.truncate(weights, weights.stat().st_size + 256 * MiB)  # 256 MiB of (sparse) zeros after the last tensor
    with pytest.raises(LmlabError, match=r"vectors\.safetensors: corrupted safetensors file \(268,435,456 bytes after"):
        load(run)
    assert peak_bytes(lambda: load(run)) < RUN_JSON_PEAK + MiB


def test_w2v_weights_of_another_shape_are_refused_from_the_header(run):
    edit_json(run / "config.json", lambda c: c["model"].update(dim=16))
    with pytest.raises(LmlabError, match=r"syn0 has shape \(8, 8\), the configuration needs \(8, 16\)"):
        load(run)


def test_w2v_weights_checksum_is_still_checked(run):
    weights = run / "vectors.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x40  # a bit of the last value of the last tensor
    weights.write_bytes(bytes(data))
    with pytest.raises(LmlabError, match="do not match the checksum"):
        load(run)


# ---- item 6: vocab.txt bounded by what config.json records, checked before it is read
def test_w2v_huge_vocab_is_refused_from_its_size(run):
    vocab = run / "vocab.txt"
    os.truncate(vocab, 334 * 10**6)  # the 334 MB file, sparse: nothing is written to disk
    with pytest.raises(LmlabError, match=r"vocab\.txt is 334,000,000 bytes, more than the 32,768 bytes allowed for"):
        load(run)
    assert peak_bytes(lambda: load(run)) < RUN_JSON_PEAK + MiB


def test_w2v_vocab_with_more_lines_than_recorded_is_refused(run):
    with open(run / "vocab.txt", "a", encoding="utf-8") as f:
        f.write("extra\t1\n" * 1000)  # within the byte limit: stopped at the first line too many
    with pytest.raises(LmlabError, match=r"vocab\.txt holds more than the 8 words its run records"):
        load(run)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda text: "".join(text.splitlines(keepends=True)[:-1]), r"holds 7 words, its run records 8"),
        (lambda text: text.replace("\t", "\t99999999999999999999", 1), r"vocab\.txt:1: expected 'word<TAB>count'"),
        (lambda text: text.replace("\t", "\t\u0663", 1), r"vocab\.txt:1: expected 'word<TAB>count'"),
    ],
)
def test_w2v_bad_vocab_lines(run, change, message):
    vocab = run / "vocab.txt"
    vocab.write_text(change(vocab.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(LmlabError, match=message) as e:
        load(run)
    assert "\n" not in str(e.value)


# ---- item 20: the 'vocab' field of config.json and its members are checked for their types
@pytest.mark.parametrize(
    "value, message",
    [
        ([1, 2], "field 'vocab' must be an object, got a list of 2 items"),
        ({"size": "8"}, "field 'vocab.size' must be an integer, got '8'"),
        ({"size": 8, "corpus_words": None}, "field 'vocab.corpus_words' must be an integer, got null"),
        ({"size": 0}, "field 'vocab.size' must be an integer >= 1, got 0"),
    ],
)
def test_w2v_config_vocab_field_of_the_wrong_type(run, value, message):
    edit_json(run / "config.json", lambda c: c.update(vocab=value))
    with pytest.raises(LmlabError) as e:
        load(run)
    assert str(e.value) == f"{run / 'config.json'}: {message}"


def test_w2v_config_without_vocab_size_uses_the_weights_rows(run):
    edit_json(run / "config.json", lambda c: c.pop("vocab"))  # as a run written by hand might be
    assert len(load(run).vocab) == 8


# ---- item 9: word-vector files: the header's N x D against a hard cap and the file's size, before allocating
def test_word2vec_header_beyond_the_hard_cap(tmp_path):
    from lmlab.data.vectors import read_word2vec

    path = tmp_path / "huge.vec"
    path.write_bytes(b"100000000000 8\nthe 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8\n")
    with pytest.raises(LmlabError, match=r"huge\.vec:1: the header asks for 100,000,000,000 vectors of dimension 8"):
        read_word2vec(path)


@pytest.mark.parametrize("binary", [False, True])
def test_word2vec_header_beyond_the_file_size_allocates_nothing(tmp_path, binary):
    from lmlab.data.vectors import read_word2vec

    path = tmp_path / "short.vec"
    vector = np.arange(300, dtype="<f4")
    record = b"the " + (vector.tobytes() + b"\n" if binary else " ".join(map(str, vector.tolist())).encode() + b"\n")
    path.write_bytes(b"1000000 300\n" + record)  # the header asks for 1.2 GB of float32; the file holds one row
    with pytest.raises(LmlabError, match="truncated"):
        read_word2vec(path, binary=binary)
    assert peak_bytes(lambda: read_word2vec(path, binary=binary)) < 4 * MiB  # reads of 1 MiB, not 1.2 GB


def test_word2vec_text_line_without_end(tmp_path):
    from lmlab.data.vectors import read_word2vec

    path = tmp_path / "long.vec"
    path.write_bytes(b"1 2\nthe " + b"1" * (2 * MiB))  # one line of 2 MiB where two values were promised
    with pytest.raises(LmlabError, match=r"long\.vec:2: longer than 10,128 bytes"):
        read_word2vec(path, binary=False)


def test_classify_embeddings_file_with_a_huge_header(tmp_path):
    from lmlab.classify.task import embedding_rows  # what `lmlab train --task classify --embeddings FILE` calls

    (tmp_path / "emb.vec").write_bytes(b"100000000000 8\n")
    with pytest.raises(LmlabError, match=r"emb\.vec:1: the header asks for 100,000,000,000 vectors"):
        embedding_rows(tmp_path / "emb.vec", None, None)


# ---- item 8: IDX files: the header checked against a limit and the stream's actual length
def _idx_head(*dims: int) -> bytes:
    return bytes([0, 0, 8, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)


def test_idx_gzip_bomb_is_stopped_at_the_promised_size(tmp_path):
    from lmlab.vision.idx import read_idx

    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(_idx_head(10, 28, 28) + bytes(50 * MiB)))  # 50 KB expanding to 50 MiB
    assert path.stat().st_size < MiB
    with pytest.raises(LmlabError, match=r"IDX file with bytes after its data: .* needs 7,856 bytes, found more"):
        read_idx(path)
    assert peak_bytes(lambda: read_idx(path)) < 4 * MiB  # a chunk of 1 MiB and the 7,840 values


def test_idx_header_beyond_the_limit_allocates_nothing(tmp_path):
    from lmlab.vision.idx import read_idx

    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(_idx_head(60_000, 200, 100) + bytes(1000)))  # 1.2 GB promised
    with pytest.raises(LmlabError, match=r"x\.gz: the header asks for 1,200,000,000 values .* 1,073,741,824 bytes"):
        read_idx(path)
    assert peak_bytes(lambda: read_idx(path)) < 1 * MiB
    assert peak_bytes(lambda: read_idx(path, limit=1000)) < 1 * MiB


def test_idx_short_stream_and_plain_file_checked_against_its_size(tmp_path):
    from lmlab.vision.idx import read_idx

    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(_idx_head(1000, 1000) + bytes(10)))
    with pytest.raises(LmlabError, match=r"truncated IDX file: .* needs 1,000,012 bytes, found 22"):
        read_idx(path)
    plain = tmp_path / "x"
    plain.write_bytes(_idx_head(10_000, 10_000) + bytes(10))  # 100 MB promised by a 22-byte file
    with pytest.raises(LmlabError, match=r"needs 100,000,012 bytes, found 22"):
        read_idx(plain)
    assert peak_bytes(lambda: read_idx(plain)) < 1 * MiB


# ---- item 10: a FIFO (or a device) given anywhere is refused in one line, never waited on
READERS = {
    "read_word2vec": "from lmlab.data.vectors import read_word2vec as f; f(sys.argv[1])",
    "WordVectors.load": "from lmlab.word2vec.vectors import WordVectors as W; W.load(sys.argv[1])",
    "read_idx": "from lmlab.vision.idx import read_idx as f; f(sys.argv[1])",
    "read_analogies": "from lmlab.word2vec.evaluation import read_analogies as f; f(sys.argv[1])",
    "read_word_pairs": "from lmlab.word2vec.evaluation import read_word_pairs as f; f(sys.argv[1])",
    "resolve_corpus": "from lmlab.word2vec.corpus import resolve_corpus as f; f(sys.argv[1])",
    "read_text_chunks": "from lmlab.word2vec.corpus import read_text_chunks as f; from pathlib import Path; "
    "list(f(Path(sys.argv[1])))",
}


def _expect_lmlab_error(statement: str, setup: str = "") -> str:
    """A program that runs ``setup`` then ``statement``, printing the LmlabError it raises and exiting with 2."""
    lines = ["import sys", "from lmlab.errors import LmlabError", *setup.strip().splitlines()]
    return "\n".join([*lines, "try:", f"    {statement}", "except LmlabError as e:", "    print(e)", "    sys.exit(2)"])


@pytest.mark.parametrize("reader", sorted(READERS))
@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_readers_refuse_a_fifo_or_device_without_blocking(tmp_path, reader, special):
    path = tmp_path / "special"
    if special == "fifo":
        os.mkfifo(path)  # never opened for writing: a reader that opened it would wait forever
    else:
        os.symlink(special, path)
    rc, out, err = child(_expect_lmlab_error(READERS[reader]), path)
    assert rc == 2 and "Traceback" not in err, out + err
    assert out.strip().endswith("lmlab reads only regular files here") and str(path) in out, out


@pytest.mark.parametrize("name", ["vocab.txt", "vectors.safetensors", "config.json"])
def test_w2v_run_file_that_is_a_fifo(w2v_run, tmp_path, name):
    run = Path(shutil.copytree(w2v_run, tmp_path / "run"))
    (run / name).unlink()
    os.mkfifo(run / name)
    rc, out, err = child(_expect_lmlab_error("load_run(sys.argv[1])", "from lmlab.word2vec.runs import load_run"), run)
    assert rc == 2 and f"{name} is a FIFO" in out, out + err


def test_corpus_folder_whose_train_txt_is_a_fifo(tmp_path):
    os.mkfifo(tmp_path / "train.txt")
    code = _expect_lmlab_error("resolve_corpus(sys.argv[1])", "from lmlab.word2vec.corpus import resolve_corpus")
    rc, out, err = child(code, tmp_path)
    assert rc == 2 and "train.txt is a FIFO" in out, out + err


def test_mnist_folder_with_a_fifo_for_images(tmp_path):
    from lmlab.vision.idx import write_idx

    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(3, np.uint8))
    os.mkfifo(tmp_path / "t10k-images-idx3-ubyte")
    setup = "from pathlib import Path\nfrom lmlab.vision.data import _idx_data"
    rc, out, err = child(_expect_lmlab_error("_idx_data(Path(sys.argv[1]), 0, 'x', 'idx', [])", setup), tmp_path)
    assert rc == 2 and "t10k-images-idx3-ubyte is a FIFO" in out, out + err


def test_download_from_a_file_mirror_holding_a_fifo(tmp_path, monkeypatch):
    (tmp_path / "mirror" / "fake").mkdir(parents=True)
    os.mkfifo(tmp_path / "mirror" / "fake" / "words.txt")
    monkeypatch.setenv("LMLAB_DATA_MIRROR", (tmp_path / "mirror").as_uri())  # the child inherits it
    setup = """
from lmlab.data.download import fetch
from lmlab.data.registry import DataFile, DatasetInfo
info = DatasetInfo("fake", "a test corpus", "text", (DataFile("fake/words.txt", "", "0" * 64, 10),))
"""
    rc, out, err = child(_expect_lmlab_error("fetch(info, sys.argv[1], progress=False)", setup), tmp_path / "data")
    assert rc == 2 and "could not download file://" in out and "words.txt is a FIFO (named pipe)" in out, out + err
    assert not [p for p in (tmp_path / "data").rglob("*") if p.is_file()]  # no .part left


def test_cli_similar_on_a_fifo(tmp_path):
    from tests.safety.test_read import lmlab_child

    os.mkfifo(tmp_path / "vectors.bin")
    rc, _, err = lmlab_child("similar", tmp_path / "vectors.bin", "king", timeout=CHILD_TIMEOUT)
    one_line_error(rc, err, "vectors.bin is a FIFO (named pipe)")
