"""Where a run may be written: the one place that decides what lmlab may replace, and how.

lmlab replaces only what it made. ``--out DIR`` is accepted when ``DIR`` does not exist, is empty, or is an lmlab
run: its ``config.json`` says ``"format": "lmlab-run"``, its checkpoint says ``"format": "lmlab-checkpoint"``, or it
is lmlab's own partial folder (it holds the marker :data:`PARTIAL_MARKER`). Anything else is refused with one line,
and so are ``.``, the working directory and its ancestors, ``$HOME``, ``/``, a symbolic link and a path below a
file. Every writer follows the same three steps::

    refuse_forbidden_place(out)       the path alone: no file is touched
    with run_lock(out):               OUT_PARENT/.OUT_NAME.lock, exclusive (flock), holding the holder's pid and command
        check_out_dir(out)            what is there now, under the lock
        build = RunBuild(out)         OUT_PARENT/.OUT_NAME.partial-XXXXXXXX, marked, filled with the new run ...
        build.place()                 ... and swapped in once complete: old -> .OUT_NAME.old-XXXXXXXX, new -> OUT,
                                      old removed

so the previous run stays complete and loadable until its replacement is complete, two writers never meet, and a
crash leaves only folders the next writer recognises and removes (:func:`clean_leftovers`).
:func:`replace_run` bundles the steps for writers that build a run in one go (the n-gram models);
the neural trainer places its run after the first checkpoint and goes on training in place.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import logging
import os
import re
import secrets
import shlex
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lmlab.errors import LmlabError
from lmlab.io import dir_mode, remove_tree, write_json

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks; lmlab targets POSIX systems
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

RUN_FORMAT = "lmlab-run"
CHECKPOINT_FORMAT = "lmlab-checkpoint"
PARTIAL_FORMAT = "lmlab-partial"
#: written into every partial build; a folder holding it is lmlab's own, replaceable leftover
PARTIAL_MARKER = ".lmlab-partial"
#: written into a folder of several runs (``--folds``, ``--repeat``); a folder holding it is lmlab's
GROUP_MARKER = ".lmlab-group"
GROUP_FORMAT = "lmlab-group"
#: the JSON files read to recognise a run are small; a larger one is not lmlab's
_MAX_JSON_BYTES = 16 << 20

#: What lmlab writes into a run or a group of runs, as glob patterns. Anything else in a run folder (notes, the
#: user's own figures) is the user's: a run that replaces the folder carries it over (:func:`swap_into_place`).
#: ``tests/safety/test_write.py`` trains every task and checks that each file it writes matches one of these.
LMLAB_ENTRIES = (
    "config.json",
    "tokenizer.json",
    "tokenizer.vocab",
    "tokenizer-src.json",
    "tokenizer-src.vocab",
    "tokenizer-tgt.json",
    "tokenizer-tgt.vocab",
    "model.safetensors",
    "model.ngram",
    "nb.json",
    "vectors.safetensors",
    "vocab.txt",
    "metrics.jsonl",
    "checkpoints",
    "tensorboard",
    "confusion-valid.png",
    "cv.json",
    "repeat.json",
    "fold-[0-9]*",
    "run-[0-9]*",
    PARTIAL_MARKER,
    GROUP_MARKER,
    ".*.lock",
    ".*.partial-*",
    ".*.old-*",
)


def is_lmlab_entry(name: str) -> bool:
    """True for a name lmlab writes into a run (:data:`LMLAB_ENTRIES`); other entries are the user's.

    >>> is_lmlab_entry("model.safetensors"), is_lmlab_entry("fold-3"), is_lmlab_entry("notes.txt")
    (True, True, False)
    """
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in LMLAB_ENTRIES)


# ---- recognising a run
def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _is_real_dir(path: Path) -> bool:
    st = _lstat(path)
    return st is not None and stat.S_ISDIR(st.st_mode)


def _small_json(path: Path) -> Any:
    """The JSON in ``path`` if it is a regular file (not a link, FIFO or device) of modest size, else None."""
    st = _lstat(path)
    if st is None or not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_JSON_BYTES:
        return None
    try:
        with open(path, "rb") as f:
            return json.loads(f.read(_MAX_JSON_BYTES + 1))
    except (OSError, ValueError):
        return None


def says_format(path: str | os.PathLike, fmt: str) -> bool:
    """True when ``path`` is a small regular JSON file (not a link, FIFO or device) saying ``"format": fmt``."""
    d = _small_json(Path(path))
    return isinstance(d, dict) and d.get("format") == fmt


def is_partial(path: str | os.PathLike) -> bool:
    """True for a folder lmlab was building a run in (it holds the marker :data:`PARTIAL_MARKER`)."""
    path = Path(path)
    return _is_real_dir(path) and says_format(path / PARTIAL_MARKER, PARTIAL_FORMAT)


def is_lmlab_run(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder lmlab wrote, and so one it may replace.

    A run's ``config.json`` parses and says ``"format": "lmlab-run"``; a folder of several runs (``--folds``,
    ``--repeat``) holds the marker :data:`GROUP_MARKER`; a neural run killed early has at least its checkpoint
    (``checkpoints/last/state.json``, ``"format": "lmlab-checkpoint"``); a partial build holds the marker.
    A folder with some other ``config.json`` (every HuggingFace model folder has one) is not a run.
    """
    path = Path(path)
    if not _is_real_dir(path):
        return False
    if (
        says_format(path / "config.json", RUN_FORMAT)
        or says_format(path / GROUP_MARKER, GROUP_FORMAT)
        or is_partial(path)
    ):
        return True
    checkpoints = path / "checkpoints"
    return _is_real_dir(checkpoints) and any(
        _is_real_dir(checkpoints / name) and says_format(checkpoints / name / "state.json", CHECKPOINT_FORMAT)
        for name in ("last", ".last.old")
    )


