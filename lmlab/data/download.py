"""Download a registered dataset into the data directory, checked by sha256 and written atomically.

Each file streams into a ``.part`` temporary in its destination folder and is renamed into place only
after its checksum matches, so the final name only ever holds a verified file: a 404, a dropped connection,
a transfer cut short or a changed upstream file all leave the folder as it was and raise one
:class:`LmlabError` line that says what to do instead.

``$LMLAB_DATA_MIRROR`` replaces every file's URL by ``MIRROR/<relative path>``: a mirror is laid out like a
data directory (``python -m http.server`` run in one works, as does a ``file://`` URL). For a ``gzip=True``
file a mirror may serve either the gzip stream or the stored file; gzip's magic bytes tell the two apart.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from lmlab.data.registry import DataFile, DatasetInfo, get_dataset
from lmlab.data.registry import data_dir as default_data_dir
from lmlab.errors import LmlabError
from lmlab.runfiles import open_regular

log = logging.getLogger(__name__)

CHUNK = 1 << 16
GZIP_MAGIC = b"\x1f\x8b"
USER_AGENT = "lmlab (dataset download)"


def file_url(file: DataFile) -> str:
    """Where ``file`` is fetched from: its canonical URL, or ``$LMLAB_DATA_MIRROR/<path>`` if that is set."""
    mirror = os.environ.get("LMLAB_DATA_MIRROR")
    if mirror:
        return f"{mirror.rstrip('/')}/{file.path}"
    return file.url


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in chunks so a large file costs no memory."""
    h = hashlib.sha256()
    with open_regular(path) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(
    dataset: str | DatasetInfo,
    data_dir: str | os.PathLike | None = None,
    *,
    progress: bool = True,
    verify: bool = False,
    force: bool = False,
    timeout: float = 60.0,
    optional: bool = False,
) -> Path:
    """Make sure every file of ``dataset`` is in ``data_dir``, downloading what is missing; return its folder.

    A file already there is trusted if its size is right (cheap, so loading a corpus costs no hashing);
    ``verify=True`` also checks its sha256 (``lmlab data fetch`` does). A present file that fails either check is
    an error, never silently replaced, since it may be the user's own copy; ``force=True`` (``--force``) verifies
    every present file and downloads again the ones that fail, each replaced only once its new copy checks out.
    ``progress`` shows a tqdm bar when stderr is a terminal. A missing file marked optional (a dataset is complete
    without it: MNIST's 60,000 training images) is downloaded only with ``optional=True`` (``lmlab data fetch``).

    >>> fetch("ptb")                      # doctest: +SKIP
    PosixPath('/home/me/.cache/lmlab/data/ptb')
    """
    info = get_dataset(dataset) if isinstance(dataset, str) else dataset
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    for file in info.files:
        dest = root / file.path
        if dest.exists():
            problem = check_file(file, dest, verify=verify or force)
            if problem is None:
                continue
            if not force:
                raise LmlabError(
                    f"{dest} is corrupted: {problem}; run `lmlab data fetch {info.name} --force` to download it "
                    f"again (or delete it)"
                )
            log.warning("%s is corrupted (%s); downloading it again", dest, problem)
        elif file.optional and not optional:
            continue
        if not file.url and not os.environ.get("LMLAB_DATA_MIRROR"):  # a mirror holds every file
            if file.optional:
                log.info("%s is not downloadable (%s); the dataset is usable without it", dest, file.note)
                continue
            raise LmlabError(f"{dest} cannot be downloaded ({file.note}); {_how_to_fix(dest)}")
        _download(file, dest, progress=progress, timeout=timeout)
    return root / info.folder


def _how_to_fix(dest: Path) -> str:
    return f"download the file yourself and put it at {dest}, or set LMLAB_DATA_DIR to a folder that has it"


