"""Word vectors in the word2vec file formats, text and binary, as the C tool, gensim and most others write them.

Both formats open with a header line ``N D`` (the number of vectors and their dimension). Then

- text: one line per word, ``word v1 v2 ... vD`` (the C tool leaves a space before the newline; gensim does not);
- binary: per word, the word's UTF-8 bytes and a space, then D little-endian float32 values (4 D bytes). The C
  tool (``word2vec -binary 1``) writes a newline after each vector, gensim's ``save_word2vec_format`` does not;
  both are read, as the C tool's own reader does, by skipping newlines before a word.

:func:`read_word2vec` tells the two apart by the first record after the header: text is printable UTF-8 whose
fields after the word are numbers, and 4 D bytes of float32 (with their zero and control bytes) are not.

References: Mikolov et al. 2013 (word2vec, its C tool's ``-binary`` output); Řehůřek & Sojka 2010 (gensim's
``KeyedVectors.save_word2vec_format`` / ``load_word2vec_format``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np

from lmlab.errors import LmlabError
from lmlab.io import atomic_open
from lmlab.runfiles import open_regular

CHUNK = 1 << 20
MAX_WORD_BYTES = 10_000  # longer means the file is not what the header says (or the dimension is wrong)
MAX_VALUE_CHARS = 64  # per value of a text line, its separator included: '-1.2345678901234567e-300' is 24
MAX_VALUES = 2**31  # 8 GiB of float32 at most; GoogleNews' 3,000,000 x 300 is 0.9 billion values
_FLOAT = np.dtype("<f4")
_SEPARATORS = " \t\n\r\v\f"  # end a word in one format or the other; other characters (U+00A0) are kept


def parse_header(line: bytes, path: str | os.PathLike) -> tuple[int, int]:
    """``N D`` from the first line: the number of vectors (>= 0) and the dimension (>= 1).

    >>> parse_header(b"3000000 300\\n", "GoogleNews-vectors-negative300.bin")
    (3000000, 300)
    """
    fields = line.split()
    try:
        n, dim = (int(x) for x in fields)
        ok = n >= 0 and dim >= 1
    except ValueError:
        ok = False
    if not ok:
        shown = line[:60].decode("utf-8", errors="replace").rstrip("\n")
        hint = " (a GloVe file has no header: add the line 'N D' before its first line)" if len(fields) > 2 else ""
        raise LmlabError(
            f"{path}:1: the first line must be the header 'N D' (number of vectors, dimension >= 1), "
            f"found {shown!r}{hint}"
        )
    return n, dim


def read_word2vec(
    path: str | os.PathLike,
    *,
    limit: int | None = None,
    encoding_errors: str = "strict",
    binary: bool | None = None,
) -> tuple[list[str], np.ndarray]:
    """The words and their vectors, ``(N, D)`` float32, from a word2vec text or binary file.

    ``limit`` reads only the first ``limit`` vectors (word2vec writes the most frequent words first).
    ``binary`` forces a format; by default it is detected. A word that is not valid UTF-8 is an error unless
    ``encoding_errors="replace"``. Errors name the file and the line (text) or the word's number (binary): a
    malformed value, a wrong number of values, a file shorter than its header says, a value that is not finite.

    >>> words, vectors = read_word2vec("GoogleNews-vectors-negative300.bin", limit=1000)  # doctest: +SKIP
    >>> vectors.shape                                                                      # doctest: +SKIP
    (1000, 300)
    """
    if encoding_errors not in ("strict", "replace"):
        raise LmlabError(f"encoding_errors must be 'strict' or 'replace', not {encoding_errors!r}")
    if limit is not None and limit < 0:
        raise LmlabError(f"limit must be >= 0, not {limit}")
    path = Path(path)
    if path.is_dir():
        raise LmlabError(f"{path} is a folder, not a word-vector file")
    with open_regular(path, missing=f"{path} not found") as f:
        size = os.fstat(f.fileno()).st_size
        header = f.readline(MAX_WORD_BYTES)
        if not header:
            raise LmlabError(f"{path} is empty; a word2vec file starts with the header line 'N D'")
        n, dim = parse_header(header, path)
        count = n if limit is None else min(n, limit)
        if count * dim > MAX_VALUES:
            raise LmlabError(
                f"{path}:1: the header asks for {count:,} vectors of dimension {dim:,} ({count * dim:,} values); "
                f"lmlab reads at most {MAX_VALUES:,}"
            )
        if binary is None:
            binary = not _looks_like_text(f, dim)
        # Allocate only the rows the file can hold: a header that promises more than that is found out as the
        # records run short, with the reader's own message, and costs no memory before.
        rows = min(count, rows_that_fit(size - f.tell(), dim, binary=binary))
        vectors = np.empty((rows, dim), dtype=np.float32)
        reader = _read_binary if binary else _read_text
        words = reader(f, path, n, dim, count, vectors, encoding_errors)
    bad = np.flatnonzero(~np.isfinite(vectors).all(axis=1))
    if bad.size:
        i = int(bad[0])
        where = f"word #{i + 1:,}" if binary else f"line {i + 2:,}"
        raise LmlabError(f"{path}: {where} ({words[i]!r}) has a value that is not finite (nan or inf)")
    return words, vectors


def rows_that_fit(size: int, dim: int, *, binary: bool) -> int:
    """The most vectors of dimension ``dim`` that ``size`` bytes (the file after its header) can hold.

    A binary record is at least a 1-byte word, a space and 4 ``dim`` bytes; a text line at least a 1-byte word
    and ``dim`` times a space and a 1-digit value, then a newline (but for the last line).

    >>> rows_that_fit(60, 4, binary=True), rows_that_fit(11, 2, binary=False)  # 60 // 18; two lines "a 1 2"
    (3, 2)
    """
    if binary:
        return size // (4 * dim + 2)
    return (size + 1) // (2 * dim + 2)


def _grew(path: Path) -> LmlabError:
    return LmlabError(f"{path} changed while it was read (it holds more vectors than its size allowed)")


def _looks_like_text(f: BinaryIO, dim: int) -> bool:
    """Whether the first record after the header is a text line; the file position is left unchanged."""
    start = f.tell()
    line = f.readline(MAX_WORD_BYTES + MAX_VALUE_CHARS * dim)
    f.seek(start)
    if not line.strip():
        return True  # no vectors: either format reads it
    try:
        text = line.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        return False
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        return False  # float32 bytes hold control bytes (0.0 is four zero bytes); a text line holds none
    values = text.partition(" ")[2].split()
    try:
        [float(v) for v in values]
    except ValueError:
        return False
    return bool(values)


def _read_text(
    f: BinaryIO, path: Path, n: int, dim: int, count: int, vectors: np.ndarray, encoding_errors: str
) -> list[str]:
    """The words of the text records, their values stored in ``vectors`` (as many rows as the file can hold)."""
    words: list[str] = []
    max_line = MAX_WORD_BYTES + MAX_VALUE_CHARS * dim
    line_no = 1
    while raw := f.readline(max_line + 1):
        line_no += 1
        if len(raw) > max_line:
            raise LmlabError(
                f"{path}:{line_no}: longer than {max_line:,} bytes: not a word2vec text file of dimension {dim}"
            )
        if len(words) == count:
            if count < n:
                break  # the limit
            if raw.strip():
                raise LmlabError(f"{path}:{line_no}: more vectors than the {n:,} the header announces")
            continue
        if not raw.strip():
            continue  # a blank line (say, at the end) holds no vector
        try:
            text = raw.decode("utf-8", errors=encoding_errors).rstrip("\r\n")
        except UnicodeDecodeError as e:
            raise LmlabError(
                f"{path}:{line_no}: not valid UTF-8 (byte 0x{raw[e.start]:02x}); pass encoding_errors='replace'"
            ) from None
        word, _, rest = text.partition(" ")
        values = rest.split()
        if not word:
            raise LmlabError(f"{path}:{line_no}: the line starts with a space; expected 'word v1 ... v{dim}'")
        if len(values) != dim:
            raise LmlabError(f"{path}:{line_no}: word {word!r} has {len(values)} values, the header says {dim}")
        if len(words) == len(vectors):
            raise _grew(path)
        try:
            vectors[len(words)] = np.array(values, dtype=np.float32)
        except ValueError:
            bad = next(v for v in values if not _is_number(v))
            raise LmlabError(f"{path}:{line_no}: word {word!r}: {bad!r} is not a number") from None
        words.append(word)
    if len(words) < count:
        raise LmlabError(f"{path}: only {len(words):,} vectors, but the header says {n:,} (truncated file?)")
    return words


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


class _Buffer:
    """Reads a binary file in large chunks and hands out byte ranges of it."""

    def __init__(self, f: BinaryIO):
        self.f = f
        self.data = b""
        self.pos = 0
        self.offset = f.tell()  # file offset of data[0]

    def available(self, need: int) -> bool:
        """Make at least ``need`` unread bytes available if the file has them; say whether it does."""
        while len(self.data) - self.pos < need:
            chunk = self.f.read(max(CHUNK, need))
            if not chunk:
                return False
            self.offset += self.pos
            self.data = self.data[self.pos :] + chunk
            self.pos = 0
        return True

    def skip_newlines(self) -> None:
        while self.available(1) and self.data[self.pos] in b"\r\n":
            self.pos += 1

    def take_until_space(self) -> bytes | None:
        """The bytes up to the next space (which is consumed), or None if the file ends or ``MAX_WORD_BYTES``
        pass first."""
        scanned = 0  # unread bytes already known to hold no space
        while True:
            end = self.data.find(b" ", self.pos + scanned, self.pos + MAX_WORD_BYTES)
            if end >= 0:
                word = self.data[self.pos : end]
                self.pos = end + 1
                return word
            scanned = len(self.data) - self.pos
            if scanned >= MAX_WORD_BYTES or not self.available(scanned + 1):
                return None

    @property
    def unread(self) -> int:
        """Unread bytes in memory (all that is left of the file, once a read has come up short)."""
        return len(self.data) - self.pos

    def take(self, size: int) -> bytes | None:
        if not self.available(size):
            return None
        out = self.data[self.pos : self.pos + size]
        self.pos += size
        return out

    def rest_is_blank(self) -> bool:
        while self.available(1):
            if self.data[self.pos :].strip():
                return False
            self.pos = len(self.data)
        return True


def _read_binary(
    f: BinaryIO, path: Path, n: int, dim: int, count: int, vectors: np.ndarray, encoding_errors: str
) -> list[str]:
    """The words of the binary records, their values stored in ``vectors`` (as many rows as the file can hold)."""
    words: list[str] = []
    buf = _Buffer(f)
    size = dim * _FLOAT.itemsize
    for i in range(count):
        buf.skip_newlines()  # the C tool writes one after each vector
        raw = buf.take_until_space()
        if raw is None:
            if buf.unread < MAX_WORD_BYTES:
                raise LmlabError(
                    f"{path}: truncated: the file ends before word #{i + 1:,} of the {n:,} the header announces"
                )
            raise LmlabError(
                f"{path}: word #{i + 1:,} (at byte {buf.offset + buf.pos:,}) has no space after it within "
                f"{MAX_WORD_BYTES:,} bytes: not a word2vec binary file, or not dimension {dim}"
            )
        try:
            word = raw.decode("utf-8", errors=encoding_errors)
        except UnicodeDecodeError:
            raise LmlabError(
                f"{path}: word #{i + 1:,} ({raw[:40]!r}) is not valid UTF-8; pass encoding_errors='replace'"
            ) from None
        if not word:
            raise LmlabError(f"{path}: word #{i + 1:,} is empty (two spaces in a row): not dimension {dim}?")
        values = buf.take(size)
        if values is None:
            raise LmlabError(
                f"{path}: truncated: the file ends inside the vector of word #{i + 1:,} ({word!r}) of {n:,}"
            )
        if i == len(vectors):
            raise _grew(path)
        vectors[i] = np.frombuffer(values, dtype=_FLOAT)
        words.append(word)
    if count == n and not buf.rest_is_blank():
        raise LmlabError(
            f"{path}: more data after the {n:,} vectors the header announces (is the dimension {dim} right?)"
        )
    return words


def write_word2vec(path: str | os.PathLike, words: Sequence[str], vectors: np.ndarray, *, binary: bool = False) -> None:
    """Write ``words`` and their ``vectors`` (N, D) in the word2vec text or binary format, atomically.

    Text values are the shortest decimals that read back as the same float32, so both formats round-trip
    exactly. Binary files get a newline after each vector, as the C tool writes them (gensim reads both).
    A word must be non-empty and hold no ASCII whitespace, which would end it early in one format or the other.
    """
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or vectors.shape[0] != len(words) or vectors.shape[1] < 1:
        raise LmlabError(
            f"vectors must have shape (number of words, dimension >= 1) = ({len(words)}, D), not {vectors.shape}"
        )
    if not np.issubdtype(vectors.dtype, np.number):
        raise LmlabError(f"vectors must be numbers, not {vectors.dtype}")
    with np.errstate(over="ignore"):  # a value beyond float32's range becomes inf, refused just below
        vectors = vectors.astype(_FLOAT)
    if not np.isfinite(vectors).all():
        raise LmlabError("vectors hold nan or inf (or values too large for float32)")
    for i, word in enumerate(words):
        if not isinstance(word, str) or not word or any(c in _SEPARATORS for c in word):
            raise LmlabError(f"word #{i + 1} {word!r} is empty or holds whitespace; a word2vec file cannot hold it")
    n, dim = vectors.shape
    with atomic_open(path, "wb") as f:
        f.write(f"{n} {dim}\n".encode())
        if binary:
            for word, vector in zip(words, vectors):
                f.write(word.encode("utf-8") + b" " + vector.tobytes() + b"\n")
        else:
            for word, vector in zip(words, vectors):
                # str() of a float32 scalar is the shortest decimal that parses back to the same float32.
                f.write((word + " " + " ".join(str(v) for v in vector) + "\n").encode("utf-8"))


__all__ = ["parse_header", "read_word2vec", "rows_that_fit", "write_word2vec"]
