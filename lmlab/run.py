"""Run directories: everything needed to reload a trained model, and nothing pickled.

A run directory holds ``config.json`` (family, model configuration, data, tokenizer, the command that made
it, training statistics), ``tokenizer.json`` and the family's weights (``model.safetensors``). It is written
in a marked sibling folder and swapped into place when complete (:mod:`lmlab.rundir`), so an interrupted or failed
run never leaves a directory that looks finished, and never loses the run it was replacing. ``lmlab eval``,
``generate`` and ``export`` also accept an ARPA file in place of a run directory.
"""

from __future__ import annotations

import datetime as _dt
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmlab import __version__
from lmlab.errors import LmlabError
from lmlab.io import write_json
from lmlab.lm import LanguageModel
from lmlab.rundir import replace_run
from lmlab.runfiles import check_fields, expect, plain_file_name, read_versioned_json
from lmlab.tokenizers import Tokenizer, load_tokenizer, tokenizer_sha256

RUN_FORMAT = "lmlab-run"
RUN_VERSION = 1


@dataclass
class RunInfo:
    """What ``config.json`` records besides the model's own configuration."""

    data: dict[str, Any] = field(default_factory=dict)  # {"spec": ..., "source": ..., "split": [...]}
    command: str = ""
    stats: dict[str, Any] = field(default_factory=dict)


def run_config(model: LanguageModel, info: RunInfo) -> dict[str, Any]:
    tok = model.tokenizer
    return {
        "format": RUN_FORMAT,
        "version": RUN_VERSION,
        "family": model.family,
        "model": model.config_dict(),
        # the hash ties the weights to their tokenizer: one with the same tokens in another order is refused
        "tokenizer": {"kind": tok.kind, "file": "tokenizer.json", "sha256": tokenizer_sha256(tok)},
        "data": info.data,
        "command": info.command,
        "stats": info.stats,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "lmlab_version": __version__,
        "machine": platform.node(),
    }


def write_run_files(model: LanguageModel, info: RunInfo, directory: Path) -> None:
    """Write config, tokenizer and weights into an existing directory."""
    model.tokenizer.save(directory / "tokenizer.json")
    model.save_weights(directory)
    write_json(directory / "config.json", run_config(model, info))


def save_run(model: LanguageModel, out: str | Path, info: RunInfo) -> Path:
    """Write a complete run directory at ``out``, atomically, replacing an older lmlab run there (and nothing else:
    see :func:`lmlab.rundir.check_out_dir`)."""
    out = Path(out)
    with replace_run(out, info.command or None) as tmp:
        write_run_files(model, info, tmp)
    return out


#: The fields of ``config.json`` that lmlab reads (others are kept for the user and left alone).
RUN_SCHEMA = {
    "family": expect(str, required=True),
    "model": expect(dict, required=True),
    "tokenizer": expect(dict),
    "tokenizer.kind": expect(str),
    "tokenizer.file": expect(str),
    "tokenizer.sha256": expect(str),
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
    path = Path(run_dir) / "config.json"
    cfg = read_versioned_json(
        path,
        RUN_FORMAT,
        RUN_VERSION,
        "run configuration",
        missing=f"{run_dir} is not a run directory (no config.json) nor an ARPA file",
    )
    check_fields(cfg, RUN_SCHEMA, str(path))
    return cfg


def load_run_tokenizer(run_dir: str | Path, cfg: dict[str, Any]) -> Tokenizer:
    """The tokenizer ``config.json`` names: a plain file name in the run directory, a regular file, and, when the
    run records its hash (older runs do not), the very tokenizer the weights were trained with."""
    where = str(Path(run_dir) / "config.json")
    recorded = cfg.get("tokenizer", {})
    path = Path(run_dir) / plain_file_name(recorded.get("file", "tokenizer.json"), where, "tokenizer.file")
    tokenizer = load_tokenizer(path)
    if recorded.get("kind", tokenizer.kind) != tokenizer.kind:
        raise LmlabError(f"{path}: a {tokenizer.kind} tokenizer, but {where} records a {recorded['kind']} tokenizer")
    expected, actual = recorded.get("sha256"), tokenizer_sha256(tokenizer)
    if expected is not None and actual != expected:
        raise LmlabError(
            f"{path}: {path.name} does not match the weights of this run (sha256 {actual[:16]}..., "
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


def is_arpa_file(path: Path) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as f:
        head = f.read(256).lstrip()
    return head.startswith(b"\\data\\")


def load_model(path: str | Path) -> tuple[LanguageModel, dict[str, Any]]:
    """Load a run directory or an ARPA file as a model; returns the model and its run configuration.

    Every file of the run is read as untrusted input (see :mod:`lmlab.runfiles`); the shapes of the weights are
    checked against the configuration before the network is built.
    """
    from lmlab.models import get_family

    path = Path(path)
    if not path.exists():
        raise LmlabError(f"{path} does not exist (expected a run directory or an ARPA file)")
    if is_arpa_file(path):
        from lmlab.ngram.arpa import read_arpa

        model = read_arpa(path)
        return model, {"family": "ngram", "data": {}, "source": str(path)}
    if path.is_file():
        raise LmlabError(f"{path} is a file but not an ARPA file (no '\\data\\' header); expected a run directory")
    if not path.is_dir():
        raise LmlabError(f"{path} is neither a run directory nor an ARPA file")
    cfg = read_run_config(path)
    try:
        family = get_family(cfg["family"])
    except LmlabError as e:
        raise LmlabError(f"{path / 'config.json'}: field 'family': {e}") from None
    tokenizer = load_run_tokenizer(path, cfg)
    model = family.model_class().load_weights(path, cfg["model"], tokenizer)
    return model, cfg