# ---- checking --out
def refuse_forbidden_place(out: str | os.PathLike, flag: str = "--out") -> None:
    """Refuse, from the path alone, places lmlab never replaces: ``.``, the working directory and its ancestors,
    ``$HOME``, ``/``, and a path that cannot be a folder because something above it is a file."""
    out = Path(out)
    real = Path(os.path.realpath(out))
    try:
        cwd = Path(os.path.realpath(os.getcwd()))
    except FileNotFoundError:  # the working directory was removed: nothing to protect there
        cwd = Path("/nonexistent-working-directory")
    home = Path(os.path.realpath(os.path.expanduser("~")))
    why = None
    if real == Path(real.anchor):
        why = "is the root directory"
    elif real == cwd:
        why = "is the working directory"
    elif real in cwd.parents:
        why = "contains the working directory"
    elif real == home:
        why = "is your home directory"
    if why is not None:
        raise LmlabError(f"{flag} {out} {why}; lmlab never replaces it: choose another {flag}")
    _refuse_below_file(out, flag)


def _refuse_below_file(path: Path, flag: str) -> None:
    for parent in Path(os.path.abspath(path)).parents:
        if os.path.lexists(parent):
            if not os.path.isdir(parent):
                raise LmlabError(f"{flag} {path} cannot be created: {parent} is a file; choose another {flag}")
            return


def check_out_dir(
    out: str | os.PathLike,
    *,
    flag: str = "--out",
    owned: Callable[[Path], bool] = is_lmlab_run,
    what: str = "an lmlab run",
) -> None:
    """Refuse an ``--out`` that lmlab may not replace, with one line; call it holding :func:`run_lock`.

    Accepted: a path that does not exist, an empty folder, or one ``owned`` says lmlab wrote (a run, or for
    ``lmlab compare`` a comparison).
    """
    out = Path(out)
    refuse_forbidden_place(out, flag)
    if os.path.islink(out):
        raise LmlabError(
            f"{out} is a symbolic link; lmlab does not replace links: give the folder itself or choose another {flag}"
        )
    if not os.path.lexists(out):
        return
    if not out.is_dir():
        raise LmlabError(f"{out} is a file, not a folder; choose another {flag}")
    if owned(out) or not any(out.iterdir()):
        return
    raise LmlabError(f"{out} is not empty and is not {what}; choose another {flag}")


