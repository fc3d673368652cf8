"""Tagged sentences for sequence labelling: CoNLL-U treebanks, CoNLL-style column files, the named datasets.

``load_tagging_data(spec)`` gives a :class:`TaggingData` (train, valid and test lists of sentences, each a list of
words and a list of their tags) from

- a named dataset of kind ``tagging`` (``ud-english-gum``: UD English GUM, its train/dev/test files);
- a folder with a train, a valid (or dev) and a test file: ``train.conllu``, ``dev.conllu``, ``test.conllu``,
  UD's ``en_gum-ud-train.conllu`` naming, or column files (``train.txt``, ``valid.tsv``, ...); without a valid
  file, 10% of the training sentences are held out;
- one file, its sentences split 80/10/10 in a fixed pseudo-random order (seed ``seed``).

Two formats are read. A ``.conllu`` file is CoNLL-U: ten tab-separated columns per word (ID, FORM, LEMMA, UPOS,
XPOS, FEATS, HEAD, DEPREL, DEPS, MISC), ``#`` comment lines, a blank line after each sentence; the tag is the UPOS
or the XPOS column (``column``). Multiword-token lines (ID ``1-2``: the surface token *don't* over the words *do*
and *n't*) and empty nodes (ID ``1.1``) carry no tag and are skipped, as UD's evaluation scores the words. Any
other file is a column file: ``word<TAB>tag`` per line (or whitespace-separated columns, the word first and the
tag last, as CoNLL-2003 writes ``EU NNP B-NP B-ORG``), a blank line between sentences, ``-DOCSTART-`` lines
skipped. Tags are strings as written: UD's 17 UPOS tags, Penn Treebank tags, or BIO/IOB2/IOBES tags
(``B-PER I-PER O``), whose scores are then also counted by spans (:mod:`lmlab.tag.metrics`).

A tag seen in valid or test but never in training is kept (a tagger cannot predict it, so it counts as an error)
and named in ``notes``.

References: de Marneffe et al. 2021, "Universal Dependencies" (CoNLL-U); Zeldes 2017, "The GUM Corpus";
Tjong Kim Sang & De Meulder 2003 (the CoNLL-2003 column format).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from lmlab.data.corpus import split_lines
from lmlab.data.download import fetch, file_url
from lmlab.data.registry import DATASETS
from lmlab.data.registry import data_dir as default_data_dir
from lmlab.data.text import read_text_file
from lmlab.errors import LmlabError

SPLITS = ("train", "valid", "test")
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)
"""One file: 80% of its sentences train, 10% valid, 10% test."""
VALID_FRACTION = 0.1
"""A folder without a valid (dev) file: this share of the training sentences is held out for validation."""
COLUMNS = {"upos": 3, "xpos": 4}
"""The CoNLL-U columns a tag can come from (0-based): UD's universal tags, or the treebank's own (PTB for English)."""
CONLLU_FIELDS = 10
FILE_SUFFIXES = ("", ".conllu", ".conll", ".txt", ".tsv", ".bio", ".iob", ".iobes")
"""The files a folder's splits may be (``train.conllu``, ``train.txt``, ``train``, ...)."""
SPLIT_NAMES = {"train": ("train",), "valid": ("valid", "dev"), "test": ("test",)}
_CONLLU_ID = re.compile(r"[1-9][0-9]*|[1-9][0-9]*-[1-9][0-9]*|[0-9]+\.[1-9][0-9]*")
_SPAN_TAG = re.compile(r"[BIES]-.+")


