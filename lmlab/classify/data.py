"""Labelled texts for classification: the named datasets, your own TSV/CSV files, stratified splits and folds.

``load_classification_data(spec)`` gives a :class:`ClassificationData` (train, valid and test lists of texts and
their labels) from

- a named dataset: ``sst2`` (Kim 2014's sentence-level SST-2 splits, 6,920 / 872 / 1,821), ``sst2-phrases``
  (GLUE's 67,349 training phrases with the same dev and test sentences) or ``mr`` (Pang & Lee's 10,662 movie
  review snippets, no split given);
- a folder with ``train.tsv``, ``test.tsv`` and optionally ``valid.tsv`` (or the same three as ``.csv``);
- one ``.tsv`` (``label<TAB>text`` per line) or ``.csv`` file (a header naming the columns), split 80/10/10.

Labels are strings, whatever the file writes (``"0"``, ``"positive"``, ``"sports"``). A text is stripped of the
whitespace around it; tokenizing it is the model's business. Splits that the data does not give are drawn
stratified (every class in the same proportion in each part) with a fixed seed, from a hash of the seed and the
example's position, so they are the same on every machine and with every version of every library.

References: Socher et al. 2013 (SST); Kim 2014 (the sentence splits); Wang et al. 2018 (GLUE);
Pang & Lee 2005 (MR).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
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
"""A file without a split: 80% train, 10% valid, 10% test, as most papers without a given split do."""
VALID_FRACTION = 0.1
"""A folder without ``valid.tsv``: this part of train is held out for validation."""
SST2_LABELS = {"0": "negative", "1": "positive"}
"""SST-2's files write 0/1; GLUE and HuggingFace's ``glue/sst2`` name them negative/positive."""
GLUE_TO_SENTENCE_FILES = (("(", "-lrb-"), (")", "-rrb-"), ("/", "\\/"))
"""GLUE writes brackets and slashes plainly, Kim's sentence files as the Penn Treebank does."""


@dataclass
class LabeledTexts:
    """Texts and their labels, in the same order."""

    texts: list[str]
    labels: list[str]

    def __post_init__(self) -> None:
        assert len(self.texts) == len(self.labels), (len(self.texts), len(self.labels))

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: Sequence[int]) -> LabeledTexts:
        """The examples at ``indices``, in that order."""
        return LabeledTexts([self.texts[i] for i in indices], [self.labels[i] for i in indices])

    def counts(self) -> dict[str, int]:
        """Examples per label, by label."""
        return dict(sorted(Counter(self.labels).items()))

    def __repr__(self) -> str:
        # The default repr would print every text.
        return f"LabeledTexts({len(self):,} examples, {len(set(self.labels))} labels)"


@dataclass(repr=False)
class ClassificationData:
    """A classification dataset: train, valid and test, the training labels, and how it was made.

    ``labels`` are the sorted labels seen in training: the classes a model learns. A valid or test label outside
    them is kept (a model gets it wrong, as it should count) and named in ``notes``; see :func:`unseen_labels`.
    """

    name: str
    source: str
    train: LabeledTexts
    valid: LabeledTexts
    test: LabeledTexts
    labels: list[str]
    notes: list[str] = field(default_factory=list)

    def split(self, name: str) -> LabeledTexts:
        """Split ``name``: ``"train"``, ``"valid"`` or ``"test"``."""
        if name not in SPLITS:
            raise LmlabError(f"unknown split {name!r}; choose one of: {', '.join(SPLITS)}")
        return getattr(self, name)

    def __repr__(self) -> str:
        return (
            f"ClassificationData(name={self.name!r}, train={len(self.train):,}, valid={len(self.valid):,}, "
            f"test={len(self.test):,}, labels={self.labels!r}, source={self.source!r})"
        )