def require_no_link(path: str | os.PathLike, *, directory: bool) -> None:
    """Refuse a run entry lmlab writes into (``metrics.jsonl``, ``checkpoints/``, ...) that is a symbolic link or
    of the wrong kind: writing there would write outside the run. A missing entry is fine (it will be created)."""
    path = Path(path)
    st = _lstat(path)
    if st is None:
        return
    if stat.S_ISLNK(st.st_mode):
        raise LmlabError(f"{path} is a symbolic link; lmlab writes only inside the run and does not follow links there")
    if directory != stat.S_ISDIR(st.st_mode):
        raise LmlabError(f"{path} should be a {'folder' if directory else 'file'}; the run directory is damaged")


#: what lmlab writes into a run in place (everything else is written under a temporary name and renamed)
RUN_WRITE_ENTRIES = (("metrics.jsonl", False), ("checkpoints", True), ("checkpoints/last", True), ("tensorboard", True))


def check_run_entries(run: str | os.PathLike) -> None:
    """:func:`require_no_link` for every entry lmlab appends to or writes into inside an existing run."""
    for name, directory in RUN_WRITE_ENTRIES:
        require_no_link(Path(run) / name, directory=directory)


# ---- the lock
_held: dict[Path, list[int]] = {}  # lock files this process holds: [holding thread, nested run_lock()s]


def lock_path(out: str | os.PathLike) -> Path:
    """``OUT_PARENT/.OUT_NAME.lock``, beside the run (the run itself is swapped, so the lock cannot be inside).

    >>> lock_path("/data/runs/lstm")
    PosixPath('/data/runs/.lstm.lock')
    """
    real = Path(os.path.realpath(out))  # one lock per folder, however it is named (a --resume through a link)
    if not real.name:
        raise LmlabError(f"{out} cannot hold a run; choose another --out")
    return real.parent / f".{real.name}.lock"


def holds_lock(out: str | os.PathLike) -> bool:
    held = _held.get(lock_path(out))
    return held is not None and held[0] == threading.get_ident()