@dataclass
class Sentences:
    """Sentences as words and their tags, in the same order; every sentence has at least one word."""

    words: list[list[str]]
    tags: list[list[str]]

    def __post_init__(self) -> None:
        assert len(self.words) == len(self.tags), (len(self.words), len(self.tags))

    def __len__(self) -> int:
        return len(self.words)

    @property
    def tokens(self) -> int:
        """Words in all the sentences."""
        return sum(len(w) for w in self.words)

    def subset(self, indices: Sequence[int]) -> Sentences:
        """The sentences at ``indices``, in that order."""
        return Sentences([self.words[i] for i in indices], [self.tags[i] for i in indices])

    def tag_counts(self) -> dict[str, int]:
        """Words per tag, by tag."""
        return dict(sorted(Counter(t for tags in self.tags for t in tags).items()))

    def as_lines(self) -> list[str]:
        """The sentences as a column file's lines: ``word<TAB>tag``, an empty line after each sentence."""
        lines = []
        for words, tags in zip(self.words, self.tags):
            lines += [f"{w}\t{t}" for w, t in zip(words, tags)]
            lines.append("")
        return lines

    def __repr__(self) -> str:
        return f"Sentences({len(self):,} sentences, {self.tokens:,} words)"


@dataclass(repr=False)
class TaggingData:
    """A tagging dataset: train, valid and test, the training tags, and how it was made.

    ``tags`` are the sorted tags seen in training (the ones a tagger learns); ``scheme`` is ``"bio"`` when they are
    span tags (BIO/IOB2/IOBES: every tag ``O`` or ``B-``/``I-``/``E-``/``S-`` and a type) and ``"plain"`` otherwise.
    """

    name: str
    source: str
    train: Sentences
    valid: Sentences
    test: Sentences
    tags: list[str]
    scheme: str
    notes: list[str] = field(default_factory=list)

    def split(self, name: str) -> Sentences:
        """Split ``name``: ``"train"``, ``"valid"`` or ``"test"``."""
        if name not in SPLITS:
            raise LmlabError(f"unknown split {name!r}; choose one of: {', '.join(SPLITS)}")
        return getattr(self, name)

    def __repr__(self) -> str:
        return (
            f"TaggingData(name={self.name!r}, train={len(self.train):,}, valid={len(self.valid):,}, "
            f"test={len(self.test):,}, tags={len(self.tags)}, scheme={self.scheme!r}, source={self.source!r})"
        )


def tag_scheme(tags: Sequence[str]) -> str:
    """``"bio"`` when every tag is ``O`` or a span tag (``B-X``, ``I-X``, ``E-X``, ``S-X``) and one is not ``O``;
    else ``"plain"``.

    >>> tag_scheme(["O", "B-PER", "I-PER"]), tag_scheme(["NOUN", "VERB"]), tag_scheme(["O"])
    ('bio', 'plain', 'plain')
    """
    spans = [t for t in tags if t != "O"]
    return "bio" if spans and all(_SPAN_TAG.fullmatch(t) for t in spans) else "plain"


def hash_order(indices: Sequence[int], seed: int) -> list[int]:
    """``indices`` in a pseudo-random order fixed by ``seed``: sorted by the BLAKE2b hash of ``seed:index``, the
    same on every machine and every version of Python and NumPy.

    >>> hash_order(range(6), seed=0)
    [3, 5, 4, 2, 0, 1]
    """
    return sorted(indices, key=lambda i: hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=8).digest())


def split_sentences(n: int, fractions: Sequence[float], seed: int) -> list[list[int]]:
    """Cut sentence positions ``0..n-1`` into parts of the given ``fractions`` (in :func:`hash_order`), each part
    in ascending order; the boundaries are the rounded cumulative fractions.

    >>> [len(p) for p in split_sentences(10, (0.8, 0.1, 0.1), seed=0)]
    [8, 1, 1]
    """
    order = hash_order(range(n), seed)
    bounds = [0]
    total = 0.0
    for f in fractions[:-1]:
        total += f
        bounds.append(min(n, int(n * total + 0.5)))
    bounds.append(n)
    return [sorted(order[bounds[j] : bounds[j + 1]]) for j in range(len(fractions))]


