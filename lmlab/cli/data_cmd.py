"""``lmlab data``: the named corpora, where they are, and fetching them."""

from __future__ import annotations

import argparse

from lmlab.data import describe_datasets, fetch
from lmlab.data.registry import data_dir


def register(sub) -> None:
    p = sub.add_parser("data", help="list or fetch the named corpora")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    ls = dsub.add_parser("list", help="the named corpora and whether they are in the data directory")
    ls.set_defaults(func=run_list)
    fe = dsub.add_parser("fetch", help="download a named corpus into the data directory (checksum verified)")
    fe.add_argument("name")
    fe.set_defaults(func=run_fetch)


def run_list(args: argparse.Namespace) -> int:
    print(f"data directory: {data_dir()} (set LMLAB_DATA_DIR to change it)")
    rows = describe_datasets()
    width = max(len(r["name"]) for r in rows)
    kind_width = max(len(r["kind"]) for r in rows)
    for r in rows:
        mark = "present" if r["present"] else "missing"
        print(
            f"{r['name']:<{width}}  {r['kind']:<{kind_width}} {r['size'] / 1e6:7.1f} MB  {mark:<8} {r['description']}"
        )
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    folder = fetch(args.name)
    print(f"{args.name}: {folder}")
    return 0
