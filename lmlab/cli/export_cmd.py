"""``lmlab export``: write a trained model in a standard format."""

from __future__ import annotations

import argparse
from pathlib import Path

from lmlab.errors import LmlabError
from lmlab.run import load_model

FORMATS = ("arpa",)


def register(sub) -> None:
    p = sub.add_parser("export", help="write a model in a standard format (ARPA for n-gram models)")
    p.add_argument("run", metavar="RUN", help="run directory or ARPA file")
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--out", required=True, metavar="FILE")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if Path(args.out).is_dir():
        raise LmlabError(f"--out {args.out} is a directory; give the name of the file to write")
    model, _ = load_model(args.run)
    writer = getattr(model, "write_arpa", None)
    if writer is None:
        raise LmlabError(f"ARPA export is for back-off n-gram models; this run is a {model.family} model")
    writer(args.out)
    print(f"wrote {args.out}")
    return 0
