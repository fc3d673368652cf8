"""Labelled corpora: lines of text, each with a label, for language models conditioned on the label.

Two forms, as :func:`lmlab.data.load_corpus` reads them:

- a folder of ``LABEL.txt`` files, one text per line (``names-by-language``: ``Russian.txt``, ``Greek.txt``, ...);
  the label is the file's name without ``.txt``;
- one ``.tsv`` file of ``label<TAB>text`` lines (the text is everything after the first tab; a first line
  ``label<TAB>text`` is a header).

Blank lines are skipped: a line is a text of its label. Each label's lines are put in a fixed pseudo-random order
(:func:`lmlab.data.corpus.fixed_shuffle`: the files are often sorted) and cut 80/10/10 into train, valid and
test, so every label is in every split in proportion, with the rounding in favour of train (a label with a
single line is in train); each split is then put in a fixed shuffled order of its own. The same files always give
the same splits, on every machine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lmlab.data.corpus import SPLITS, Corpus, fixed_shuffle, split_lines
from lmlab.data.text import read_text_file
from lmlab.errors import LmlabError

LABELLED_SPLIT = (0.8, 0.1, 0.1)
"""Train, valid and test fractions of each label's lines (as classification data without a given split)."""


@dataclass(frozen=True, repr=False)
class LabelledCorpus(Corpus):
    """A :class:`Corpus` whose every line has a label: ``train_labels[i]`` is the label of ``train[i]``."""

    train_labels: list[str] = field(default_factory=list)
    valid_labels: list[str] = field(default_factory=list)
    test_labels: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in SPLITS:
            assert len(self.split(name)) == len(self.labels_of(name)), name

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels of the training lines, sorted: label i of a conditioned model is ``labels[i]``."""
        return tuple(sorted(set(self.train_labels)))

    def labels_of(self, name: str) -> list[str]:
        """The labels of split ``name``, one per line."""
        self.split(name)  # checks the name
        return getattr(self, f"{name}_labels")

    def records(self, name: str) -> list[str]:
        """The split as ``label<TAB>text`` lines, as its fingerprint hashes them: a relabelled line is a change."""
        return [f"{label}\t{text}" for label, text in zip(self.labels_of(name), self.split(name), strict=True)]

    def __repr__(self) -> str:
        return (
            f"LabelledCorpus(name={self.name!r}, {len(self.labels)} labels, train={len(self.train):,} lines, "
            f"valid={len(self.valid):,} lines, test={len(self.test):,} lines, source={self.source!r})"
        )


def read_label_files(paths: Sequence[Path], *, encoding_errors: str = "strict") -> tuple[list[str], list[str]]:
    """The texts of ``LABEL.txt`` files and their labels (the files' names without ``.txt``), file by file."""
    texts: list[str] = []
    labels: list[str] = []
    for path in paths:
        label = path.name[: -len(".txt")] if path.name.endswith(".txt") else path.stem
        lines = [line for line in split_lines(read_text_file(path, "utf-8", encoding_errors)) if line.strip()]
        if not label.strip():
            raise LmlabError(f"{path}: a label file needs a name (LABEL.txt), got {path.name!r}")
        if not lines:
            raise LmlabError(f"{path}: the label file of {label!r} has no text (one text per line is expected)")
        texts += lines
        labels += [label] * len(lines)
    return texts, labels


def read_label_tab_text(path: Path, *, encoding_errors: str = "strict") -> tuple[list[str], list[str]]:
    """The texts and labels of a ``label<TAB>text`` file; a bad line is named by its number."""
    texts: list[str] = []
    labels: list[str] = []
    lines = split_lines(read_text_file(path, "utf-8", encoding_errors))
    start = 1 if lines and [c.strip().lower() for c in lines[0].split("\t")] == ["label", "text"] else 0
    for line_no, line in enumerate(lines[start:], start=start + 1):
        if not line.strip():
            continue
        label, tab, text = line.partition("\t")
        if not tab:
            raise LmlabError(f"{path}:{line_no}: no tab; each line of a labelled corpus must be label<TAB>text")
        if not label.strip():
            raise LmlabError(f"{path}:{line_no}: empty label")
        if not text.strip():
            raise LmlabError(f"{path}:{line_no}: empty text (label {label.strip()!r})")
        texts.append(text)
        labels.append(label.strip())
    if not texts:
        raise LmlabError(f"{path} has no labelled lines (label<TAB>text, one per line)")
    return texts, labels


def label_files(folder: Path) -> list[Path]:
    """The ``LABEL.txt`` files of a folder, by name."""
    paths = sorted(p for p in folder.iterdir() if p.name.endswith(".txt") and not p.name.startswith("."))
    if not paths:
        raise LmlabError(
            f"folder {folder} holds neither train.txt, valid.txt and test.txt (a corpus) nor LABEL.txt files "
            "(a labelled corpus, one text per line)"
        )
    return paths


def split_labelled(
    name: str,
    texts: Sequence[str],
    labels: Sequence[str],
    source: str,
    spec: str,
    fractions: Sequence[float] = LABELLED_SPLIT,
) -> LabelledCorpus:
    """Cut each label's lines into train/valid/test (see the module docstring).

    >>> texts = [f"t{i}" for i in range(10)] + ["u0"]
    >>> c = split_labelled("c", texts, ["a"] * 10 + ["b"], "by hand", "")
    >>> len(c.train), len(c.valid), len(c.test), c.labels, c.valid_labels
    (9, 1, 1, ('a', 'b'), ['a'])
    """
    _, r_valid, r_test = fractions
    parts: dict[str, list[tuple[str, str]]] = {s: [] for s in SPLITS}
    for label in sorted(set(labels)):
        lines = fixed_shuffle([t for t, lab in zip(texts, labels, strict=True) if lab == label])
        n_valid, n_test = math.floor(len(lines) * r_valid + 1e-9), math.floor(len(lines) * r_test + 1e-9)
        n_train = len(lines) - n_valid - n_test
        cuts = {
            "train": lines[:n_train],
            "valid": lines[n_train : n_train + n_valid],
            "test": lines[len(lines) - n_test :],
        }
        for split, part in cuts.items():
            parts[split] += [(label, t) for t in part]
    empty = [s for s in SPLITS if not parts[s]]
    if empty:
        raise LmlabError(
            f"{source}: {len(texts):,} lines are too few to split {'/'.join(f'{r:g}' for r in fractions)} by label "
            f"with a line in each of train/valid/test (none in {', '.join(empty)}); give each label at least 10 lines"
        )
    split = {s: fixed_shuffle(parts[s]) for s in SPLITS}
    return LabelledCorpus(
        name,
        *([t for _, t in split[s]] for s in SPLITS),
        source,
        spec,
        *([lab for lab, _ in split[s]] for s in SPLITS),
    )


__all__ = [
    "LABELLED_SPLIT",
    "LabelledCorpus",
    "label_files",
    "read_label_files",
    "read_label_tab_text",
    "split_labelled",
]
