"""fetch() against a real HTTP server on 127.0.0.1: success, gzip, and failures that leave no file."""

from __future__ import annotations

import gzip
import hashlib
import socket
from pathlib import Path

import pytest

from lmlab.data import DATASETS, DataFile, DatasetInfo, fetch, load_corpus, register_dataset
from lmlab.data.download import download_limit
from lmlab.errors import LmlabError

CONTENT = "".join(f"line {i} of the fake corpus\n" for i in range(1000)).encode()
CANONICAL = "https://example.invalid/fake/words.txt"  # never reached: tests go through a mirror or the server


def _info(content: bytes = CONTENT, *, url: str = CANONICAL, gzip: bool = False, name: str = "fake") -> DatasetInfo:
    file = DataFile("fake/words.txt", url, hashlib.sha256(content).hexdigest(), len(content), gzip=gzip)
    return DatasetInfo(name=name, description="a test corpus", kind="text", files=(file,))


def _serve(server, path: str, data: bytes) -> None:
    target = server.root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _leftovers(data: Path) -> list[str]:
    """Every file under ``data``, so a test can assert that nothing (no .part) is left."""
    return sorted(str(p.relative_to(data)) for p in data.rglob("*") if p.is_file()) if data.exists() else []


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """The data directory, beside (not around) the server's folder so leftovers are easy to list."""
    return tmp_path / "data"


@pytest.fixture
def mirror(server, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LMLAB_DATA_MIRROR", server.url + "/")
    return server


def test_download_through_mirror(mirror, data: Path) -> None:
    _serve(mirror, "fake/words.txt", CONTENT)
    folder = fetch(_info(), data, progress=False)
    assert folder == data / "fake"
    assert (folder / "words.txt").read_bytes() == CONTENT
    assert _leftovers(data) == ["fake/words.txt"]
    assert mirror.requests == ["/fake/words.txt"]


def test_second_fetch_uses_the_present_file(mirror, data: Path) -> None:
    _serve(mirror, "fake/words.txt", CONTENT)
    fetch(_info(), data, progress=False)
    fetch(_info(), data, progress=False)
    fetch(_info(), data, progress=False, verify=True)
    assert mirror.requests == ["/fake/words.txt"]


def test_gzip_is_decompressed_before_the_checksum(server, monkeypatch: pytest.MonkeyPatch, data: Path) -> None:
    monkeypatch.delenv("LMLAB_DATA_MIRROR", raising=False)
    _serve(server, "upstream/words.txt.gz", gzip.compress(CONTENT))
    info = _info(url=f"{server.url}/upstream/words.txt.gz", gzip=True)
    fetch(info, data, progress=False)
    assert (data / "fake" / "words.txt").read_bytes() == CONTENT
    assert _leftovers(data) == ["fake/words.txt"]


def test_mirror_may_hold_the_decompressed_file(mirror, data: Path) -> None:
    _serve(mirror, "fake/words.txt", CONTENT)
    fetch(_info(gzip=True), data, progress=False)
    assert (data / "fake" / "words.txt").read_bytes() == CONTENT


def test_file_url_mirror(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data: Path) -> None:
    (tmp_path / "mirror" / "fake").mkdir(parents=True)
    (tmp_path / "mirror" / "fake" / "words.txt").write_bytes(CONTENT)
    monkeypatch.setenv("LMLAB_DATA_MIRROR", (tmp_path / "mirror").as_uri())
    fetch(_info(), data, progress=False)
    assert (data / "fake" / "words.txt").read_bytes() == CONTENT


def test_checksum_mismatch(mirror, data: Path) -> None:
    _serve(mirror, "fake/words.txt", CONTENT.replace(b"line 7 ", b"line 8 "))
    with pytest.raises(LmlabError, match=r"fake/words.txt: sha256 .* expected") as e:
        fetch(_info(), data, progress=False)
    assert str(data / "fake" / "words.txt") in str(e.value)
    assert "\n" not in str(e.value)
    assert _leftovers(data) == []


def test_http_404(mirror, data: Path) -> None:
    with pytest.raises(LmlabError, match=r"could not download http://127\.0\.0\.1:\d+/fake/words.txt: HTTP 404") as e:
        fetch(_info(), data, progress=False)
    assert f"put it at {data / 'fake' / 'words.txt'}, or set LMLAB_DATA_DIR" in str(e.value)
    assert _leftovers(data) == []


def test_transfer_cut_halfway(server, monkeypatch: pytest.MonkeyPatch, data: Path) -> None:
    monkeypatch.delenv("LMLAB_DATA_MIRROR", raising=False)
    _serve(server, "fake/words.txt", CONTENT)
    info = _info(url=f"{server.url}/cut/fake/words.txt")
    with pytest.raises(LmlabError, match=rf"cut short after {len(CONTENT) // 2:,} of {len(CONTENT):,} bytes"):
        fetch(info, data, progress=False)
    assert _leftovers(data) == []


def test_endless_stream_is_stopped_at_the_registered_size(server, monkeypatch: pytest.MonkeyPatch, data: Path) -> None:
    monkeypatch.delenv("LMLAB_DATA_MIRROR", raising=False)
    _serve(server, "fake/words.txt", CONTENT)
    info = _info(url=f"{server.url}/endless/fake/words.txt")
    with pytest.raises(LmlabError, match=rf"sent more than the {len(CONTENT):,} bytes registered for words.txt") as e:
        fetch(info, data, progress=False)
    assert "\n" not in str(e.value)
    assert _leftovers(data) == []


def test_larger_announced_size_is_refused_before_reading(mirror, data: Path) -> None:
    _serve(mirror, "fake/words.txt", CONTENT * 100)
    with pytest.raises(LmlabError, match=rf"words.txt is {100 * len(CONTENT):,} bytes, more than the {len(CONTENT):,}"):
        fetch(_info(), data, progress=False)
    assert _leftovers(data) == []


def test_gzip_bomb_is_stopped_at_the_registered_size(server, monkeypatch: pytest.MonkeyPatch, data: Path) -> None:
    monkeypatch.delenv("LMLAB_DATA_MIRROR", raising=False)
    bomb = gzip.compress(bytes(20 * 2**20))  # about 20 KB that expand to 20 MiB
    _serve(server, "upstream/words.txt.gz", bomb)
    info = _info(url=f"{server.url}/upstream/words.txt.gz", gzip=True)
    assert len(bomb) < download_limit(info.files[0])  # so the download is taken, and its expansion stopped
    with pytest.raises(LmlabError, match=rf"expands to more than the {len(CONTENT):,} bytes registered for words.txt"):
        fetch(info, data, progress=False)
    assert _leftovers(data) == []


def test_file_url_mirror_refuses_special_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, data: Path) -> None:
    """A directory or a device where the file should be: one line, nothing left (a FIFO, which could block, is
    tested in a child process in tests/safety/test_untrusted_data.py)."""
    (tmp_path / "mirror" / "fake" / "words.txt").mkdir(parents=True)
    monkeypatch.setenv("LMLAB_DATA_MIRROR", (tmp_path / "mirror").as_uri())
    with pytest.raises(LmlabError, match=r"could not download file://.*words.txt is a directory"):
        fetch(_info(), data, progress=False)
    (tmp_path / "mirror" / "fake" / "words.txt").rmdir()
    (tmp_path / "mirror" / "fake" / "words.txt").symlink_to("/dev/zero")
    with pytest.raises(LmlabError, match=r"words.txt is a device; lmlab reads only regular files here"):
        fetch(_info(), data, progress=False)
    (tmp_path / "mirror" / "fake" / "words.txt").unlink()
    with pytest.raises(LmlabError, match=r"could not download file://.*words.txt: no such file"):
        fetch(_info(), data, progress=False)
    assert _leftovers(data) == []


