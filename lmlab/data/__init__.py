"""Datasets: the registry of named corpora, their download, and loading a corpus as train/valid/test lines.

``load_corpus("ptb")``, ``load_corpus("my_text.txt")`` and ``load_corpus("my_folder/")`` all give a
:class:`Corpus` (``load_corpus("names-by-language")``, a folder of ``LABEL.txt`` files or a ``label<TAB>text`` .tsv
file a :class:`LabelledCorpus`); named datasets are fetched into :func:`data_dir` on first use and checked by sha256.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lmlab.data.corpus import Corpus, load_corpus, read_lines, split_lines
from lmlab.data.download import fetch
from lmlab.data.fingerprint import data_changes, data_fingerprint
from lmlab.data.labelled import LabelledCorpus
from lmlab.data.registry import (
    DATASETS,
    KINDS,
    DataFile,
    DatasetInfo,
    data_dir,
    get_dataset,
    register_dataset,
)
from lmlab.data.registry import data_dir as _default_data_dir  # describe_datasets' parameter hides data_dir


def describe_datasets(data_dir: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """One row per registered dataset, for ``lmlab data list``: name, kind, description, size, present.

    ``present`` is true when every file but the optional ones is in the data directory with the expected size (a
    cheap check, no hashing); ``size`` is the total bytes of the stored files.
    """
    root = Path(data_dir) if data_dir is not None else _default_data_dir()
    rows = []
    for info in DATASETS.values():
        present = all(_has_size(root / f.path, f.size) for f in info.files if not f.optional)
        rows.append(
            {
                "name": info.name,
                "kind": info.kind,
                "description": info.description,
                "size": info.size,
                "present": present,
            }
        )
    return rows


def _has_size(path: Path, size: int) -> bool:
    try:
        return path.stat().st_size == size
    except OSError:
        return False


__all__ = [
    "DATASETS",
    "KINDS",
    "Corpus",
    "LabelledCorpus",
    "DataFile",
    "DatasetInfo",
    "data_changes",
    "data_dir",
    "data_fingerprint",
    "describe_datasets",
    "fetch",
    "get_dataset",
    "load_corpus",
    "read_lines",
    "register_dataset",
    "split_lines",
]
