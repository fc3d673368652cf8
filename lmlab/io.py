"""Atomic file and directory writes: a reader never sees a half-written file.

Everything lmlab writes goes to a temporary name in the destination's folder and is renamed into place only
when complete, so an interrupted run leaves either the old file, the new file, or a hidden temporary, never a
truncated file under the final name. The temporary names are created exclusively (never through an existing
link), the rename replaces a link at the final name instead of following it, and the modes honour the umask
(``mkstemp`` and ``mkdtemp`` would leave 0600 and 0700, unreadable to a shared group or a web server).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def current_umask() -> int:
    """The process's umask, read without changing it where Linux allows (``/proc/self/status``).

    >>> oct(0o666 & ~0o022)   # what a file gets under the usual umask 022
    '0o644'
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere the only way to read it is to set it (and put it back at once)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open()`` would give a new file: 0666 less the umask."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """The mode ``mkdir`` would give a new folder: 0777 less the umask."""
    return 0o777 & ~current_umask()


def remove_tree(path: str | os.PathLike) -> None:
    """Remove a folder lmlab made, or a file or link in its place (a link is removed, never followed)."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def open_append(path: str | os.PathLike, encoding: str = "utf-8") -> IO[str]:
    """Open a text file for appending, creating it, but never through a symbolic link (``O_NOFOLLOW``).

    A link in its place is an LmlabError: appending through it would write outside the run directory.
    """
    from lmlab.errors import LmlabError

    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as e:
        if os.path.islink(path):
            raise LmlabError(f"{path} is a symbolic link; lmlab appends only to files inside the run") from None
        raise e
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise LmlabError(f"{path} is not a regular file; lmlab appends only to files it wrote")
    return os.fdopen(fd, "a", encoding=encoding)


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
        os.fchmod(fd, file_mode())
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

    On any error (including Ctrl-C) the temporary directory is removed and ``path`` is left as it was. A link at
    ``path`` is replaced, not followed. For run directories, which hold a user's work, see
    :func:`lmlab.rundir.replace_run` (checks, a lock, and a partial folder lmlab recognises).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        os.chmod(tmp, dir_mode())
        yield tmp
        if os.path.lexists(path):
            if not overwrite:
                raise FileExistsError(path)
            old = path.with_name(f".{path.name}.old")
            remove_tree(old)
            os.replace(path, old)
            os.replace(tmp, path)
            remove_tree(old)
        else:
            os.replace(tmp, path)
    except BaseException:
        remove_tree(tmp)
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
