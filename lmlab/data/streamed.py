"""A plain text corpus whose training split is read from its file as a stream, never held whole.

:func:`load_corpus` reads every line of a corpus into lists, which at a hundred million words is gigabytes of Python
strings. Training within a memory budget (``lmlab train --model ngram --memory 4G``) reads the training split from
its file instead, a block at a time, and holds only the validation and test splits (a tenth of a single file, or
their own files). The lines, splits, sources and fingerprints are those :func:`load_corpus` gives for the same
``--data``: the same cut by line fractions, ``\\r\\n`` and a byte-order mark handled alike, the same errors in the
same order. Labelled corpora and datasets whose lines are shuffled before the cut are not streamed (None).

A streamed corpus is read three times: once to count its lines (bytes only, to know where the splits fall), once by
:meth:`StreamedCorpus.scan` (the training lines hashed and handed to the tokenizer's trainer, the other splits
kept, every check made), then by the estimator (:attr:`StreamedCorpus.train`, which may be iterated again).
"""

from __future__ import annotations

import codecs
import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmlab.data.corpus import (
    FOLDER_FILES,
    SPLITS,
    _dataset_root,
    _fmt,
    check_cut,
    split_points,
)
from lmlab.data.fingerprint import split_sha256
from lmlab.data.lines import _check_encoding_errors, has_text, read_lines
from lmlab.data.registry import DATASETS
from lmlab.errors import LmlabError

#: Bytes read from a file at a time (cut at the block's last newline, so a line is never split)
BLOCK_BYTES = 1 << 23

#: How a single file is cut into train/valid/test (load_corpus's default)
SPLIT = (0.9, 0.05, 0.05)

#: Lines hashed at a time (as :func:`split_sha256` hashes them)
HASH_LINES = 4096


def count_lines(path: str | os.PathLike) -> int:
    """How many lines :func:`~lmlab.data.read_lines` finds in the file, counted on its bytes without decoding
    (a ``\\n`` byte is a newline in UTF-8 whatever surrounds it, valid or not).

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(delete=False) as f:
    ...     _ = f.write(b"a\\r\\n\\nb")
    >>> count_lines(f.name)
    3
    """
    with open(path, "rb") as f:
        block = _after_bom(f) or f.read(BLOCK_BYTES)
        n, last, size = 0, b"", 0
        while block:
            n += block.count(b"\n")
            size += len(block)
            last = block[-1:]
            block = f.read(BLOCK_BYTES)
    return n + (1 if size and last != b"\n" else 0)


def iter_lines(path: str | os.PathLike, *, stop: int | None = None, encoding_errors: str = "strict") -> Iterator[str]:
    """The lines of a UTF-8 text file as :func:`~lmlab.data.read_lines` gives them (the first ``stop`` of them),
    decoded a block at a time; an invalid byte is the same error, naming the same offset in the file.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(delete=False) as f:
    ...     _ = f.write(b"\\xef\\xbb\\xbfa\\r\\n\\nb\\x0cc")
    >>> list(iter_lines(f.name)), list(iter_lines(f.name, stop=1))
    (['a', '', 'b\\x0cc'], ['a'])
    """
    _check_encoding_errors(encoding_errors)
    if stop is not None and stop <= 0:
        return
    with open(path, "rb") as f:
        rest = _after_bom(f)
        n, offset = 0, f.tell() - len(rest)  # offset: where ``rest`` starts in the file
        while True:
            block = f.read(BLOCK_BYTES)
            data = rest + block
            end = data.rfind(b"\n") + 1 if block else len(data)  # at the end of the file, the last line unended
            if end:
                lines = _decode(path, data[:end], offset, encoding_errors).split("\n")
                if lines[-1] == "":
                    lines.pop()  # the newline ending the block's last line starts no line
                for line in lines:
                    yield line[:-1] if line.endswith("\r") else line
                    n += 1
                    if n == stop:
                        return
            rest, offset = data[end:], offset + end
            if not block:
                return


def _after_bom(f) -> bytes:
    """The file's first bytes read, less a UTF-8 byte-order mark."""
    head = f.read(len(codecs.BOM_UTF8))
    return b"" if head == codecs.BOM_UTF8 else head


def _decode(path, data: bytes, offset: int, encoding_errors: str) -> str:
    try:
        return data.decode("utf-8", errors=encoding_errors)
    except UnicodeDecodeError as e:  # read_lines' message, with the offset in the whole file
        raise LmlabError(
            f"{path}: not valid UTF-8 at byte offset {offset + e.start} (byte 0x{data[e.start]:02x}); "
            f"pass --encoding-errors replace (encoding_errors='replace') to replace bad bytes"
        ) from None


def _bar(desc: str, total: int | None, unit: str, progress: bool):
    """A tqdm bar, drawn only on a terminal (as the estimator's passes draw theirs)."""
    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc=desc, unit=unit, unit_scale=True, dynamic_ncols=True, disable=None if progress else True
    )


@dataclass(frozen=True)
class FileLines:
    """The first ``stop`` lines of a text file (all of them if None), read from the file each time they are
    iterated over."""

    path: Path
    stop: int | None
    encoding_errors: str = "strict"

    def __iter__(self) -> Iterator[str]:
        return iter_lines(self.path, stop=self.stop, encoding_errors=self.encoding_errors)


