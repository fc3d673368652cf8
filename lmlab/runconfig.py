"""A run's ``config.json``: the one envelope every task writes, and the one reader of it.

Every run directory, whatever its task, holds a ``config.json`` of the same shape::

    {"format": "lmlab-run", "version": 1, "task": "classify", "family": "textcnn",
     "model": {...the family's configuration...}, "data": {...spec, source, sha256...},
     "command": "lmlab train ...", "stats": {...}, "created": "...", "lmlab_version": "...", "machine": "...",
     ...the task's own fields (labels, classes, tokenizer, vocab)...}

:func:`run_envelope` writes it (so the common fields are written once, here) and :func:`read_run_config` reads it as
untrusted input. A tokenizer is recorded with :func:`tokenizer_record` (its kind, its file, and its sha256, which
ties the weights to it) and read back with :func:`load_run_tokenizer`.
"""

from __future__ import annotations

import os

from lmlab import __version__
from lmlab.errors import LmlabError
from lmlab.runfiles import check_fields, expect, plain_file_name, read_versioned_json

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (see lmlab.lazy)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

RUN_FORMAT = "lmlab-run"
RUN_VERSION = 1


class RunInfo:
    """What ``config.json`` records besides the model's own configuration. (A plain class, not a dataclass: the
    dataclasses module imports inspect, about a tenth of ``lmlab eval``'s time on an n-gram model file, which reads
    its run through this module.)"""

    def __init__(self, data: dict[str, Any] | None = None, command: str = "", stats: dict[str, Any] | None = None):
        self.data = {} if data is None else data  # {"spec": ..., "source": ..., "sha256": {...}}
        self.command = command
        self.stats = {} if stats is None else stats

    def __repr__(self) -> str:
        return f"RunInfo(data={self.data!r}, command={self.command!r}, stats={self.stats!r})"


def run_envelope(task: str | None, family: str, model: dict[str, Any], info: RunInfo, **fields: Any) -> dict[str, Any]:
    """The ``config.json`` of a run: the common fields, then the task's own ``fields`` (labels, tokenizer, ...).

    ``task=None`` writes no ``task`` field (language-model runs before tasks existed had none; lmlab reads such a
    run as a language model).

    >>> cfg = run_envelope("graph", "gcn", {"hidden": 16}, RunInfo(command="lmlab train"), classes=["a", "b"])
    >>> cfg["format"], cfg["task"], cfg["family"], cfg["classes"], cfg["command"]
    ('lmlab-run', 'graph', 'gcn', ['a', 'b'], 'lmlab train')
    """
    import datetime as _dt  # here: reading a run (lmlab eval) needs neither, and platform compiles 8 patterns
    import platform

    head: dict[str, Any] = {"format": RUN_FORMAT, "version": RUN_VERSION}
    if task is not None:
        head["task"] = task
    head.update(family=family, model=model)
    return {
        **head,
        **fields,
        "data": info.data,
        "command": info.command,
        "stats": info.stats,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "lmlab_version": __version__,
        "machine": platform.node(),
    }


def tokenizer_record(tokenizer: Any, file: str = "tokenizer.json") -> dict[str, str]:
    """How a run records its tokenizer: kind, file name, the sha256 of its content that ties the weights to it (a
    tokenizer with the same tokens in another order is refused on load), and the sha256 of the file
    :meth:`~lmlab.tokenizers.Tokenizer.save` writes, by which that file, unchanged, is recognised without hashing its
    content again (:func:`load_run_tokenizer`)."""
    from lmlab.tokenizers import file_sha256, tokenizer_file_bytes, tokenizer_sha256

    return {
        "kind": tokenizer.kind,
        "file": file,
        "sha256": tokenizer_sha256(tokenizer),
        "file_sha256": file_sha256(tokenizer_file_bytes(tokenizer)),
    }


