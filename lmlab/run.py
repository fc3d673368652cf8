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
from lmlab.io import read_versioned_json, write_json
from lmlab.lm import LanguageModel
from lmlab.rundir import replace_run
from lmlab.tokenizers import load_tokenizer

RUN_FORMAT = "lmlab-run"
RUN_VERSION = 1


@dataclass
class RunInfo:
    """What ``config.json`` records besides the model's own configuration."""

    data: dict[str, Any] = field(default_factory=dict)  # {"spec": ..., "source": ..., "split": [...]}
    command: str = ""
    stats: dict[str, Any] = field(default_factory=dict)


def run_config(model: LanguageModel, info: RunInfo) -> dict[str, Any]:
    return {
        "format": RUN_FORMAT,
        "version": RUN_VERSION,
        "family": model.family,
        "model": model.config_dict(),
        "tokenizer": {"kind": model.tokenizer.kind, "file": "tokenizer.json"},
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


def read_run_config(run_dir: str | Path) -> dict[str, Any]:
    return read_versioned_json(
        Path(run_dir) / "config.json",
        RUN_FORMAT,
        RUN_VERSION,
        "run configuration",
        missing=f"{run_dir} is not a run directory (no config.json) nor an ARPA file",
    )


def is_arpa_file(path: Path) -> bool:
    if not path.is_file():
        return False
    with open(path, "rb") as f:
        head = f.read(256).lstrip()
    return head.startswith(b"\\data\\")


def load_model(path: str | Path) -> tuple[LanguageModel, dict[str, Any]]:
    """Load a run directory or an ARPA file as a model; returns the model and its run configuration."""
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
    cfg = read_run_config(path)
    family = get_family(cfg.get("family", ""))
    tokenizer = load_tokenizer(path / cfg.get("tokenizer", {}).get("file", "tokenizer.json"))
    model = family.model_class().load_weights(path, cfg.get("model", {}), tokenizer)
    return model, cfg
