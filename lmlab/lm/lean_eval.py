"""The language-model task's lean ``lmlab eval`` (:attr:`lmlab.taskspec.Task.lean_eval`): a run whose family
declares one (``Family.lean_eval``: the n-gram family, for runs with a model file) is evaluated by it, without the
imports of the general path (:func:`lmlab.lm.cli.evaluate`), which evaluates every other run."""

from __future__ import annotations

import argparse
from pathlib import Path


def evaluate(args: argparse.Namespace) -> int | None:
    """The exit status of ``lmlab eval`` done by the run's family's lean path, or None where it has none or hands
    the command over (an ARPA file, a run conditioned on labels, a run the family's path cannot answer for)."""
    from lmlab.lm.models import FAMILIES
    from lmlab.runconfig import read_run_config

    run_dir = Path(args.run)
    if not run_dir.is_dir():
        return None
    cfg = read_run_config(run_dir)
    family = FAMILIES.get(cfg["family"])
    if family is None or "labels" in cfg or "num_labels" in cfg["model"]:
        return None
    lean = family.lean_eval_fn()
    return None if lean is None else lean(args, run_dir, cfg)


__all__ = ["evaluate"]