def _holder(fd: int) -> str:
    try:
        d = json.loads(os.pread(fd, 65536, 0))
        return f"pid {int(d['pid'])}: {d['command']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _acquire(lock: Path, out: Path, command: str) -> int:
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        try:
            fd = os.open(lock, flags, 0o666)
        except OSError as e:
            if os.path.islink(lock):
                raise LmlabError(
                    f"{out} cannot be locked: {lock.name} beside it is a symbolic link, not lmlab's lock file; "
                    "remove that link or choose another --out"
                ) from None
            raise LmlabError(
                f"{out} cannot be written: {e.strerror or e} in {lock.parent}; choose another --out"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise LmlabError(
                f"{out} is in use by another lmlab process ({holder}); wait for it to finish or choose another --out"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        # the holder before us may have removed the file between our open and our flock: lock the current one
        mine, now = os.fstat(fd), _lstat(lock)
        if now is not None and (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino):
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps({"pid": os.getpid(), "command": command}).encode(), 0)
            return fd
        os.close(fd)
    raise LmlabError(f"could not lock {lock}: it keeps being replaced")  # pragma: no cover


@contextlib.contextmanager
def run_lock(out: str | os.PathLike, command: str | None = None) -> Iterator[None]:
    """Hold an exclusive lock on the run ``out`` for the block; take it before checking or writing anything.

    A second process asking for it gets one line naming the holder (its pid and command). The lock is a
    ``flock`` on ``OUT_PARENT/.OUT_NAME.lock``, which the kernel releases when its holder exits, however it
    exits (kill -9 included); the file is removed when the block ends. Nested calls in one process share it.
    """
    out = Path(out)
    lock = lock_path(out)
    if lock in _held:
        if _held[lock][0] != threading.get_ident():
            raise LmlabError(f"{out} is in use by another thread of this process; choose another --out")
        _held[lock][1] += 1
        try:
            yield
        finally:
            _held[lock][1] -= 1
        return
    _refuse_below_file(out, "--out")  # the folder the lock goes in must be creatable
    created = [p for p in reversed(lock.parents) if not os.path.lexists(p)]  # outermost first
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise LmlabError(f"{out} cannot be created: {e.strerror or e} ({e.filename}); choose another --out") from None
    try:
        fd = _acquire(lock, out, command if command is not None else shlex.join(["lmlab", *sys.argv[1:]]))
    except BaseException:
        _remove_empty(created)
        raise
    _held[lock] = [threading.get_ident(), 1]
    try:
        yield
    finally:
        del _held[lock]
        with contextlib.suppress(OSError):
            os.unlink(lock)  # while still locked: a waiter that opened it retries on the new file (see _acquire)
        os.close(fd)
        _remove_empty(created)  # a run refused for bad input leaves nothing behind, not even its parent folders


def _remove_empty(folders: list[Path]) -> None:
    for folder in reversed(folders):
        try:
            os.rmdir(folder)
        except OSError:  # not empty (the run is in it), or already gone
            return


@contextlib.contextmanager
def claim_out(out: str | os.PathLike, command: str | None = None) -> Iterator[None]:
    """``refuse_forbidden_place``, then :func:`run_lock`, then :func:`check_out_dir`: the start of every fresh run."""
    refuse_forbidden_place(out)
    with run_lock(out, command):
        check_out_dir(out)
        yield


# ---- building beside and swapping in
def _sibling(out: Path, kind: str) -> Path:
    return out.parent / f".{out.name}.{kind}-{secrets.token_hex(4)}"


def _leftovers(out: Path, kind: str) -> list[Path]:
    pattern = re.compile(rf"\.{re.escape(out.name)}\.{kind}-[0-9a-f]{{8}}")
    try:
        names = os.listdir(out.parent)
    except FileNotFoundError:
        return []
    return [out.parent / n for n in sorted(names) if pattern.fullmatch(n)]


def clean_leftovers(out: str | os.PathLike) -> None:
    """Remove what an earlier lmlab killed while writing ``out`` left beside it (call it holding the lock).

    A partial build (marked) is removed. An old run set aside for a swap is removed, unless the kill came between
    the swap's two renames and ``out`` is missing: then the old run is put back.
    """
    out = Path(out)
    assert holds_lock(out), "clean_leftovers needs the run's lock"
    olds = [p for p in _leftovers(out, "old") if is_lmlab_run(p)]
    if olds and not os.path.lexists(out):
        back = max(olds, key=lambda p: os.lstat(p).st_mtime)
        os.rename(back, out)
        olds.remove(back)
        log.warning("%s: restored the previous run (an lmlab process was killed while replacing it)", out)
    for p in olds:
        if os.path.lexists(out):
            _carry_user_entries(p, out)
        remove_tree(p)
    for p in _leftovers(out, "partial"):
        if is_partial(p):
            remove_tree(p)


def user_entries(run: Path) -> list[str]:
    """The names in the run folder ``run`` that lmlab did not write (see :data:`LMLAB_ENTRIES`)."""
    try:
        return sorted(n for n in os.listdir(run) if not is_lmlab_entry(n))
    except (FileNotFoundError, NotADirectoryError):
        return []


def _carry_user_entries(old: Path, new: Path) -> None:
    """Move what the user added to the run ``old`` (``notes.txt``, a ``figs/`` folder) into the run ``new``, by
    renaming (same folder, so nothing is copied); a name the new run already has stays in ``old``."""
    for name in user_entries(old):
        if not os.path.lexists(new / name):
            os.rename(old / name, new / name)
            log.info("%s: kept %s, which lmlab did not write", new, name)


def swap_into_place(new: Path, out: Path) -> None:
    """Rename the complete folder ``new`` to ``out``; a folder already at ``out`` is renamed aside first and removed
    after, so at every moment one complete run exists (at ``out``, or aside for the instant between renames).

    What the user added to the old run (any entry lmlab does not write: :func:`is_lmlab_entry`) is moved into the
    new one before the old one is removed; a kill in between leaves it in the old run set aside, and the next
    writer's :func:`clean_leftovers` moves it over then."""
    if os.path.lexists(out):
        aside = _sibling(out, "old")
        os.rename(out, aside)
        os.rename(new, out)
        _carry_user_entries(aside, out)
        remove_tree(aside)
    else:
        os.rename(new, out)


class RunBuild:
    """A run built in a marked sibling folder (:attr:`dir`) and swapped into ``out`` by :meth:`place`.

    Create it holding :func:`run_lock` after :func:`check_out_dir`. Until :meth:`place`, ``out`` is untouched;
    :meth:`discard` removes the partial folder (a kill leaves it to the next writer's :func:`clean_leftovers`).
    """

    def __init__(self, out: str | os.PathLike):
        self.out = Path(out)
        clean_leftovers(self.out)
        self.replaces = is_lmlab_run(self.out)  # a previous run, kept until the new one is complete
        self.out.parent.mkdir(parents=True, exist_ok=True)
        while True:
            self.dir = _sibling(self.out, "partial")
            try:
                os.mkdir(self.dir, 0o777)  # mkdir honours the umask, as mkdtemp (0700) would not
                break
            except FileExistsError:  # pragma: no cover - 32 random bits
                continue
        os.chmod(self.dir, dir_mode())
        write_json(self.dir / PARTIAL_MARKER, {"format": PARTIAL_FORMAT, "out": self.out.name, "pid": os.getpid()})
        self.placed = False

    def place(self) -> Path:
        """Swap the (now complete) build into ``out``; from here on :attr:`dir` is ``out``."""
        if not self.placed:
            swap_into_place(self.dir, self.out)
            self.dir, self.placed = self.out, True
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.out / PARTIAL_MARKER)
        return self.out

    def discard(self) -> None:
        """Remove the partial folder, leaving ``out`` as it was (no effect once placed)."""
        if not self.placed:
            remove_tree(self.dir)


