"""Lines of a text file, as every corpus and ``lmlab eval --text`` read them (without the corpus registry, so that
evaluating a file imports only this).

A file is read as UTF-8; a line ends at ``\\n`` only (a ``\\r`` before it is dropped), since ``str.splitlines``
would also cut at form feeds, ``\\x1c`` and other characters that occur inside real corpora and would change their
line counts.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Sequence

from lmlab.errors import LmlabError


def check_input_file(path: str | os.PathLike, flag: str) -> None:
    """One LmlabError line naming ``flag`` unless ``path`` names something to read (a file, or a pipe such as
    /dev/stdin), not a directory."""
    if not os.path.exists(path):
        raise LmlabError(f"{flag} {path}: no such file")
    if os.path.isdir(path):
        raise LmlabError(f"{flag} {path} is a directory; give a text file")


def split_lines(text: str) -> list[str]:
    """Lines of ``text`` split at ``\\n`` only; a final newline ends the last line rather than starting one.

    >>> split_lines("a\\r\\n\\nb\\x0cc\\n")
    ['a', '', 'b\\x0cc']
    >>> split_lines("no newline at the end")
    ['no newline at the end']
    """
    if not text:
        return []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if "\r" in text:
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    return lines


def read_lines(path: str | os.PathLike, *, encoding_errors: str = "strict") -> list[str]:
    """Lines of a UTF-8 text file (see :func:`split_lines`); a leading byte-order mark is dropped.

    The file is read and decoded in one piece, which is several times faster than iterating over a text-mode
    file for corpora the size of PTB. An invalid byte is an error naming its offset unless
    ``encoding_errors="replace"``, which turns it into U+FFFD.
    """
    _check_encoding_errors(encoding_errors)
    with open(path, "rb") as f:
        data = f.read()
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[start:].decode("utf-8", errors=encoding_errors)
    except UnicodeDecodeError as e:
        offset = start + e.start
        raise LmlabError(
            f"{path}: not valid UTF-8 at byte offset {offset} (byte 0x{data[offset]:02x}); "
            f"pass --encoding-errors replace (encoding_errors='replace') to replace bad bytes"
        ) from None
    lines = split_lines(text)
    if not has_text(lines):
        raise LmlabError(
            f"{path} is empty (no line with text, only empty or whitespace lines); a corpus needs a line of text"
        )
    return lines


def has_text(lines: Sequence[str]) -> bool:
    """True if some line holds more than whitespace: blank lines alone would train a model to predict ``</s>``
    and nothing else, and report a perplexity near 1.

    >>> has_text(["", "  \\t", "\\u00a0"]), has_text(["", " a "])
    (False, True)
    """
    return any(line and not line.isspace() for line in lines)


def _check_encoding_errors(encoding_errors: str) -> None:
    if encoding_errors not in ("strict", "replace"):
        raise LmlabError(f"encoding_errors must be 'strict' or 'replace', not {encoding_errors!r}")


__all__ = ["check_input_file", "has_text", "read_lines", "split_lines"]
