"""Atomic file and directory writes: a reader never sees a half-written file.

Everything lmlab writes goes to a temporary name in the destination's folder and is renamed into place only
when complete, so an interrupted run leaves either the old file, the new file, or a hidden temporary, never a
truncated file under the final name.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO]:
    """Open ``path`` for writing through a temporary file that replaces ``path`` on success.

    >>> with atomic_open("model.json") as f:   # doctest: +SKIP
    ...     f.write("{}")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    binary = "b" in mode
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_open(path) as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Build a directory under a temporary name and rename it to ``path`` once the block succeeds.

    On any error (including Ctrl-C) the temporary directory is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        if path.exists():
            if not overwrite:
                raise FileExistsError(path)
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_versioned_json(path: str | os.PathLike, fmt: str, version: int, what: str, *, missing: str = "") -> dict:
    """Read a JSON file written as ``{"format": fmt, "version": version, ...}``, or a one-line LmlabError.

    ``what`` names the file for the user ("tokenizer file", "run configuration"); ``missing`` replaces the
    message for a file that does not exist.
    """
    from lmlab.errors import LmlabError

    path = Path(path)
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LmlabError(missing or f"{what} not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise LmlabError(f"{path}: not a valid {what}, corrupted or truncated ({e})") from None
    if not isinstance(d, dict) or d.get("format") != fmt:
        raise LmlabError(f"{path}: not an lmlab {what} (no 'format': '{fmt}')")
    if d.get("version") != version:
        raise LmlabError(
            f"{path}: {what} format version {d.get('version')!r} is not supported (this lmlab reads version {version})"
        )
    return d
