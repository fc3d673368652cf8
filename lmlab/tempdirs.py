"""Temporary folders that a killed process does not leave behind.

A training's scratch folder (the encoded training text) and the n-gram estimation's spilled runs (tens of GiB on a
large corpus) live in the system's temporary folder while a command runs, and are removed when it ends, whether it
succeeded, failed or was stopped with Ctrl-C or SIGTERM. A process killed outright (``kill -9``, the kernel's
out-of-memory killer, a power cut of the session) gets no chance to do so. So each such folder holds a lock file
that its process keeps locked (``flock``) for as long as it lives; the kernel drops the lock when the process dies,
however it dies. Creating a folder first removes the folders of the same kind whose lock is free: the leftovers of
dead processes. A folder whose process still runs, in this or another PID namespace sharing the file system, stays
locked and is never touched.

The lock is taken before the lock file gets its name (an unnamed folder is not swept), so a folder is never seen
unlocked between its creation and its process taking the lock.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks (lmlab targets POSIX systems); nothing is swept
    fcntl = None  # type: ignore[assignment]

#: the lock file's name inside an owned folder
LOCK_NAME = ".lmlab-owner.lock"


def _try_lock(fd: int) -> bool:
    if fcntl is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held by a living process (BlockingIOError), or a file system without locks
        return False
    return True


def sweep_orphans(prefix: str, parent: str | os.PathLike | None = None) -> list[Path]:
    """Remove the folders named ``prefix*`` in ``parent`` (default: the temporary folder) whose owner died; returns
    them. A folder without a lock file (an older lmlab's, or not lmlab's) or with a lock a process holds is kept."""
    parent = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    removed = []
    try:
        candidates = [p for p in parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return removed
    for folder in candidates:
        try:
            fd = os.open(folder / LOCK_NAME, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:  # no lock file, not a folder, another sweeper removed it, not ours to read
            continue
        try:
            if _try_lock(fd) and not folder.is_symlink():
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        finally:
            os.close(fd)
    return removed


class OwnedTempDir:
    """A private temporary folder (``prefix`` + random, mode 0700, in ``parent`` or the temporary folder) held
    by this process's lock; :meth:`cleanup` (or leaving the ``with`` block) removes it. Creating one first removes
    the same kind's folders left by dead processes (:func:`sweep_orphans`)."""

    def __init__(self, prefix: str, parent: str | os.PathLike | None = None):
        parent = Path(parent) if parent is not None else Path(tempfile.gettempdir())
        sweep_orphans(prefix, parent)
        self._fd: int | None = None
        self.path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        try:
            unnamed = self.path / (LOCK_NAME + ".new")
            self._fd = os.open(unnamed, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
            _try_lock(self._fd)  # False on a file system without locks: then no sweeper can take it either
            os.rename(unnamed, self.path / LOCK_NAME)
        except BaseException:
            self.cleanup()
            raise

    @property
    def name(self) -> str:
        return str(self.path)

    def cleanup(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc) -> None:
        self.cleanup()


@contextlib.contextmanager
def owned_tempdir(prefix: str, parent: str | os.PathLike | None = None) -> Iterator[Path]:
    """``with owned_tempdir("lmlab-scratch-") as path:`` an :class:`OwnedTempDir`'s path."""
    with OwnedTempDir(prefix, parent) as path:
        yield path


__all__ = ["LOCK_NAME", "OwnedTempDir", "owned_tempdir", "sweep_orphans"]
