"""Parallel text for translation: the named datasets, your own folders, line-aligned source and target sides.

``load_parallel_data(spec, src, tgt)`` gives a :class:`ParallelData` (train, valid and test lists of source and
target sentences, line for line) from

- a named parallel dataset: ``multi30k`` (task 1, German-English image captions, 29,000 / 1,014 / 1,000 pairs),
  in either direction (``src="de", tgt="en"`` or the reverse);
- a folder with ``train.SRC``, ``train.TGT``, ``valid.SRC``, ``valid.TGT``, ``test.SRC``, ``test.TGT``, or the
  same with Multi30k's names (``val.L``, ``test_2016_flickr.L``; ``dev.L`` is read as valid too).

Each file holds one sentence per line; line i of ``train.de`` translates line i of ``train.en``. A sentence is
kept as written (no stripping, no normalisation), so BLEU is computed against the very references of the files.
Two sides of a split with different line counts are an error naming both files and both counts; so is an empty
file. Blank lines are kept (a blank test source still gets a translation), and :func:`usable_pairs` leaves them
out of training.

References: Elliott, Frank, Sima'an & Specia 2016, "Multi30K: Multilingual English-German Image Descriptions".
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from lmlab.data.corpus import read_lines
from lmlab.data.download import fetch
from lmlab.data.fingerprint import split_sha256
from lmlab.data.registry import DATASETS
from lmlab.data.registry import data_dir as default_data_dir
from lmlab.errors import LmlabError

SPLITS = ("train", "valid", "test")
#: The file stems read for each split, first found first: lmlab's names, then Multi30k's (and the common ``dev``).
SPLIT_STEMS = {"train": ("train",), "valid": ("valid", "val", "dev"), "test": ("test", "test_2016_flickr")}
#: The direction a named dataset is read in when --src and --tgt are not given (the one its papers report).
DEFAULT_DIRECTION = {"multi30k": ("de", "en")}
_LANG = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,15}")


@dataclass
class ParallelTexts:
    """Source sentences and their translations, in the same order."""

    src: list[str]
    tgt: list[str]

    def __post_init__(self) -> None:
        assert len(self.src) == len(self.tgt), (len(self.src), len(self.tgt))

    def __len__(self) -> int:
        return len(self.src)

    def __repr__(self) -> str:
        return f"ParallelTexts({len(self):,} pairs)"


@dataclass(repr=False)
class ParallelData:
    """A parallel dataset read in one direction: its splits, where each came from, and notes for the run."""

    name: str
    source: str  # where the files are (a folder)
    src_lang: str
    tgt_lang: str
    train: ParallelTexts
    valid: ParallelTexts
    test: ParallelTexts
    files: dict[str, tuple[str, str]]  # split -> (source file, target file)
    notes: list[str] = field(default_factory=list)

    def split(self, name: str) -> ParallelTexts:
        if name not in SPLITS:
            raise LmlabError(f"unknown split {name!r}; choose one of: {', '.join(SPLITS)}")
        return getattr(self, name)

    def fingerprint(self) -> dict[str, dict[str, str]]:
        """sha256 of each split's lines on each side (see :func:`lmlab.data.fingerprint.split_sha256`)."""
        return {s: {"src": split_sha256(self.split(s).src), "tgt": split_sha256(self.split(s).tgt)} for s in SPLITS}

    def __repr__(self) -> str:
        return (
            f"ParallelData({self.name!r}, {self.src_lang}->{self.tgt_lang}, train={len(self.train):,}, "
            f"valid={len(self.valid):,}, test={len(self.test):,})"
        )


def split_file_names(names: list[str]) -> dict[str, dict[str, str]]:
    """The split files among ``names`` (file names in one folder): split -> language -> name.

    A name ``STEM.LANG`` counts when STEM is one of the split's stems (:data:`SPLIT_STEMS`); the first stem found
    for a language wins.

    >>> split_file_names(["train.de", "train.en", "val.de", "val.en", "test_2016_flickr.en", "README"])["valid"]
    {'de': 'val.de', 'en': 'val.en'}
    """
    by_stem: dict[str, dict[str, str]] = {}
    for name in names:
        stem, dot, lang = name.rpartition(".")
        if dot and _LANG.fullmatch(lang):
            by_stem.setdefault(stem, {})[lang] = name
    out: dict[str, dict[str, str]] = {}
    for split, stems in SPLIT_STEMS.items():
        found: dict[str, str] = {}
        for stem in stems:
            for lang, name in by_stem.get(stem, {}).items():
                found.setdefault(lang, name)
        out[split] = found
    return out


def languages(files: dict[str, dict[str, str]]) -> list[str]:
    """The languages with a training file, sorted.

    >>> languages({"train": {"en": "train.en", "de": "train.de"}, "valid": {"fr": "val.fr"}, "test": {}})
    ['de', 'en']
    """
    return sorted(files.get("train", {}))


def check_direction(src: str | None, tgt: str | None, available: list[str], what: str) -> tuple[str, str]:
    """(src, tgt), both among ``available`` and different, or an LmlabError naming the bad one.

    >>> check_direction("de", "en", ["de", "en"], "multi30k")
    ('de', 'en')
    >>> check_direction("fr", "en", ["de", "en"], "multi30k")
    Traceback (most recent call last):
    ...
    lmlab.errors.LmlabError: --src fr: multi30k has no fr side; its languages are de, en
    """
    if src is None or tgt is None:
        raise LmlabError(
            f"{what} has the languages {', '.join(available) or 'none'}; pass --src and --tgt (e.g. --src "
            f"{available[0] if available else 'de'} --tgt {available[-1] if available else 'en'})"
        )
    for flag, lang in (("--src", src), ("--tgt", tgt)):
        if lang not in available:
            raise LmlabError(f"{flag} {lang}: {what} has no {lang} side; its languages are {', '.join(available)}")
    if src == tgt:
        raise LmlabError(f"--src and --tgt are both {src!r}; a translation needs two different sides")
    return src, tgt


