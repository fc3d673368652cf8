"""``lmlab export``: write a trained model in a standard format."""

from __future__ import annotations

import argparse
from pathlib import Path

from lmlab.errors import LmlabError
from lmlab.tasks import config_and_task_of_path

FORMATS = ("arpa", "word2vec")


def register(sub) -> None:
    p = sub.add_parser(
        "export", help="write a model in a standard format (ARPA for n-gram models, word2vec for word vectors)"
    )
    p.add_argument("run", metavar="RUN", help="run directory or ARPA file")
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--out", required=True, metavar="FILE")
    p.add_argument("--binary", action="store_true", help="word2vec: the binary format (default: text)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if Path(args.out).is_dir():
        raise LmlabError(f"--out {args.out} is a directory; give the name of the file to write")
    run_cfg, task = config_and_task_of_path(args.run)  # config.json read once, for the task and its lean path
    lean = task.lean_export_fn()  # the runs a task exports without its command-line module's imports
    if lean is not None and (status := lean(args, run_cfg)) is not None:
        return status
    export = task.verb("export")
    if export is None:
        raise LmlabError(f"{args.run}: a {task.name} run has no export format; --format is for {', '.join(FORMATS)}")
    return export(args)
