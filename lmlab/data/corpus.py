"""Load a corpus as train/valid/test lists of lines, from a dataset name, a folder or one text file.

A corpus is lines of text, one sentence (or name, or line of a play) per line, because every tokenizer
and model in lmlab treats the end of a line as the end-of-sentence token. Files are read as UTF-8; a line
ends at ``\\n`` only (a ``\\r`` before it is dropped), since ``str.splitlines`` would also cut at form
feeds, ``\\x1c`` and other characters that occur inside real corpora and would change their line counts.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lmlab.data.lines import _check_encoding_errors, has_text, read_lines, split_lines  # noqa: F401 - re-exported
from lmlab.data.registry import DATASETS, DatasetInfo
from lmlab.data.registry import data_dir as default_data_dir
from lmlab.errors import LmlabError

SPLITS = ("train", "valid", "test")
FOLDER_FILES = ("train.txt", "valid.txt", "test.txt")


@dataclass(frozen=True, repr=False)
class Corpus:
    """Three lists of lines (without their newlines) and where they came from.

    ``spec`` loads the same corpus again from any working directory: the registered name, or the absolute path
    of the file or folder (empty for a corpus built by hand).
    """

    name: str
    train: list[str]
    valid: list[str]
    test: list[str]
    source: str
    spec: str = ""

    def split(self, name: str) -> list[str]:
        """The lines of split ``name``: ``"train"``, ``"valid"`` or ``"test"``."""
        if name not in SPLITS:
            raise LmlabError(f"unknown split {name!r}; choose one of: {', '.join(SPLITS)}")
        return getattr(self, name)

    def records(self, name: str) -> list[str]:
        """The lines of split ``name`` as its fingerprint hashes them (a labelled corpus adds each line's label)."""
        return self.split(name)

    def __repr__(self) -> str:
        # The default repr would print every line of the corpus.
        return (
            f"Corpus(name={self.name!r}, train={len(self.train):,} lines, valid={len(self.valid):,} lines, "
            f"test={len(self.test):,} lines, source={self.source!r})"
        )


def split_points(n: int, ratios: Sequence[float]) -> tuple[int, int]:
    """Where to cut ``n`` lines into train/valid/test: the end of train and the end of valid.

    Contiguous and rounded down, so the same file always gives the same split.

    >>> split_points(40_000, (0.9, 0.05, 0.05))
    (36000, 38000)
    >>> split_points(32_033, (0.9, 0.05, 0.05))
    (28829, 30431)
    """
    r_train, r_valid, _ = ratios
    # The small epsilon keeps 0.9 * 10 = 8.999... from losing a line to floating point.
    end_train = math.floor(n * r_train + 1e-9)
    end_valid = math.floor(n * (r_train + r_valid) + 1e-9)
    return end_train, min(end_valid, n)


def load_corpus(
    spec: str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
    split: Sequence[float] | None = None,
    encoding_errors: str = "strict",
    download: bool = True,
) -> Corpus:
    """Load a corpus from a registered text dataset name, a folder, or a single text file.

    - a name in ``DATASETS`` of kind ``"text"`` (``"ptb"``, ``"wikitext-2"``, ...): read from ``data_dir``
      (default :func:`lmlab.data.data_dir`), downloaded first if missing and ``download`` is true;
    - a folder holding ``train.txt``, ``valid.txt`` and ``test.txt``;
    - one text file, cut by lines into the ``split`` fractions (train, valid, test; default 0.9/0.05/0.05):
      contiguous and not shuffled, so the same file always gives the same split.

    A labelled corpus gives a :class:`~lmlab.data.labelled.LabelledCorpus` (each line with its label, each label
    cut ``split`` into the splits, default 0.8/0.1/0.1): a registered dataset of kind ``"names"``
    (``"names-by-language"``), a folder of ``LABEL.txt`` files (and no ``train.txt``), or a ``.tsv`` file of
    ``label<TAB>text`` lines.

    A registered name wins over a file or folder of the same name; write ``./names`` to mean the local path.
    Single-file datasets (``"names"``, ``"tinyshakespeare"``) are cut by ``split`` too; ``"names"`` is shuffled
    first by :func:`fixed_shuffle` (as makemore draws its test names at random), since its file is sorted.

    >>> load_corpus("ptb").train[0]                       # doctest: +SKIP
    ' aer banknote berlitz calloway centrust cluett fromstein gitano guterman hydro-quebec ipo kia ...'
    >>> load_corpus("my_corpus.txt", split=(0.8, 0.1, 0.1))  # doctest: +SKIP
    """
    from lmlab.data import labelled

    _check_encoding_errors(encoding_errors)
    if isinstance(spec, str) and spec in DATASETS and DATASETS[spec].kind == "names":
        info = DATASETS[spec]
        root = _dataset_root(info, data_dir, download)
        texts, labels = labelled.read_label_files([root / f.path for f in info.files], encoding_errors=encoding_errors)
        ratios = _check_ratios(split or labelled.LABELLED_SPLIT)
        return labelled.split_labelled(
            info.name, texts, labels, f"{info.name}: {root / info.folder}", info.name, ratios
        )
    path = Path(spec)
    if path.is_dir() and not any((path / f).exists() for f in FOLDER_FILES):
        texts, labels = labelled.read_label_files(labelled.label_files(path), encoding_errors=encoding_errors)
        ratios = _check_ratios(split or labelled.LABELLED_SPLIT)
        source = f"folder of label files {path}"
        return labelled.split_labelled(path.resolve().name, texts, labels, source, str(path.resolve()), ratios)
    if path.is_file() and path.suffix.lower() == ".tsv":
        texts, labels = labelled.read_label_tab_text(path, encoding_errors=encoding_errors)
        ratios = _check_ratios(split or labelled.LABELLED_SPLIT)
        return labelled.split_labelled(
            path.stem, texts, labels, f"{path} (label<TAB>text)", str(path.resolve()), ratios
        )
    ratios = _check_ratios(split or (0.9, 0.05, 0.05))
    if isinstance(spec, str) and spec in DATASETS:
        return _load_dataset(DATASETS[spec], data_dir, ratios, encoding_errors, download)
    if path.is_dir():
        return _load_folder(path, encoding_errors)
    if path.is_file():
        lines = read_lines(path, encoding_errors=encoding_errors)
        return _cut(path.stem, lines, ratios, f"{path} (split {_fmt(ratios)} by lines)", path, str(path.resolve()))
    text_names = sorted(n for n, d in DATASETS.items() if d.kind in ("text", "names"))
    raise LmlabError(
        f"{str(spec)!r} is neither a registered text dataset ({', '.join(text_names)}) nor an existing file or folder"
    )


def fixed_shuffle(lines: Sequence[str]) -> list[str]:
    """``lines`` in a pseudo-random order that depends only on their number: line i goes to the rank of the
    BLAKE2b hash of i among all the hashes, the same on every machine and every version of every library.

    >>> fixed_shuffle(["a", "b", "c", "d", "e"])
    ['b', 'c', 'e', 'a', 'd']
    """
    keys = [hashlib.blake2b(i.to_bytes(8, "little"), digest_size=8).digest() for i in range(len(lines))]
    return [lines[i] for i in sorted(range(len(lines)), key=keys.__getitem__)]


def _check_ratios(split: Sequence[float]) -> tuple[float, float, float]:
    try:
        ratios = tuple(float(r) for r in split)
    except (TypeError, ValueError):
        ratios = ()
    if len(ratios) != 3 or any(not r >= 0 for r in ratios) or abs(sum(ratios) - 1) > 1e-6:
        raise LmlabError(f"split must be three fractions (train, valid, test) >= 0 that sum to 1, not {split!r}")
    return ratios  # type: ignore[return-value]


def _fmt(ratios: Sequence[float]) -> str:
    return "/".join(f"{r:g}" for r in ratios)


def _cut(name: str, lines: list[str], ratios: Sequence[float], source: str, path: Path, spec: str) -> Corpus:
    a, b = split_points(len(lines), ratios)
    train, valid, test = lines[:a], lines[a:b], lines[b:]
    check_cut(path, len(lines), ratios, (a, b), (has_text(train), has_text(valid), has_text(test)))
    return Corpus(name, train, valid, test, source, spec)


def check_cut(path: Path, n: int, ratios: Sequence[float], ends: tuple[int, int], texts: Sequence[bool]) -> None:
    """That the cut of ``n`` lines at ``ends`` (:func:`split_points`) leaves a line in each split and some text
    (``texts``: :func:`has_text` of each split) in each: an error naming the split and its lines otherwise."""
    a, b = ends
    sizes = (a, b - a, n - b)
    if not all(sizes):
        raise LmlabError(
            f"{path} has {n:,} lines: too few to split {_fmt(ratios)} with a line in each of "
            f"train/valid/test (got {sizes[0]}/{sizes[1]}/{sizes[2]}); add lines or change the split"
        )
    for split, first, size, text in zip(SPLITS, (0, a, b), sizes, texts, strict=True):
        if not text:
            raise LmlabError(
                f"{path}: the {split} split (lines {first + 1:,}-{first + size:,} of {n:,}) has no "
                f"text, only empty or whitespace lines; add text there or change the split"
            )


def _load_folder(folder: Path, encoding_errors: str) -> Corpus:
    missing = [f for f in FOLDER_FILES if not (folder / f).is_file()]
    if missing:
        raise LmlabError(
            f"folder {folder} lacks {', '.join(missing)}; a corpus folder holds {', '.join(FOLDER_FILES)} "
            f"(or pass a single text file to split it)"
        )
    train, valid, test = (read_lines(folder / f, encoding_errors=encoding_errors) for f in FOLDER_FILES)
    return Corpus(folder.resolve().name, train, valid, test, f"folder {folder}", str(folder.resolve()))


def _dataset_root(info: DatasetInfo, data_dir: str | os.PathLike | None, download: bool) -> Path:
    """The data directory holding ``info``'s files, fetched first if ``download`` (else checked to be there)."""
    from lmlab.data.download import fetch, file_url  # here: reading a file of one's own opens no network code

    root = Path(data_dir) if data_dir is not None else default_data_dir()
    if download:
        fetch(info, root)
    else:
        missing = [f for f in info.files if not (root / f.path).is_file()]
        if missing:
            f = missing[0]
            raise LmlabError(
                f"dataset {info.name}: {root / f.path} not found and download is off; get it from "
                f"{file_url(f)} and put it there, or set LMLAB_DATA_DIR to a folder that has {f.path}"
            )
    return root


def _load_dataset(
    info: DatasetInfo,
    data_dir: str | os.PathLike | None,
    ratios: Sequence[float],
    encoding_errors: str,
    download: bool,
) -> Corpus:
    if info.kind != "text":
        raise LmlabError(f"{info.name} is a {info.kind} dataset, not a text corpus")
    root = _dataset_root(info, data_dir, download)
    if info.split_files is None:
        path = root / info.files[0].path
        lines = read_lines(path, encoding_errors=encoding_errors)
        how = f"split {_fmt(ratios)} by lines"
        if info.shuffle_lines:
            lines, how = fixed_shuffle(lines), f"lines in a fixed shuffled order, {how}"
        return _cut(info.name, lines, ratios, f"{info.name}: {path} ({how})", path, info.name)
    train, valid, test = (read_lines(root / p, encoding_errors=encoding_errors) for p in info.split_files)
    return Corpus(info.name, train, valid, test, f"{info.name}: {root / info.folder}", info.name)