def check_file(file: DataFile, dest: Path, *, verify: bool = True) -> str | None:
    """What is wrong with the present file ``dest`` as a copy of ``file``, or None if nothing: its size, then
    (``verify``) its sha256.

    >>> check_file(DataFile("x.txt", "", "0" * 64, 3), Path("/dev/null"))
    'it is not a regular file'
    """
    try:
        if not dest.is_file():
            return "it is not a regular file"
        size = dest.stat().st_size
        if size != file.size:
            return f"it has {size:,} bytes, expected {file.size:,} (incomplete, or a different version)"
        if verify:
            digest = sha256_file(dest)
            if digest != file.sha256:
                return f"sha256 {digest} does not match the expected {file.sha256}"
    except OSError as e:
        return f"it cannot be read ({e.strerror or e})"
    return None


def verify_files(
    dataset: str | DatasetInfo, data_dir: str | os.PathLike | None = None
) -> list[tuple[Path, str, str | None]]:
    """``(path, status, why)`` for every file of ``dataset``, each present file checked against the registry's
    size and sha256: status ``"ok"``, ``"missing"``, ``"mismatch"`` (then ``why`` says what differs) or
    ``"optional"`` (an absent file the dataset does without; ``why`` says what it is).

    >>> verify_files("ptb", "/nowhere")[0]
    (PosixPath('/nowhere/ptb/ptb.train.txt'), 'missing', None)
    """
    info = get_dataset(dataset) if isinstance(dataset, str) else dataset
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    rows: list[tuple[Path, str, str | None]] = []
    for file in info.files:
        dest = root / file.path
        if not (dest.exists() or dest.is_symlink()):
            # an optional file (the dataset is complete without it) is reported, not counted as missing
            rows.append((dest, "optional", file.note) if file.optional else (dest, "missing", None))
            continue
        problem = check_file(file, dest)
        rows.append((dest, "ok" if problem is None else "mismatch", problem))
    return rows


def _download(file: DataFile, dest: Path, *, progress: bool, timeout: float) -> None:
    url = file_url(file)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, part = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    except OSError as e:
        raise LmlabError(
            f"cannot write to {dest.parent} ({e.strerror or e}); set LMLAB_DATA_DIR to a writable folder"
        ) from None
    os.close(fd)
    part_path = Path(part)
    try:
        log.info("downloading %s -> %s", url, dest)
        _stream(url, part_path, dest, download_limit(file), desc=file.path, progress=progress, timeout=timeout)
        if file.gzip and _starts_with(part_path, GZIP_MAGIC):
            _gunzip_in_place(part_path, url, dest, file.size)
        digest = sha256_file(part_path)
        if digest != file.sha256:
            raise LmlabError(
                f"{url}: sha256 of the download is {digest}, expected {file.sha256} (changed upstream or "
                f"corrupted in transit); {_how_to_fix(dest)}"
            )
        os.chmod(part_path, 0o644)  # mkstemp makes it 0600; a shared data directory must stay readable
        os.replace(part_path, dest)
    except BaseException:
        # Ctrl-C included: never leave a .part behind.
        with contextlib.suppress(FileNotFoundError):
            part_path.unlink()
        raise


