"""The language-model task's lean ``lmlab eval`` and ``lmlab export`` (:attr:`lmlab.taskspec.Task.lean_eval`,
``lean_export``): a run whose family declares one (``Family.lean_eval``, ``lean_export``: the n-gram family, for
runs with a model file) is evaluated or exported by it, without the imports of the general path
(:func:`lmlab.lm.cli.evaluate`, :func:`lmlab.lm.cli.export`), which serves every other run."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (see lmlab.lazy)
if TYPE_CHECKING:
    import argparse
    from typing import Any


def evaluate(args: argparse.Namespace, run_cfg: dict[str, Any] | None = None) -> int | None:
    """The exit status of ``lmlab eval`` done by the run's family's lean path, or None where it has none or hands
    the command over (an ARPA file, a run conditioned on labels, a run the family's path cannot answer for).
    ``run_cfg``: the run's ``config.json`` as ``lmlab eval`` read it (None: read here; an ARPA file has none)."""
    return _lean(args, run_cfg, "lean_eval_fn")


def export(args: argparse.Namespace, run_cfg: dict[str, Any] | None = None) -> int | None:
    """The exit status of ``lmlab export`` done by the run's family's lean path, or None (as :func:`evaluate`)."""
    return _lean(args, run_cfg, "lean_export_fn")


def _lean(args: argparse.Namespace, run_cfg: dict[str, Any] | None, which: str) -> int | None:
    from lmlab.lm.models import FAMILIES

    if not os.path.isdir(args.run):
        return None
    if run_cfg is None:
        from lmlab.runconfig import read_run_config

        run_cfg = read_run_config(args.run)
    family = FAMILIES.get(run_cfg["family"])
    if family is None or "labels" in run_cfg or "num_labels" in run_cfg["model"]:
        return None
    lean = getattr(family, which)()
    return None if lean is None else lean(args, args.run, run_cfg)


__all__ = ["evaluate", "export"]