@contextlib.contextmanager
def replace_run(out: str | os.PathLike, command: str | None = None) -> Iterator[Path]:
    """Check and lock ``out``, yield a fresh partial folder to write the whole run into, and swap it into place when
    the block succeeds; on any error or interruption ``out`` is left as it was."""
    with claim_out(out, command):
        build = RunBuild(out)
        try:
            yield build.dir
            build.place()
        except BaseException:
            build.discard()
            raise


@contextlib.contextmanager
def replace_group(
    out: str | os.PathLike, owned: Callable[[Path], bool], what: str, command: str | None = None
) -> Iterator[Path]:
    """:func:`replace_run` for a folder of several runs (``--folds``, ``--repeat``): the lock is held for the whole
    group, its runs and its summary are built in one partial folder, marked as a group, and swapped in together, so
    two writers never meet and a kill leaves the previous group whole. ``owned`` also recognises groups written
    before the marker existed; ``what`` names such a folder in the refusal."""
    refuse_forbidden_place(out)
    with run_lock(out, command):
        check_out_dir(out, owned=lambda p: is_lmlab_run(p) or owned(p), what=what)
        build = RunBuild(out)
        try:
            write_json(build.dir / GROUP_MARKER, {"format": GROUP_FORMAT, "version": 1})
            yield build.dir
            build.place()
        except BaseException:
            build.discard()
            raise


__all__ = [
    "GROUP_MARKER",
    "LMLAB_ENTRIES",
    "PARTIAL_MARKER",
    "RunBuild",
    "check_out_dir",
    "check_run_entries",
    "claim_out",
    "clean_leftovers",
    "holds_lock",
    "is_lmlab_entry",
    "is_lmlab_run",
    "is_partial",
    "lock_path",
    "refuse_forbidden_place",
    "replace_group",
    "says_format",
    "replace_run",
    "require_no_link",
    "run_lock",
    "swap_into_place",
    "user_entries",
]
