"""Streaming a training corpus from disk: the vocabulary pass, then jobs of word ids, epoch after epoch.

Nothing holds the corpus in memory: files are read in chunks of about a megabyte, cut at the last newline of
each, so memory stays bounded by the vocabulary and the vectors however large the corpus (a single line longer
than a chunk is cut at its last whitespace, a sentence break no one will miss among a million words).

A sentence is a line, split on whitespace, as gensim's ``LineSentence`` reads it; a line longer than
``max_sentence_length`` words is cut into pieces of that length. A job is a run of whole sentences of at least
``batch_words`` words (the last one of an epoch may be shorter), handed to one training thread.
"""

from __future__ import annotations

import codecs
import hashlib
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np

from lmlab.errors import LmlabError
from lmlab.runfiles import open_regular

CHUNK_BYTES = 1 << 20
_WHITESPACE = b" \t\n\r\v\f"


@dataclass(frozen=True)
class CorpusFiles:
    """The file(s) word2vec trains on, and how the user named them."""

    spec: str
    paths: tuple[Path, ...]
    source: str


def resolve_corpus(spec: str) -> CorpusFiles:
    """The training text of ``--data``: a registered corpus's train split (the whole file for a single-file
    corpus), a folder's ``train.txt``, or a text file (all of it: word2vec holds nothing out)."""
    from lmlab.data.download import fetch
    from lmlab.data.registry import DATASETS, data_dir

    if spec in DATASETS:
        info = DATASETS[spec]
        if info.kind != "text":
            raise LmlabError(f"--data {spec} is a dataset of kind {info.kind!r}, not a text corpus")
        fetch(info)
        name = info.split_files[0] if info.split_files else info.files[0].path
        path = data_dir() / name
        return CorpusFiles(spec, (path,), f"{spec}: {path}")
    path = Path(spec)
    if path.is_dir():
        train = path / "train.txt"
        if not (train.exists() or train.is_symlink()):
            raise LmlabError(f"--data {spec}: the folder has no train.txt (word2vec trains on a folder's train.txt)")
        _check_regular(train)
        return CorpusFiles(spec, (train,), f"folder {path} (train.txt)")
    if not path.exists():
        raise LmlabError(f"--data {spec}: no such file, folder or registered corpus (`lmlab data list` shows them)")
    _check_regular(path)
    return CorpusFiles(spec, (path,), str(path))


def _check_regular(path: Path) -> None:
    """A one-line LmlabError, before anything is trained or written, unless ``path`` is a regular file (a FIFO
    would hang the reader, a device never end)."""
    open_regular(path, missing=f"--data {path}: no such file").close()


def read_text_chunks(path: Path, *, encoding_errors: str = "strict", chunk_bytes: int | None = None) -> Iterator[str]:
    """The text of ``path`` in pieces that end at a newline (or, failing one in a whole chunk, at whitespace).

    A leading byte-order mark is dropped; a byte that is not UTF-8 is an error naming its offset unless
    ``encoding_errors="replace"``. ``chunk_bytes`` defaults to :data:`CHUNK_BYTES`.
    """
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    with open_regular(path, missing=f"{path}: no such file") as f:
        rest = f.read(len(codecs.BOM_UTF8))
        offset = 0
        if rest == codecs.BOM_UTF8:
            rest, offset = b"", len(codecs.BOM_UTF8)
        while True:
            data = f.read(chunk_bytes)
            buf = rest + data
            if not data:
                if buf:
                    yield _decode(buf, path, offset, encoding_errors)
                return
            cut = buf.rfind(b"\n") + 1
            if cut == 0:
                cut = max(buf.rfind(c) for c in _WHITESPACE) + 1  # a line longer than a chunk
            if cut == 0:
                rest = buf  # one token longer than a chunk: read on
                continue
            yield _decode(buf[:cut], path, offset, encoding_errors)
            offset += cut
            rest = buf[cut:]


def _decode(data: bytes, path: Path, offset: int, encoding_errors: str) -> str:
    try:
        return data.decode("utf-8", errors=encoding_errors)
    except UnicodeDecodeError as e:
        raise LmlabError(
            f"{path}: not valid UTF-8 at byte offset {offset + e.start} (byte 0x{data[e.start]:02x}); "
            f"pass --encoding-errors replace to replace bad bytes"
        ) from None


@dataclass
class Scan:
    """What the vocabulary pass saw."""

    counts: Counter
    words: int
    lines: int
    sha256: dict[str, str]
    bytes: int