# ---- reading files
class _Builder:
    """Collects one file's sentences, checking each as it ends."""

    def __init__(self, path: Path):
        self.path = path
        self.words: list[list[str]] = []
        self.tags: list[list[str]] = []
        self.cur_words: list[str] = []
        self.cur_tags: list[str] = []
        self.started: int | None = None  # the line the current sentence (comments included) began on

    def begin(self, line_no: int) -> None:
        if self.started is None:
            self.started = line_no

    def add(self, line_no: int, word: str, tag: str) -> None:
        self.begin(line_no)
        if not word:
            raise LmlabError(f"{self.path}:{line_no}: empty word")
        if not tag or tag == "_":
            raise LmlabError(f"{self.path}:{line_no}: word {word!r} has no tag ({tag or 'empty'!r})")
        self.cur_words.append(word)
        self.cur_tags.append(tag)

    def end(self, line_no: int) -> None:
        if self.started is None:
            return  # blank lines between sentences
        if not self.cur_words:
            raise LmlabError(f"{self.path}:{self.started}: a sentence with no tokens (lines {self.started}-{line_no})")
        self.words.append(self.cur_words)
        self.tags.append(self.cur_tags)
        self.cur_words, self.cur_tags, self.started = [], [], None

    def done(self, last_line: int) -> Sentences:
        self.end(last_line)
        if not self.words:
            raise LmlabError(f"{self.path} has no sentences")
        return Sentences(self.words, self.tags)


def read_conllu(path: str | os.PathLike, *, column: str = "upos", encoding_errors: str = "strict") -> Sentences:
    """The sentences of a CoNLL-U file with the tags of ``column`` (``"upos"`` or ``"xpos"``).

    Comment lines (``#``), multiword-token lines (``1-2``) and empty nodes (``1.1``) are skipped; a line with other
    than ten tab-separated columns, an ID that is none of these, a word without a tag (``_``) or a sentence without
    a word is an LmlabError naming the file and the line.
    """
    if column not in COLUMNS:
        raise LmlabError(f"--column must be one of {', '.join(COLUMNS)}, got {column!r}")
    path = Path(path)
    out = _Builder(path)
    index = COLUMNS[column]
    line_no = 0
    for line_no, line in enumerate(split_lines(read_text_file(path, "UTF-8", encoding_errors)), start=1):
        if not line.strip():
            out.end(line_no)
            continue
        if line.startswith("#"):
            out.begin(line_no)
            continue
        fields = line.split("\t")
        if len(fields) != CONLLU_FIELDS:
            raise LmlabError(
                f"{path}:{line_no}: {len(fields)} column(s); a CoNLL-U word line has {CONLLU_FIELDS}, tab-separated"
            )
        if not _CONLLU_ID.fullmatch(fields[0]):
            raise LmlabError(f"{path}:{line_no}: {fields[0]!r} is not a CoNLL-U word ID (1, 2-3 or 4.1)")
        if "-" in fields[0] or "." in fields[0]:  # a multiword token or an empty node: no tag of its own
            out.begin(line_no)
            continue
        out.add(line_no, fields[1], fields[index])
    return out.done(line_no)


def read_columns(path: str | os.PathLike, *, encoding_errors: str = "strict") -> Sentences:
    """The sentences of a column file: the word in the first column, the tag in the last; columns are separated by
    tabs when the line has one, else by spaces. A blank line ends a sentence; ``-DOCSTART-`` lines are skipped."""
    path = Path(path)
    out = _Builder(path)
    line_no = 0
    for line_no, line in enumerate(split_lines(read_text_file(path, "UTF-8", encoding_errors)), start=1):
        if not line.strip():
            out.end(line_no)
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if fields[0].strip() == "-DOCSTART-":
            out.end(line_no)
            continue
        if len(fields) < 2:
            raise LmlabError(f"{path}:{line_no}: one column; each line must be word<TAB>tag (or word ... tag)")
        out.add(line_no, fields[0].strip(), fields[-1].strip())
    return out.done(line_no)