def parallel_datasets() -> list[str]:
    """The registered datasets that hold at least two languages of one split: what ``--data`` may name.

    >>> "multi30k" in parallel_datasets(), "multi30k-de" in parallel_datasets()
    (True, False)
    """
    out = []
    for name, info in DATASETS.items():
        files = split_file_names([Path(f.path).name for f in info.files])
        if info.kind == "parallel" and len(languages(files)) >= 2:
            out.append(name)
    return out


def _read_side(path: Path, encoding_errors: str) -> list[str]:
    if not path.is_file():
        raise LmlabError(f"{path}: no such file")
    return read_lines(path, encoding_errors=encoding_errors)  # an empty or whitespace-only file is an error there


def read_pair(src_path: Path, tgt_path: Path, *, encoding_errors: str = "strict") -> ParallelTexts:
    """The line-aligned sentences of two files, or an LmlabError naming both files and both counts."""
    src, tgt = _read_side(src_path, encoding_errors), _read_side(tgt_path, encoding_errors)
    if len(src) != len(tgt):
        raise LmlabError(
            f"{src_path} has {len(src):,} lines but {tgt_path} has {len(tgt):,}; the two sides of a parallel "
            "corpus must have one line per sentence, line for line"
        )
    return ParallelTexts(src, tgt)


def load_parallel_data(
    spec: str | os.PathLike,
    src: str | None = None,
    tgt: str | None = None,
    *,
    encoding_errors: str = "strict",
    data_dir: str | os.PathLike | None = None,
) -> ParallelData:
    """The parallel dataset ``spec`` (a registered name or a folder) read from ``src`` into ``tgt``.

    A named dataset without ``src``/``tgt`` is read in its usual direction (:data:`DEFAULT_DIRECTION`); a folder
    needs both.
    """
    spec = str(spec)
    info = DATASETS.get(spec)
    if info is not None:
        if spec not in parallel_datasets():
            raise LmlabError(
                f"--data {spec} is not a parallel dataset (it is {info.kind}, one language); "
                f"choose one of: {', '.join(parallel_datasets())}, or a folder with train.SRC and train.TGT"
            )
        if src is None and tgt is None and spec in DEFAULT_DIRECTION:
            src, tgt = DEFAULT_DIRECTION[spec]
        files = split_file_names([Path(f.path).name for f in info.files])
        src, tgt = check_direction(src, tgt, languages(files), spec)
        root = Path(data_dir) if data_dir is not None else default_data_dir()
        folder = fetch(info, root, progress=True)
        return _load_folder(spec, folder, files, src, tgt, encoding_errors)
    path = Path(spec)
    if not path.exists():
        raise LmlabError(
            f"--data {spec}: no such folder, and not a named parallel dataset ({', '.join(parallel_datasets())}); "
            "give a "
            "folder with train.SRC, train.TGT, valid.SRC, valid.TGT, test.SRC, test.TGT"
        )
    if not path.is_dir():
        raise LmlabError(
            f"--data {spec} is a file; translation reads a folder with train.SRC, train.TGT, valid.SRC, valid.TGT, "
            "test.SRC and test.TGT (one sentence per line)"
        )
    files = split_file_names(sorted(p.name for p in path.iterdir() if p.is_file()))
    if not files["train"]:
        raise LmlabError(f"--data {spec}: no training files (train.SRC and train.TGT, e.g. train.de and train.en)")
    src, tgt = check_direction(src, tgt, languages(files), str(spec))
    return _load_folder(path.name, path.resolve(), files, src, tgt, encoding_errors)


def _load_folder(
    name: str, folder: Path, files: dict[str, dict[str, str]], src: str, tgt: str, encoding_errors: str
) -> ParallelData:
    splits: dict[str, ParallelTexts] = {}
    paths: dict[str, tuple[str, str]] = {}
    for split in SPLITS:
        found = files[split]
        for lang in (src, tgt):
            if lang not in found:
                stems = " or ".join(f"{s}.{lang}" for s in SPLIT_STEMS[split])
                raise LmlabError(f"{folder}: no {split} file for {lang} (expected {stems})")
        src_path, tgt_path = folder / found[src], folder / found[tgt]
        splits[split] = read_pair(src_path, tgt_path, encoding_errors=encoding_errors)
        paths[split] = (str(src_path), str(tgt_path))
    notes = []
    blank = sum(1 for s, t in zip(splits["train"].src, splits["train"].tgt) if not s.strip() or not t.strip())
    if blank:
        notes.append(f"{blank:,} training pairs with a blank side are left out of training")
    return ParallelData(name, str(folder), src, tgt, splits["train"], splits["valid"], splits["test"], paths, notes)


def usable_pairs(texts: ParallelTexts) -> list[int]:
    """Positions of the pairs whose sides both hold text (what training reads).

    >>> usable_pairs(ParallelTexts(["a", " ", "c"], ["x", "y", ""]))
    [0]
    """
    return [i for i, (s, t) in enumerate(zip(texts.src, texts.tgt)) if s.strip() and t.strip()]


__all__ = [
    "DEFAULT_DIRECTION",
    "SPLITS",
    "SPLIT_STEMS",
    "ParallelData",
    "ParallelTexts",
    "check_direction",
    "languages",
    "load_parallel_data",
    "parallel_datasets",
    "read_pair",
    "split_file_names",
    "usable_pairs",
]
