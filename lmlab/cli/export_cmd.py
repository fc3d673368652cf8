"""``lmlab export``: write a trained model in a standard format."""

from __future__ import annotations

import argparse
from pathlib import Path

from lmlab.errors import LmlabError
from lmlab.lm.run import is_arpa_file, load_model
from lmlab.runconfig import read_run_config
from lmlab.tasks import task_of_run

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
    path = Path(args.run)
    if path.is_dir() and not is_arpa_file(path):  # a task with its own formats exports its runs itself
        export = getattr(task_of_run(read_run_config(path)).cli_module(), "export", None)
        if export is not None:
            return export(args)
    if args.format != "arpa":
        raise LmlabError(f"--format {args.format} is not a format of this model; it exports as --format arpa")
    model, _ = load_model(args.run)
    writer = getattr(model, "write_arpa", None)
    if writer is None:
        raise LmlabError(f"ARPA export is for back-off n-gram models; this run is a {model.family} model")
    writer(args.out)
    print(f"wrote {args.out}")
    return 0