def download_limit(file: DataFile) -> int:
    """The most bytes a download of ``file`` may take: its registered size, or for a file that may come as a gzip
    stream, that size plus the most gzip adds to data it cannot compress (zlib's ``deflateBound``: about 1/4096 of
    the data, its header and trailer).

    >>> download_limit(DataFile("a.txt", "", "0" * 64, 2_000_000)), download_limit(DataFile("a", "", "", 0, gzip=True))
    (2000000, 1024)
    """
    return file.size + (file.size // 1024 + 1024 if file.gzip else 0)


@contextlib.contextmanager
def _open_url(url: str, timeout: float, hint: str) -> Iterator[tuple[BinaryIO, int | None]]:
    """The response to ``url`` and the length it announces (None if it does not); ``hint`` ends an error.

    A ``file://`` URL is opened here rather than by urllib, which would open a FIFO in blocking mode and wait
    forever for a writer: it must name a regular file (see :func:`lmlab.runfiles.open_regular`).
    """
    import urllib.parse
    import urllib.request  # here, as the network modules below: `lmlab data verify` and `list` open no network

    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise LmlabError(f"could not download {url}: a file:// URL must name a local file (no host); {hint}")
        path = urllib.request.url2pathname(parts.path)
        try:
            f = open_regular(path)
        except LmlabError as e:  # missing, or a FIFO, a device, a directory
            raise LmlabError(f"could not download {url}: {e}; {hint}") from None
        with f:
            yield f, os.fstat(f.fileno()).st_size
        return
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        yield response, int(length) if length and length.isdigit() else None


def _stream(url: str, out: Path, dest: Path, limit: int, *, desc: str, progress: bool, timeout: float) -> None:
    """Copy ``url`` into ``out``, at most ``limit`` bytes (:func:`download_limit`); raise LmlabError for HTTP
    errors, network failures, short transfers and a source that sends more than ``limit``, as soon as it does."""
    import http.client
    import urllib.error

    from tqdm import tqdm

    dest_hint = _how_to_fix(dest)
    n_read = 0
    expected: int | None = None
    try:
        with _open_url(url, timeout, dest_hint) as (response, expected), open(out, "wb") as f:
            if expected is not None and expected > limit:
                raise LmlabError(
                    f"{url} is {expected:,} bytes, more than the {limit:,} registered for {dest.name} (a different "
                    f"file?); {dest_hint}"
                )
            show = progress and sys.stderr.isatty()
            with tqdm(total=expected, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, disable=not show) as bar:
                # read(n) returns b"" when the peer closes early instead of raising IncompleteRead, so the
                # byte count is compared with Content-Length below as well. One byte past the limit is asked
                # for, to tell a source that goes on (an endless stream) from one that ends at the limit.
                while chunk := response.read(min(CHUNK, limit + 1 - n_read)):
                    n_read += len(chunk)
                    if n_read > limit:
                        raise LmlabError(
                            f"{url} sent more than the {limit:,} bytes registered for {dest.name} (an endless "
                            f"stream, or a different file); stopped there; {dest_hint}"
                        )
                    f.write(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as e:
        raise LmlabError(f"could not download {url}: HTTP {e.code} {e.reason}; {dest_hint}") from None
    except http.client.IncompleteRead as e:
        got = n_read + len(e.partial)
        total = f" of {expected:,}" if expected is not None else ""
        raise LmlabError(f"download of {url} was cut short after {got:,}{total} bytes; retry, or {dest_hint}") from None
    except urllib.error.URLError as e:
        raise LmlabError(f"could not download {url}: {e.reason}; {dest_hint}") from None
    except (OSError, http.client.HTTPException) as e:
        raise LmlabError(
            f"could not download {url}: {type(e).__name__}: {e} after {n_read:,} bytes; retry, or {dest_hint}"
        ) from None
    if expected is not None and n_read != expected:
        raise LmlabError(
            f"download of {url} was cut short after {n_read:,} of {expected:,} bytes; retry, or {dest_hint}"
        )


def _starts_with(path: Path, prefix: bytes) -> bool:
    with open(path, "rb") as f:
        return f.read(len(prefix)) == prefix


def _gunzip_in_place(path: Path, url: str, dest: Path, limit: int) -> None:
    """Replace the gzip file at ``path`` by its decompressed content (via a second temporary), refused as soon as
    it expands past ``limit`` bytes (the registered size): a small gzip bomb never fills the disk."""
    import gzip
    import zlib

    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(path, "rb") as src:
            n = 0
            while chunk := src.read(min(CHUNK, limit + 1 - n)):
                n += len(chunk)
                if n > limit:
                    raise LmlabError(
                        f"{url}: the gzip stream expands to more than the {limit:,} bytes registered for "
                        f"{dest.name} (a gzip bomb, or a different file); stopped there; {_how_to_fix(dest)}"
                    )
                out.write(chunk)
        os.replace(tmp, path)
    except (OSError, EOFError, zlib.error) as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise LmlabError(f"{url}: not a valid gzip stream ({e}); {_how_to_fix(dest)}") from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