def test_connection_refused(monkeypatch: pytest.MonkeyPatch, data: Path) -> None:
    with socket.socket() as s:  # a port that was free a moment ago, so nothing listens on it
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("LMLAB_DATA_MIRROR", f"http://127.0.0.1:{port}")
    with pytest.raises(LmlabError, match="could not download .*refused"):
        fetch(_info(), data, progress=False, timeout=5)
    assert _leftovers(data) == []


def test_present_file_of_wrong_size_is_an_error_and_kept(data: Path) -> None:
    (data / "fake").mkdir(parents=True)
    (data / "fake" / "words.txt").write_bytes(b"my own file\n")
    with pytest.raises(LmlabError, match="has 12 bytes, expected .*delete it"):
        fetch(_info(), data, progress=False)
    assert (data / "fake" / "words.txt").read_bytes() == b"my own file\n"


def test_verify_detects_a_corrupted_present_file(data: Path) -> None:
    (data / "fake").mkdir(parents=True)
    (data / "fake" / "words.txt").write_bytes(CONTENT.replace(b"line 7 ", b"line 8 "))
    fetch(_info(), data, progress=False)  # size is right: trusted without verify
    with pytest.raises(LmlabError, match="does not match the expected"):
        fetch(_info(), data, progress=False, verify=True)


def test_registered_dataset_is_downloaded_by_load_corpus(mirror, data: Path) -> None:
    _serve(mirror, "fake/words.txt", CONTENT)
    info = _info(name="test-fake-corpus")
    register_dataset(info)
    try:
        with pytest.raises(LmlabError, match="already registered"):
            register_dataset(info)
        corpus = load_corpus("test-fake-corpus", data_dir=data)
    finally:
        del DATASETS["test-fake-corpus"]
    assert len(corpus.train) == 900 and corpus.train[0] == "line 0 of the fake corpus"
    assert corpus.test[-1] == "line 999 of the fake corpus"


def test_load_corpus_reports_a_failed_download(mirror, data: Path) -> None:
    with pytest.raises(LmlabError, match=r"ptb/ptb.train.txt: HTTP 404.*LMLAB_DATA_DIR"):
        load_corpus("ptb", data_dir=data)
    assert _leftovers(data) == []


def test_a_file_without_download_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A derived or archive-only file (no single-file URL): skipped when optional, one clear line otherwise."""
    monkeypatch.delenv("LMLAB_DATA_MIRROR", raising=False)
    optional = DataFile("x/notes.txt", "", "0" * 64, 10, optional=True, note="inside an archive")
    required = DataFile("x/split.tsv", "", "0" * 64, 10, note="derived by hand")
    assert fetch(DatasetInfo("x", "test", "graph", (optional,)), tmp_path) == tmp_path / "x"
    with pytest.raises(LmlabError, match=r"split\.tsv cannot be downloaded \(derived by hand\)"):
        fetch(DatasetInfo("x", "test", "graph", (optional, required)), tmp_path)
