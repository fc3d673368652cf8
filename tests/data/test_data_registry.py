"""The dataset registry: checksums agree with the shared copies, entries are well-formed, data_dir() rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lmlab.data import DATASETS, DataFile, DatasetInfo, data_dir, describe_datasets, fetch, get_dataset
from lmlab.errors import LmlabError

SHA_RE = re.compile(r"[0-9a-f]{64}")


def _sha256sums(folder: Path) -> dict[str, str]:
    sums = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, path = line.split(maxsplit=1)
        sums[path] = digest
    return sums


def test_registry_checksums_match_sha256sums(shared_data: Path) -> None:
    sums = _sha256sums(shared_data)
    registered = {f.path: f for info in DATASETS.values() for f in info.files}
    assert set(sums) <= set(registered), "a shared file is missing from the registry"
    for path, digest in sums.items():
        assert registered[path].sha256 == digest, path
        assert registered[path].size == (shared_data / path).stat().st_size, path


def test_every_shared_file_passes_full_verification(shared_data: Path) -> None:
    for name in DATASETS:
        assert fetch(name, shared_data, progress=False, verify=True).is_dir()


def test_entries_are_well_formed() -> None:
    expected = {
        "ptb",
        "wikitext-2",
        "tinyshakespeare",
        "names",
        "multi30k-en",
        "multi30k-de",
        "cora",
        "mnist",
    }
    assert expected | {"analogy"} <= set(DATASETS)
    for name, info in DATASETS.items():
        assert info.name == name
        assert info.description and "\n" not in info.description
        for f in info.files:
            assert SHA_RE.fullmatch(f.sha256), f.path
            assert f.size > 0
            assert f.url.startswith("https://") or (not f.url and f.note), f.path
            if "raw.githubusercontent.com" in f.url:
                assert re.search(r"/[0-9a-f]{40}/", f.url), f"{f.url} is not pinned to a commit"
    assert DATASETS["ptb"].split_files == ("ptb/ptb.train.txt", "ptb/ptb.valid.txt", "ptb/ptb.test.txt")
    assert DATASETS["names"].split_files is None
    assert all(f.gzip and f.url.endswith(".gz") for f in DATASETS["multi30k-de"].files)
    assert DATASETS["cora"].kind == "graph"
    assert DATASETS["ptb"].folder == "ptb"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kind": "audio"}, "unknown kind"),
        ({"files": ()}, "no files"),
        (
            {"files": (DataFile("x/a.txt", "u", "0" * 64, 1), DataFile("x/b.txt", "u", "0" * 64, 1))},
            "split_files",
        ),
        ({"split_files": ("x/a.txt", "x/a.txt", "x/other.txt")}, "split_files"),
        ({"files": (DataFile("../a.txt", "u", "0" * 64, 1),)}, "relative"),
    ],
)
def test_bad_dataset_info_is_refused(kwargs: dict, message: str) -> None:
    fields = {
        "name": "x",
        "description": "d",
        "kind": "text",
        "files": (DataFile("x/a.txt", "u", "0" * 64, 1),),
    }
    with pytest.raises(LmlabError, match=message):
        DatasetInfo(**{**fields, **kwargs})


def test_data_dir_rules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LMLAB_DATA_DIR", str(tmp_path / "d"))
    assert data_dir() == tmp_path / "d"
    monkeypatch.delenv("LMLAB_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert data_dir() == tmp_path / "cache" / "lmlab" / "data"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_dir() == tmp_path / "home" / ".cache" / "lmlab" / "data"


def test_get_dataset_unknown_lists_names() -> None:
    with pytest.raises(LmlabError, match="unknown dataset 'ptb2'.*ptb.*wikitext-2"):
        get_dataset("ptb2")


def test_describe_datasets(shared_data: Path, tmp_path: Path) -> None:
    rows = describe_datasets(shared_data)
    assert [r["name"] for r in rows] == list(DATASETS)
    ptb = next(r for r in rows if r["name"] == "ptb")
    assert ptb == {
        "name": "ptb",
        "kind": "text",
        "description": DATASETS["ptb"].description,
        "size": 5_101_618 + 399_782 + 449_945,
        "present": True,
    }
    assert all(r["present"] for r in rows)
    assert not any(r["present"] for r in describe_datasets(tmp_path))