def is_conllu(path: str | os.PathLike) -> bool:
    """A file read as CoNLL-U (its name ends in ``.conllu``); every other file is read as columns."""
    return Path(path).suffix.lower() == ".conllu"


def read_tagged_file(path: str | os.PathLike, *, column: str = "upos", encoding_errors: str = "strict") -> Sentences:
    """One file of tagged sentences, CoNLL-U or columns (:func:`is_conllu`)."""
    if is_conllu(path):
        return read_conllu(path, column=column, encoding_errors=encoding_errors)
    return read_columns(path, encoding_errors=encoding_errors)


# ---- datasets
def unseen_tags(data: TaggingData, split: str) -> dict[str, int]:
    """Tags of ``split`` never seen in training, with their counts.

    >>> s = Sentences([["a"]], [["X"]])
    >>> unseen_tags(TaggingData("d", "", s, s, Sentences([["b", "c"]], [["X", "Y"]]), ["X"], "plain"), "test")
    {'Y': 1}
    """
    known = set(data.tags)
    counts = Counter(t for tags in data.split(split).tags for t in tags if t not in known)
    return dict(sorted(counts.items()))


def _finish(
    name: str, source: str, train: Sentences, valid: Sentences, test: Sentences, notes: list[str]
) -> TaggingData:
    for split, part in (("train", train), ("valid", valid), ("test", test)):
        if not len(part):
            raise LmlabError(f"{source}: the {split} split is empty; add sentences (or give a {split} file)")
    tags = sorted(train.tag_counts())
    if len(tags) < 2:
        raise LmlabError(f"{source}: the training data has only one tag ({tags[0]!r}); a tagger needs at least two")
    data = TaggingData(name, source, train, valid, test, tags, tag_scheme(tags), list(notes))
    for split in ("valid", "test"):
        unseen = unseen_tags(data, split)
        if unseen:
            listed = ", ".join(f"{tag!r} ({n})" for tag, n in unseen.items())
            data.notes.append(
                f"{split}: {sum(unseen.values())} word(s) with tags never seen in training, counted as errors: {listed}"
            )
    return data


def _find(folder: Path, split: str) -> Path | None:
    """The folder's file for ``split``: ``NAME`` or ``...-NAME`` / ``..._NAME`` / ``....NAME`` with one of
    :data:`FILE_SUFFIXES`, for NAME among the split's names (``valid`` or ``dev``)."""
    found = []
    for entry in sorted(folder.iterdir()):
        if not entry.is_file() or entry.name.startswith("."):
            continue
        suffix = entry.suffix.lower() if entry.suffix.lower() in FILE_SUFFIXES else ""
        stem = entry.name[: len(entry.name) - len(suffix)].lower() if suffix else entry.name.lower()
        for name in SPLIT_NAMES[split]:
            if stem == name or stem.endswith(("-" + name, "_" + name, "." + name)):
                found.append(entry)
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise LmlabError(f"folder {folder} has {len(found)} {split} files ({names}); keep one")
    return found[0] if found else None


def _load_folder(folder: Path, seed: int, **read_options) -> TaggingData:
    train_path, valid_path, test_path = (_find(folder, s) for s in SPLITS)
    missing = [s for s, p in (("train", train_path), ("test", test_path)) if p is None]
    if missing:
        raise LmlabError(
            f"folder {folder} has no {' and no '.join(missing)} file; a tagging folder holds train, test and "
            "optionally valid (or dev) files: train.conllu or *-train.conllu (CoNLL-U), or train.txt (word<TAB>tag)"
        )
    assert train_path is not None and test_path is not None
    train = read_tagged_file(train_path, **read_options)
    test = read_tagged_file(test_path, **read_options)
    notes = [f"files: {train_path.name}, {valid_path.name if valid_path else '-'}, {test_path.name}"]
    if valid_path is not None:
        valid = read_tagged_file(valid_path, **read_options)
    else:
        keep, held = split_sentences(len(train), (1 - VALID_FRACTION, VALID_FRACTION), seed)
        train, valid = train.subset(keep), train.subset(held)
        notes.append(f"valid: {VALID_FRACTION:.0%} of the training sentences held out with seed {seed} (no valid file)")
    return _finish(folder.resolve().name, f"folder {folder}", train, valid, test, notes)


