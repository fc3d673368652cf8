"""Reading a user's labelled text file (classification examples, tagged sentences) as untrusted input: a regular
file only (a FIFO or a device is refused without blocking), decoded with a bad byte named by its line."""

from __future__ import annotations

import codecs
from pathlib import Path

from lmlab.errors import LmlabError
from lmlab.runfiles import read_bytes


def read_text_file(path: Path, encoding: str = "utf-8", encoding_errors: str = "strict") -> str:
    """The decoded file, a UTF-8 byte-order mark dropped; a bad byte names its line unless errors are replaced."""
    path = Path(path)
    if path.is_dir():
        raise LmlabError(f"{path} is a folder, not a file")
    data = read_bytes(path, missing=f"{path} not found")
    start = 3 if codecs.lookup(encoding).name == "utf-8" and data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[start:].decode(encoding, errors=encoding_errors)
    except UnicodeDecodeError as e:
        offset = start + e.start
        line = data[:offset].count(b"\n") + 1
        raise LmlabError(
            f"{path}:{line}: not valid {encoding} (byte 0x{data[offset]:02x} at offset {offset}); "
            f"pass --encoding-errors replace (encoding_errors='replace') to replace bad bytes"
        ) from None


__all__ = ["read_text_file"]
