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
    """A language model's ``config.json`` (see :func:`lmlab.runconfig.run_envelope`); a model conditioned on labels
    records them (``labels``: label i is row i of its label table) and how the label enters the network."""
    fields: dict[str, Any] = {"tokenizer": tokenizer_record(model.tokenizer)}
    if model.labels:
        fields |= {"labels": list(model.labels), "condition": CONDITION}
    return run_envelope("lm", model.family, model.config_dict(), info, **fields)


#: How a conditioned model reads its label (see lmlab.nn.condition), as its config.json says.
CONDITION = "label embedding added to every input token's embedding"


def run_labels(cfg: dict[str, Any], where: str) -> tuple[str, ...]:
    """The labels ``config.json`` records (none for a run trained without them, and for runs older than them),
    checked: distinct non-empty strings, as many as the model's ``num_labels``."""
    labels = cfg.get("labels", [])
    expected = cfg["model"].get("num_labels", 0)
    ok = isinstance(labels, list) and all(isinstance(label, str) and label for label in labels)
    if not ok or len(set(labels)) != len(labels):
        raise LmlabError(f"{where}: field 'labels' must be a list of distinct non-empty strings")
    if len(labels) != expected:
        raise LmlabError(f"{where}: field 'labels' names {len(labels)} labels; field 'model.num_labels' is {expected}")
    return tuple(labels)


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
    labels = run_labels(cfg, str(path / "config.json"))
    if labels:
        if not family.model_class().takes_condition:
            raise LmlabError(f"{path / 'config.json'}: names 'labels', but {family.name} models take no condition")
        model = family.model_class().load_weights(path, cfg["model"], tokenizer, labels)
    else:
        model = family.model_class().load_weights(path, cfg["model"], tokenizer)
    return model, cfg