def _load_named(name: str, root: Path, download: bool, **read_options) -> TaggingData:
    info = DATASETS[name]
    assert info.split_files is not None, name
    files = tuple(info.file(p) for p in info.split_files)
    if download and not all((root / f.path).is_file() for f in files):
        fetch(replace(info, files=files, split_files=None), root, progress=True)  # only the files read here
    for f in files:
        if not (root / f.path).is_file():
            where = f"get it from {file_url(f)}" if f.url else f"it comes from {f.note}"
            raise LmlabError(
                f"dataset {name}: {root / f.path} not found and download is off; {where} and put it there, "
                f"or set LMLAB_DATA_DIR to a folder that has {f.path}"
            )
    train, valid, test = (read_tagged_file(root / p, **read_options) for p in info.split_files)
    return _finish(name, f"{name}: {root / info.folder}", train, valid, test, [f"{name}'s train/dev/test files"])


def named_datasets() -> list[str]:
    """The registered datasets of kind ``tagging`` with their train, valid and test files."""
    return [n for n, info in DATASETS.items() if info.kind == "tagging" and info.split_files is not None]


def load_tagging_data(
    spec: str | os.PathLike,
    *,
    column: str = "upos",
    encoding_errors: str = "strict",
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
) -> TaggingData:
    """Load tagged sentences from a named dataset, a folder or one file (see the module docstring).

    ``column`` picks the CoNLL-U tag column (``upos`` or ``xpos``); ``seed`` fixes the splits that are drawn (a
    missing valid file, a single file). Named datasets are read from ``data_dir`` (default
    :func:`lmlab.data.data_dir`, ``$LMLAB_DATA_DIR``), downloaded first when missing unless ``download=False``.

    >>> data = load_tagging_data("ud-english-gum")                                     # doctest: +SKIP
    >>> len(data.train), len(data.valid), len(data.test), len(data.tags), data.scheme  # doctest: +SKIP
    (10330, 1575, 1464, 17, 'plain')
    """
    if encoding_errors not in ("strict", "replace"):
        raise LmlabError(f"encoding_errors must be 'strict' or 'replace', not {encoding_errors!r}")
    if column not in COLUMNS:
        raise LmlabError(f"--column must be one of {', '.join(COLUMNS)}, got {column!r}")
    options = {"column": column, "encoding_errors": encoding_errors}
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    named = named_datasets()
    if isinstance(spec, str) and spec in named:
        return _load_named(spec, root, download, **options)
    path = Path(spec)
    if path.is_dir():
        return _load_folder(path, seed, **options)
    if path.is_file():
        sentences = read_tagged_file(path, **options)
        parts = split_sentences(len(sentences), SPLIT_FRACTIONS, seed)
        train, valid, test = (sentences.subset(p) for p in parts)
        note = f"one file: train/valid/test drawn 80/10/10 by sentences with seed {seed}"
        return _finish(path.stem, str(path), train, valid, test, [note])
    if isinstance(spec, str) and spec in DATASETS:
        raise LmlabError(f"{spec} is a {DATASETS[spec].kind} dataset; tagging datasets: {', '.join(named)}")
    raise LmlabError(f"{str(spec)!r} is neither a tagging dataset ({', '.join(named)}) nor an existing file or folder")


__all__ = [
    "COLUMNS",
    "Sentences",
    "TaggingData",
    "hash_order",
    "is_conllu",
    "load_tagging_data",
    "named_datasets",
    "read_columns",
    "read_conllu",
    "read_tagged_file",
    "split_sentences",
    "tag_scheme",
    "unseen_tags",
]