#: The fields of ``config.json`` that lmlab reads (others are kept for the user and left alone).
RUN_SCHEMA = {
    "family": expect(str, required=True),
    "model": expect(dict, required=True),
    "tokenizer": expect(dict),
    "tokenizer.kind": expect(str),
    "tokenizer.file": expect(str),
    "tokenizer.sha256": expect(str),
    "tokenizer.file_sha256": expect(str),
    "data": expect(dict),
    "data.spec": expect(str, None),
    "data.source": expect(str, None),
    "data.encoding_errors": expect(str),
    "command": expect(str),
    "stats": expect(dict),
    "stats.status": expect(str),
    "stats.steps": expect(int),
    "stats.total_steps": expect(int),
    "stats.train_tokens": expect(int),
    "stats.train_seconds": expect(float),
}
#: ``stats.status`` of a run whose training did not finish: its weights are those of the last evaluation.
UNFINISHED = ("training", "interrupted")


def read_run_config(run_dir: str | Path) -> dict[str, Any]:
    """``RUN/config.json``, checked: a regular file of at most 16 MiB, valid JSON, the fields lmlab reads of the
    right types; otherwise one LmlabError line naming the file and the field."""
    path = os.path.join(run_dir, "config.json")
    cfg = read_versioned_json(
        path,
        RUN_FORMAT,
        RUN_VERSION,
        "run configuration",
        missing=f"{run_dir} is not a run directory (no config.json) nor an ARPA file",
    )
    check_fields(cfg, RUN_SCHEMA, path)
    return cfg


def load_run_tokenizer(run_dir: str | Path, cfg: dict[str, Any]) -> Any:
    """The tokenizer ``config.json`` names: a plain file name in the run directory, a regular file, and, when the
    run records its hash (older runs do not), the very tokenizer the weights were trained with: the file training
    wrote, byte for byte (``tokenizer.file_sha256``), or one with the same content (``tokenizer.sha256``: the
    same tokens, merges and options, written in another form)."""
    from lmlab.tokenizers import file_sha256, load_tokenizer_file, tokenizer_sha256

    where = os.path.join(run_dir, "config.json")
    recorded = cfg.get("tokenizer", {})
    name = plain_file_name(recorded.get("file", "tokenizer.json"), where, "tokenizer.file")
    path = os.path.join(run_dir, name)
    tokenizer, data = load_tokenizer_file(path)
    if recorded.get("kind", tokenizer.kind) != tokenizer.kind:
        raise LmlabError(f"{path}: a {tokenizer.kind} tokenizer, but {where} records a {recorded['kind']} tokenizer")
    if "file_sha256" in recorded and file_sha256(data) == recorded["file_sha256"]:
        return tokenizer  # the file training wrote, and so its content (hashing that is a tenth of lmlab eval)
    expected, actual = recorded.get("sha256"), tokenizer_sha256(tokenizer)
    if expected is not None and actual != expected:
        raise LmlabError(
            f"{path}: {name} does not match the weights of this run (sha256 {actual[:16]}..., "
            f"{where} records {expected[:16]}...); restore the run's own tokenizer"
        )
    return tokenizer


def unfinished_note(run: str | Path, cfg: dict[str, Any]) -> str | None:
    """A warning for a run whose training did not finish (still running, killed, or interrupted), or None."""
    stats = cfg.get("stats", {})
    status = stats.get("status")
    if status not in UNFINISHED:
        return None
    steps = f" at step {stats['steps']} of {stats['total_steps']}" if {"steps", "total_steps"} <= stats.keys() else ""
    how = "is still training (or its training was killed)" if status == "training" else "was interrupted"
    return f"{run} {how}{steps}; these are the weights of its last evaluation"


__all__ = [
    "RUN_FORMAT",
    "RUN_SCHEMA",
    "RUN_VERSION",
    "UNFINISHED",
    "RunInfo",
    "load_run_tokenizer",
    "read_run_config",
    "run_envelope",
    "tokenizer_record",
    "unfinished_note",
]