@dataclass(repr=False)
class StreamedCorpus:
    """A :class:`~lmlab.data.Corpus` whose ``train`` is read from its file on each use. ``valid``, ``test`` and the
    training split's sha256 are there once :meth:`scan` has been read to its end."""

    name: str
    train: FileLines
    source: str
    spec: str
    #: where the validation and test splits are: the lines after the training split in ``train.path``
    #: (``(n_lines, end_train, end_valid, ratios)``, a single file cut by fractions), or their own files
    cut: tuple[int, int, int, tuple[float, float, float]] | None = None
    split_files: tuple[Path, Path] | None = None
    valid: list[str] = field(default_factory=list)
    test: list[str] = field(default_factory=list)
    train_sha256: str | None = None

    def scan(self, *, progress: bool = True) -> Iterator[str]:
        """The training lines, once, hashed as they pass; after the last, the rest is read (the validation and test
        lines kept) and checked as :func:`~lmlab.data.load_corpus` checks it, raising its error, before the end.
        ``progress``: a bar of the lines read and their rate (drawn on a terminal only)."""
        h, block, train_text = hashlib.sha256(), [], False
        stop = None if self.cut is None else self.cut[1]
        lines = iter_lines(self.train.path, encoding_errors=self.train.encoding_errors)
        bar = _bar("read training text", stop, "line", progress)
        for i, line in enumerate(lines):
            if stop is not None and i >= stop:
                (self.valid if i < self.cut[2] else self.test).append(line)
                continue
            block.append(line)
            if len(block) == HASH_LINES:
                train_text = train_text or has_text(block)
                h.update(("\n".join(block) + "\n").encode("utf-8", errors="surrogatepass"))
                block = []
                bar.update(HASH_LINES)
            yield line
        bar.update(len(block))
        bar.close()
        if block:
            train_text = train_text or has_text(block)
            h.update(("\n".join(block) + "\n").encode("utf-8", errors="surrogatepass"))
        self._check(train_text)
        self.train_sha256 = h.hexdigest()

    def _check(self, train_text: bool) -> None:
        path = self.train.path
        empty = f"{path} is empty (no line with text, only empty or whitespace lines); a corpus needs a line of text"
        if self.cut is None:
            if not train_text:
                raise LmlabError(empty)
            self.valid, self.test = (
                read_lines(p, encoding_errors=self.train.encoding_errors) for p in self.split_files
            )
            return
        n, a, b, ratios = self.cut
        texts = (train_text, has_text(self.valid), has_text(self.test))
        if not any(texts):
            raise LmlabError(empty)
        check_cut(path, n, ratios, (a, b), texts)

    def records(self, name: str) -> Sequence[str]:
        """The lines of the validation or test split, as a fingerprint hashes them."""
        return self.valid if name == "valid" else self.test

    def fingerprint(self) -> dict[str, Any]:
        """:func:`~lmlab.data.data_fingerprint` of the same corpus loaded whole (after :meth:`scan`)."""
        if self.train_sha256 is None:
            raise RuntimeError("StreamedCorpus.fingerprint before its scan was read to the end")
        out: dict[str, Any] = {"spec": self.spec} if self.spec else {}
        out["sha256"] = {
            name: self.train_sha256 if name == "train" else split_sha256(self.records(name)) for name in SPLITS
        }
        return out

    def __repr__(self) -> str:
        return f"StreamedCorpus(name={self.name!r}, train={self.train.path}, source={self.source!r})"


def stream_corpus(
    spec: str | os.PathLike,
    *,
    data_dir: str | os.PathLike | None = None,
    encoding_errors: str = "strict",
    download: bool = True,
) -> StreamedCorpus | None:
    """``load_corpus(spec)`` with its training split left in its file (see the module's docstring); None for a
    corpus that is not streamed (labelled, or a dataset shuffled before its cut), and for a spec that names nothing,
    which :func:`~lmlab.data.load_corpus` then reports."""
    _check_encoding_errors(encoding_errors)
    how = f"split {_fmt(SPLIT)} by lines"
    if isinstance(spec, str) and spec in DATASETS:
        info = DATASETS[spec]
        if info.kind != "text" or info.shuffle_lines:
            return None
        root = _dataset_root(info, data_dir, download)
        if info.split_files is None:
            path = root / info.files[0].path
            return _cut(info.name, path, f"{info.name}: {path} ({how})", info.name, encoding_errors)
        train, valid, test = (root / p for p in info.split_files)
        source = f"{info.name}: {root / info.folder}"
        return StreamedCorpus(
            info.name, FileLines(train, None, encoding_errors), source, info.name, None, (valid, test)
        )
    path = Path(spec)
    if path.is_dir():
        if not any((path / f).exists() for f in FOLDER_FILES):
            return None  # a folder of LABEL.txt files
        missing = [f for f in FOLDER_FILES if not (path / f).is_file()]
        if missing:
            raise LmlabError(
                f"folder {path} lacks {', '.join(missing)}; a corpus folder holds {', '.join(FOLDER_FILES)} "
                f"(or pass a single text file to split it)"
            )
        train, valid, test = (path / f for f in FOLDER_FILES)
        name, where = path.resolve().name, str(path.resolve())
        return StreamedCorpus(
            name, FileLines(train, None, encoding_errors), f"folder {path}", where, None, (valid, test)
        )
    if path.is_file() and path.suffix.lower() != ".tsv":
        return _cut(path.stem, path, f"{path} ({how})", str(path.resolve()), encoding_errors)
    return None


def _cut(name: str, path: Path, source: str, spec: str, encoding_errors: str) -> StreamedCorpus:
    n = count_lines(path)
    a, b = split_points(n, SPLIT)
    return StreamedCorpus(name, FileLines(path, a, encoding_errors), source, spec, (n, a, b, SPLIT))


__all__ = ["FileLines", "StreamedCorpus", "count_lines", "iter_lines", "stream_corpus"]
