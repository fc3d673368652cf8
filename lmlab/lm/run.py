"""Run directories: everything needed to reload a trained model, and nothing pickled.

A run directory holds ``config.json`` (family, model configuration, data, tokenizer, the command that made
it, training statistics), ``tokenizer.json`` and the family's weights (``model.safetensors``). It is written
in a marked sibling folder and swapped into place when complete (:mod:`lmlab.rundir`), so an interrupted or failed
run never leaves a directory that looks finished, and never loses the run it was replacing. ``lmlab eval``,
``generate`` and ``export`` also accept an ARPA file in place of a run directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lmlab.errors import LmlabError
from lmlab.io import write_json
from lmlab.lm import LanguageModel
from lmlab.runconfig import (  # noqa: F401 - the run-file readers every task uses, re-exported for older imports
    RUN_FORMAT,
    RUN_SCHEMA,
    RUN_VERSION,
    UNFINISHED,
    RunInfo,
    load_run_tokenizer,
    read_run_config,
    run_envelope,
    tokenizer_record,
    unfinished_note,
)
from lmlab.rundir import replace_run


def run_config(model: LanguageModel, info: RunInfo) -> dict[str, Any]:
    """A language model's ``config.json`` (see :func:`lmlab.runconfig.run_envelope`)."""
    return run_envelope("lm", model.family, model.config_dict(), info, tokenizer=tokenizer_record(model.tokenizer))


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
    from lmlab.lm.models import get_family

    path = Path(path)
    if not path.exists():
        raise LmlabError(f"{path} does not exist (expected a run directory or an ARPA file)")
    if is_arpa_file(path):
        from lmlab.lm.ngram.arpa import read_arpa

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