def hash_order(indices: Sequence[int], seed: int) -> list[int]:
    """``indices`` in a pseudo-random order fixed by ``seed``: sorted by the BLAKE2b hash of ``seed:index``.

    The same on every machine and every version of Python and NumPy (``random.shuffle`` promises neither).

    >>> hash_order(range(6), seed=0)
    [3, 5, 4, 2, 0, 1]
    >>> hash_order(range(6), seed=1)
    [0, 5, 1, 3, 2, 4]
    """
    return sorted(indices, key=lambda i: hashlib.blake2b(f"{seed}:{i}".encode(), digest_size=8).digest())


def _by_class(labels: Sequence[str], seed: int) -> list[list[int]]:
    """Each class's positions (classes in sorted order), in the seed's pseudo-random order."""
    positions: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        positions.setdefault(label, []).append(i)
    return [hash_order(positions[label], seed) for label in sorted(positions)]


def stratified_split(labels: Sequence[str], fractions: Sequence[float], seed: int = 0) -> list[list[int]]:
    """Cut positions ``0..len(labels)-1`` into parts of the given ``fractions``, each class cut the same way.

    Every class is shuffled (:func:`hash_order`) and cut at the rounded cumulative fractions of its size, so a
    class of n examples puts ``round(n * f)`` (give or take one) in a part of fraction ``f``, and the rounding
    never sends a class's only example away from the first part. Each part is returned in ascending order.

    >>> labels = ["a"] * 8 + ["b"] * 2
    >>> stratified_split(labels, (0.5, 0.5), seed=0)
    [[3, 4, 5, 7, 9], [0, 1, 2, 6, 8]]
    >>> [len(p) for p in stratified_split(["x"] * 80 + ["y"] * 20, (0.8, 0.1, 0.1))]
    [80, 10, 10]

    References: Kohavi 1995 (stratification keeps class proportions in every part).
    """
    fractions = [float(f) for f in fractions]
    if not fractions or any(not f >= 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise LmlabError(f"split fractions must be >= 0 and sum to 1, not {list(fractions)}")
    cumulative = [sum(fractions[: j + 1]) for j in range(len(fractions))]
    parts: list[list[int]] = [[] for _ in fractions]
    for members in _by_class(labels, seed):
        n = len(members)
        # Half-up rounding of the cumulative boundaries: the part sizes add up to n exactly.
        bounds = [0] + [min(n, math.floor(n * c + 0.5 + 1e-9)) for c in cumulative[:-1]] + [n]
        for j, part in enumerate(parts):
            part.extend(members[bounds[j] : bounds[j + 1]])
    return [sorted(p) for p in parts]


def stratified_folds(labels: Sequence[str], k: int, seed: int = 0) -> list[tuple[list[int], list[int]]]:
    """``k`` folds for cross-validation: ``(train positions, test positions)`` for each, every class spread evenly.

    The classes (each in the seed's order) are laid end to end and dealt to the folds in turn, so each class's
    count differs by at most one between folds, and so do the fold sizes. Every position is in exactly one test
    part.

    >>> folds = stratified_folds(["a"] * 4 + ["b"] * 2, k=2, seed=0)
    >>> folds
    [([1, 2, 4], [0, 3, 5]), ([0, 3, 5], [1, 2, 4])]

    References: Kohavi 1995; Pang & Lee 2005 and Kim 2014 report MR by 10-fold cross-validation.
    """
    n = len(labels)
    if not isinstance(k, int) or k < 2 or k > n:
        raise LmlabError(f"the number of folds must be an integer from 2 to the number of examples ({n}), not {k!r}")
    order = [i for members in _by_class(labels, seed) for i in members]
    test_parts: list[list[int]] = [[] for _ in range(k)]
    for position, i in enumerate(order):
        test_parts[position % k].append(i)
    folds = []
    for part in test_parts:
        held = set(part)
        folds.append(([i for i in range(n) if i not in held], sorted(part)))
    return folds


def fold_datasets(
    data: ClassificationData, k: int, *, seed: int = 0, valid_fraction: float = VALID_FRACTION
) -> list[ClassificationData]:
    """``k`` cross-validation datasets from all of ``data``'s examples (train, valid and test pooled).

    Fold i tests on its part of :func:`stratified_folds` and trains on the rest, less a stratified
    ``valid_fraction`` held out for validation (early stopping), as Kim (2014) held out 10% of each training
    fold. A dataset with given splits (``sst2``) is pooled too; that is what cross-validation means, but papers
    report such datasets on their test split instead.
    """
    pool = LabeledTexts(
        data.train.texts + data.valid.texts + data.test.texts,
        data.train.labels + data.valid.labels + data.test.labels,
    )
    result = []
    for i, (train_idx, test_idx) in enumerate(stratified_folds(pool.labels, k, seed), start=1):
        rest = pool.subset(train_idx)
        keep, held = stratified_split(rest.labels, (1 - valid_fraction, valid_fraction), seed)
        notes = [
            f"fold {i} of {k}: test is 1/{k} of all {len(pool):,} examples, stratified, seed {seed}",
            f"valid held out from train, stratified {valid_fraction:.0%}",
        ]
        result.append(
            _finish(
                f"{data.name}-fold{i}", data.source, rest.subset(keep), rest.subset(held), pool.subset(test_idx), notes
            )
        )
    return result


def unseen_labels(data: ClassificationData, split: str | None = None) -> dict[str, int]:
    """Labels of ``split`` (default: valid and test together) never seen in training, with their counts.

    >>> d = ClassificationData("x", "", LabeledTexts(["a", "b"], ["p", "n"]), LabeledTexts(["c"], ["p"]),
    ...                        LabeledTexts(["d", "e", "f"], ["q", "p", "q"]), ["n", "p"])
    >>> unseen_labels(d), unseen_labels(d, "valid")
    ({'q': 2}, {})
    """
    known = set(data.labels)
    names = ("valid", "test") if split is None else (split,)
    counts: Counter[str] = Counter()
    for name in names:
        counts.update(label for label in data.split(name).labels if label not in known)
    return dict(sorted(counts.items()))


class _Builder:
    """Collects examples from one file, checking each as it comes."""

    def __init__(self, path: Path):
        self.path = path
        self.texts: list[str] = []
        self.labels: list[str] = []

    def add(self, line_no: int, label: str, text: str) -> None:
        label, text = label.strip(), text.strip()
        if not label:
            raise LmlabError(f"{self.path}:{line_no}: empty label")
        if not text:
            raise LmlabError(f"{self.path}:{line_no}: empty text (label {label!r})")
        self.labels.append(label)
        self.texts.append(text)

    def done(self) -> LabeledTexts:
        if not self.texts:
            raise LmlabError(f"{self.path} has no examples")
        return LabeledTexts(self.texts, self.labels)


def read_label_tab_text(path: str | os.PathLike, *, encoding_errors: str = "strict") -> LabeledTexts:
    """Read ``label<TAB>text`` lines (UTF-8). Blank lines are skipped; a first line ``label<TAB>text`` or
    ``text<TAB>label`` is a header naming the columns.

    The text is everything after the first tab, so it may hold tabs of its own.
    """
    path = Path(path)
    lines = split_lines(read_text_file(path, "utf-8", encoding_errors))
    if lines and sorted(c.strip().lower() for c in lines[0].split("\t")) == ["label", "text"]:
        return read_table(
            path,
            delimiter="\t",
            text_column="text",
            label_column="label",
            encoding_errors=encoding_errors,
            header_case_insensitive=True,
        )
    out = _Builder(path)
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        label, tab, text = line.partition("\t")
        if not tab:
            raise LmlabError(f"{path}:{line_no}: no tab; each line must be label<TAB>text")
        out.add(line_no, label, text)
    return out.done()


def read_table(
    path: str | os.PathLike,
    *,
    delimiter: str,
    text_column: str,
    label_column: str,
    encoding_errors: str = "strict",
    header_case_insensitive: bool = False,
) -> LabeledTexts:
    """Read a CSV (``delimiter=","``, quoted fields allowed) or TSV (``"\\t"``, no quoting) file with a header
    line; the texts and labels are the columns named ``text_column`` and ``label_column``."""
    path = Path(path)
    text = read_text_file(path, "utf-8", encoding_errors)
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting, strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise LmlabError(f"{path} is empty; expected a header line naming the columns")
        columns = [c.strip() for c in header]
        keys = [c.lower() for c in columns] if header_case_insensitive else columns
        wanted = []
        for what, name in (("text", text_column), ("label", label_column)):
            if name not in keys:
                raise LmlabError(
                    f"{path}: no {what} column {name!r}; the columns are: {', '.join(repr(c) for c in columns)}"
                )
            wanted.append(keys.index(name))
        out = _Builder(path)
        for row in reader:
            if not row or not any(cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                raise LmlabError(
                    f"{path}:{reader.line_num}: {len(row)} fields, but the header has {len(columns)} columns"
                )
            out.add(reader.line_num, row[wanted[1]], row[wanted[0]])
    except csv.Error as e:
        raise LmlabError(f"{path}:{reader.line_num}: malformed {'CSV' if delimiter == ',' else 'TSV'} ({e})") from None
    return out.done()


def read_labeled_file(
    path: str | os.PathLike,
    *,
    text_column: str | None = None,
    label_column: str | None = None,
    encoding_errors: str = "strict",
) -> LabeledTexts:
    """One file of examples: ``.csv`` with a header (columns ``text`` and ``label`` unless named), or any other
    file as ``label<TAB>text`` lines, or as a TSV with a header when a column is named."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return read_table(
            path,
            delimiter=",",
            text_column=text_column or "text",
            label_column=label_column or "label",
            encoding_errors=encoding_errors,
        )
    if text_column is not None or label_column is not None:
        return read_table(
            path,
            delimiter="\t",
            text_column=text_column or "text",
            label_column=label_column or "label",
            encoding_errors=encoding_errors,
        )
    return read_label_tab_text(path, encoding_errors=encoding_errors)


def read_sst_sentences(path: str | os.PathLike) -> LabeledTexts:
    """Kim's SST files (``stsa.binary.*``): ``<0|1> <text>`` per line; labels become negative/positive."""
    path = Path(path)
    out = _Builder(path)
    for line_no, line in enumerate(split_lines(read_text_file(path, "utf-8", "strict")), start=1):
        label, _, text = line.partition(" ")
        if label not in SST2_LABELS:
            raise LmlabError(f"{path}:{line_no}: expected '0 <text>' or '1 <text>', got {line[:40]!r}")
        out.add(line_no, SST2_LABELS[label], text)
    return out.done()


def glue_to_sentence_form(text: str) -> str:
    """GLUE's SST-2 text written as Kim's sentence files write it (``-lrb-``, ``-rrb-``, ``\\/``).

    >>> glue_to_sentence_form("a ( very ) 1/2 star movie ")
    'a -lrb- very -rrb- 1\\\\/2 star movie '
    """
    for glue, ptb in GLUE_TO_SENTENCE_FILES:
        text = text.replace(glue, ptb)
    return text


def read_glue_sst2(path: str | os.PathLike) -> LabeledTexts:
    """GLUE's SST-2 ``train.tsv``/``dev.tsv`` (header ``sentence<TAB>label``), in the sentence files' form."""
    rows = read_table(path, delimiter="\t", text_column="sentence", label_column="label")
    bad = sorted(set(rows.labels) - set(SST2_LABELS))
    if bad:
        raise LmlabError(f"{path}: labels must be 0 or 1, found {bad[:5]}")
    return LabeledTexts([glue_to_sentence_form(t) for t in rows.texts], [SST2_LABELS[x] for x in rows.labels])


def read_mr(pos: str | os.PathLike, neg: str | os.PathLike) -> LabeledTexts:
    """MR's ``rt-polarity.pos`` and ``.neg``: one snippet a line, Windows-1252 bytes; labels pos and neg.

    Decoded as cp1252 and split at ``\\n`` only: byte 0x85 is '…' there, and reading it as latin-1 with
    ``splitlines`` turns it into a line break (5,346 "lines" instead of 5,331).
    """
    texts, labels = [], []
    for path, label in ((Path(pos), "pos"), (Path(neg), "neg")):
        part = _Builder(path)
        for line_no, line in enumerate(split_lines(read_text_file(path, "cp1252", "strict")), start=1):
            part.add(line_no, label, line)
        texts += part.texts
        labels += part.labels
    return LabeledTexts(texts, labels)


def _finish(
    name: str, source: str, train: LabeledTexts, valid: LabeledTexts, test: LabeledTexts, notes: list[str]
) -> ClassificationData:
    for split, part in (("train", train), ("valid", valid), ("test", test)):
        if not part.texts:
            raise LmlabError(f"{source}: the {split} split is empty; add examples (or give a {split} file)")
    classes = sorted(set(train.labels))
    if len(classes) < 2:
        raise LmlabError(
            f"{source}: the training data has only one class ({classes[0]!r}); a classifier needs at least two"
        )
    data = ClassificationData(name, source, train, valid, test, classes, list(notes))
    for split in ("valid", "test"):
        unseen = unseen_labels(data, split)
        if unseen:
            listed = ", ".join(f"{label!r} ({n})" for label, n in unseen.items())
            data.notes.append(
                f"{split}: {sum(unseen.values())} example(s) with labels never seen in training, counted as "
                f"errors: {listed}"
            )
    return data


def _split_three(name: str, source: str, examples: LabeledTexts, seed: int, what: str) -> ClassificationData:
    parts = stratified_split(examples.labels, SPLIT_FRACTIONS, seed)
    train, valid, test = (examples.subset(p) for p in parts)
    note = f"{what}: train/valid/test drawn stratified 80/10/10 with seed {seed}"
    return _finish(name, source, train, valid, test, [note])


def _hold_out_valid(train: LabeledTexts, seed: int) -> tuple[LabeledTexts, LabeledTexts, str]:
    keep, held = stratified_split(train.labels, (1 - VALID_FRACTION, VALID_FRACTION), seed)
    return train.subset(keep), train.subset(held), f"valid held out from train, stratified {VALID_FRACTION:.0%}"


def _find(folder: Path, split: str) -> Path | None:
    for ext in (".tsv", ".csv"):
        if (folder / f"{split}{ext}").is_file():
            return folder / f"{split}{ext}"
    return None


def _load_folder(folder: Path, seed: int, **read_options) -> ClassificationData:
    train_path, valid_path, test_path = (_find(folder, s) for s in SPLITS)
    missing = [f"{s}.tsv" for s, p in (("train", train_path), ("test", test_path)) if p is None]
    if missing:
        raise LmlabError(
            f"folder {folder} lacks {' and '.join(missing)}; a classification folder holds train.tsv, test.tsv "
            f"and optionally valid.tsv (label<TAB>text per line), or the same as .csv files"
        )
    assert train_path is not None and test_path is not None
    train = read_labeled_file(train_path, **read_options)
    test = read_labeled_file(test_path, **read_options)
    notes = []
    if valid_path is not None:
        valid = read_labeled_file(valid_path, **read_options)
    else:
        train, valid, note = _hold_out_valid(train, seed)
        notes.append(f"{note} with seed {seed} (no valid file)")
    return _finish(folder.resolve().name, f"folder {folder}", train, valid, test, notes)


def _dataset_paths(name: str, paths: Sequence[str], root: Path, download: bool) -> list[Path]:
    """The local paths of a registered dataset's files, downloading the missing ones first if allowed."""
    info = DATASETS[name]
    files = tuple(info.file(p) for p in paths)
    if download:
        # Only the files read here: a dataset's other files (a README) need not be downloadable.
        fetch(replace(info, files=files, split_files=None), root, progress=True)
    for f in files:
        if not (root / f.path).is_file():
            raise LmlabError(
                f"dataset {name}: {root / f.path} not found and download is off; get it from "
                f"{file_url(f)} and put it there, or set LMLAB_DATA_DIR to a folder that has {f.path}"
            )
    return [root / p for p in paths]


def _load_sst2(root: Path, download: bool) -> ClassificationData:
    paths = _dataset_paths(
        "sst2", ["sst2/stsa.binary.train", "sst2/stsa.binary.dev", "sst2/stsa.binary.test"], root, download
    )
    train, valid, test = (read_sst_sentences(p) for p in paths)
    return _finish("sst2", f"sst2: {root / 'sst2'}", train, valid, test, ["Kim (2014)'s sentence-level splits"])


def _load_sst2_phrases(root: Path, download: bool) -> ClassificationData:
    paths = _dataset_paths(
        "sst2-phrases", ["sst2/glue/train.tsv", "sst2/stsa.binary.dev", "sst2/stsa.binary.test"], root, download
    )
    train = read_glue_sst2(paths[0])
    valid, test = (read_sst_sentences(p) for p in paths[1:])
    notes = ["train: GLUE's phrases, written with -lrb- -rrb- \\/ as the sentence files are; valid/test: Kim's"]
    return _finish("sst2-phrases", f"sst2-phrases: {root / 'sst2'}", train, valid, test, notes)


def _load_mr(root: Path, download: bool, seed: int) -> ClassificationData:
    pos, neg = _dataset_paths("mr", ["mr/rt-polarity.pos", "mr/rt-polarity.neg"], root, download)
    examples = read_mr(pos, neg)
    data = _split_three("mr", f"mr: {root / 'mr'}", examples, seed, "no split given")
    data.notes.append("papers report MR by 10-fold cross-validation (stratified_folds, fold_datasets)")
    return data


NAMED = ("sst2", "sst2-phrases", "mr")
"""The named classification datasets :func:`load_classification_data` knows."""


def load_classification_data(
    spec: str | os.PathLike,
    *,
    text_column: str | None = None,
    label_column: str | None = None,
    encoding_errors: str = "strict",
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
) -> ClassificationData:
    """Load labelled texts from a named dataset, a folder or one file (see the module docstring).

    ``text_column``/``label_column`` name the columns of CSV files (default ``text`` and ``label``) and of TSV
    files with a header. ``seed`` fixes the splits that are drawn (a missing valid file, a single file, MR).
    Named datasets are read from ``data_dir`` (default :func:`lmlab.data.data_dir`, ``$LMLAB_DATA_DIR``),
    downloaded first when missing unless ``download=False``. A name wins over a file or folder of that name.

    >>> data = load_classification_data("sst2")                        # doctest: +SKIP
    >>> len(data.train), len(data.valid), len(data.test), data.labels  # doctest: +SKIP
    (6920, 872, 1821, ['negative', 'positive'])
    """
    if encoding_errors not in ("strict", "replace"):
        raise LmlabError(f"encoding_errors must be 'strict' or 'replace', not {encoding_errors!r}")
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    if isinstance(spec, str) and spec in NAMED:
        if spec == "sst2":
            return _load_sst2(root, download)
        if spec == "sst2-phrases":
            return _load_sst2_phrases(root, download)
        return _load_mr(root, download, seed)
    read_options = {"text_column": text_column, "label_column": label_column, "encoding_errors": encoding_errors}
    path = Path(spec)
    if path.is_dir():
        return _load_folder(path, seed, **read_options)
    if path.is_file():
        examples = read_labeled_file(path, **read_options)
        return _split_three(path.stem, f"{path}", examples, seed, "one file")
    if isinstance(spec, str) and spec in DATASETS:
        raise LmlabError(f"{spec} is a {DATASETS[spec].kind} dataset; classification datasets: {', '.join(NAMED)}")
    raise LmlabError(
        f"{str(spec)!r} is neither a classification dataset ({', '.join(NAMED)}) nor an existing file or folder"
    )


__all__ = [
    "NAMED",
    "ClassificationData",
    "LabeledTexts",
    "fold_datasets",
    "glue_to_sentence_form",
    "hash_order",
    "load_classification_data",
    "read_glue_sst2",
    "read_label_tab_text",
    "read_labeled_file",
    "read_mr",
    "read_sst_sentences",
    "read_table",
    "stratified_folds",
    "stratified_split",
    "unseen_labels",
]