def scan_corpus(files: CorpusFiles, *, lowercase: bool = False, encoding_errors: str = "strict") -> Scan:
    """Count every word of the corpus (first seen first) and hash its files, in one streaming pass."""
    counts: Counter = Counter()
    lines = words = size = 0
    hashes = {}
    for path in files.paths:
        h = hashlib.sha256()
        with open_regular(path, missing=f"{path}: no such file") as f:
            for block in iter(lambda: f.read(CHUNK_BYTES), b""):
                h.update(block)
                size += len(block)
        hashes[path.name] = h.hexdigest()
        for text in read_text_chunks(path, encoding_errors=encoding_errors):
            if lowercase:
                text = text.lower()
            tokens = text.split()
            counts.update(tokens)
            words += len(tokens)
            lines += text.count("\n")
    return Scan(counts, words, lines, hashes, size)


@dataclass
class Job:
    """Sentences of word ids for one training call: ``ids`` (-1 for a word out of the vocabulary) and the end
    of each sentence in it."""

    ids: np.ndarray  # (N,) int32
    sentence_ends: np.ndarray  # (S,) int64, rising to N
    in_vocab: int  # words of the vocabulary in it: the learning rate decays over these

    @property
    def words(self) -> int:
        return len(self.ids)


def sentence_lengths(lines: list[list[str]], max_length: int) -> list[int]:
    """The lengths of the sentences lines give, a line cut into pieces of ``max_length`` words.

    >>> sentence_lengths([["a", "b", "c"], [], ["d"]], max_length=2)
    [2, 1, 0, 1]
    """
    out = []
    for tokens in lines:
        n = len(tokens)
        out += [max_length] * (n // max_length)
        if n % max_length or n == 0:
            out.append(n % max_length)
    return out


def iter_jobs(
    files: CorpusFiles,
    index: dict[str, int],
    *,
    lowercase: bool = False,
    encoding_errors: str = "strict",
    max_sentence_length: int = 10_000,
    batch_words: int = 10_000,
) -> Iterator[Job]:
    """The corpus as jobs of at least ``batch_words`` words, each made of whole sentences."""
    pending_tokens: list[str] = []
    pending_lengths: list[int] = []

    def make() -> Job:
        get = index.get
        ids = np.fromiter(map(get, pending_tokens, repeat(-1)), dtype=np.int32, count=len(pending_tokens))
        ends = np.cumsum(np.array(pending_lengths, dtype=np.int64))
        pending_tokens.clear()
        pending_lengths.clear()
        return Job(ids, ends, int(np.count_nonzero(ids >= 0)))

    for path in files.paths:
        for text in read_text_chunks(path, encoding_errors=encoding_errors):
            if lowercase:
                text = text.lower()
            lines = text.split("\n")
            if lines[-1] == "":
                lines.pop()
            for line in lines:
                tokens = line.split()
                if not tokens:
                    continue
                pending_tokens += tokens
                pending_lengths += sentence_lengths([tokens], max_sentence_length)
                if len(pending_tokens) >= batch_words:
                    yield make()
    if pending_tokens:
        yield make()


class JobCache:
    """The first epoch's jobs written to disk as word ids, read back for the next epochs.

    Reading and splitting text and looking words up costs the main thread about as much as a training thread's
    CBOW work; reading back 4 bytes per word costs almost nothing. The jobs come back exactly as they were made
    (same sentences, same boundaries), so an epoch trains the same whether it was read from the text or the
    cache. Disk, not memory: 4 bytes per word of the corpus, plus 8 per sentence, in ``directory``.
    """

    def __init__(self, directory: str | os.PathLike):
        self.ids_path = Path(directory) / "word2vec-ids.bin"
        self.ends_path = Path(directory) / "word2vec-sentences.bin"
        self.sizes: list[tuple[int, int, int]] = []  # per job: ids, sentences, words in the vocabulary
        self.complete = False

    def record(self, jobs: Iterator[Job]) -> Iterator[Job]:
        """Pass ``jobs`` through, writing each one down; the cache is complete once they are exhausted."""
        with open(self.ids_path, "wb") as ids, open(self.ends_path, "wb") as ends:
            for job in jobs:
                ids.write(job.ids.tobytes())
                ends.write(job.sentence_ends.tobytes())
                self.sizes.append((len(job.ids), len(job.sentence_ends), job.in_vocab))
                yield job
        self.complete = True

    def replay(self) -> Iterator[Job]:
        assert self.complete, "replay() needs a whole epoch recorded"
        with open(self.ids_path, "rb") as ids, open(self.ends_path, "rb") as ends:
            for n_ids, n_sentences, in_vocab in self.sizes:
                yield Job(
                    np.frombuffer(ids.read(4 * n_ids), dtype=np.int32),
                    np.frombuffer(ends.read(8 * n_sentences), dtype=np.int64),
                    in_vocab,
                )

    def remove(self) -> None:
        for path in (self.ids_path, self.ends_path):
            path.unlink(missing_ok=True)


__all__ = [
    "CorpusFiles",
    "Job",
    "JobCache",
    "Scan",
    "iter_jobs",
    "read_text_chunks",
    "resolve_corpus",
    "scan_corpus",
    "sentence_lengths",
]
