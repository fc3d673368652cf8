"""``lmlab data``: the named corpora, where they are, fetching them and checking their files."""

from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("data", help="list, fetch or verify the named corpora")
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    ls = dsub.add_parser("list", help="the named corpora and whether they are in the data directory")
    ls.set_defaults(func=run_list)
    fe = dsub.add_parser("fetch", help="download a named corpus into the data directory (checksum verified)")
    fe.add_argument("name")
    fe.add_argument(
        "--force",
        action="store_true",
        help="download again the files that are present but fail the size or sha256 check (default: stop on them)",
    )
    fe.set_defaults(func=run_fetch)
    ve = dsub.add_parser(
        "verify",
        help="check the files of named corpora against their registered size and sha256",
        description="One line per file: ok, missing or mismatch. Exit status 2 if a file does not match, "
        "1 if a file of a named dataset is missing.",
    )
    ve.add_argument("names", nargs="*", metavar="NAME", help="datasets to check (default: every one present)")
    ve.set_defaults(func=run_verify)


def run_list(args: argparse.Namespace) -> int:
    from lmlab.data.registry import data_dir, describe_datasets

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
    from lmlab.data.download import fetch

    folder = fetch(args.name, verify=True, force=args.force, optional=True)
    print(f"{args.name}: {folder}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from lmlab.data.download import verify_files
    from lmlab.data.registry import DATASETS, data_dir, get_dataset

    root = data_dir()
    infos = [get_dataset(n) for n in args.names]  # an unknown name is an error before anything is read
    if not infos:  # every dataset with at least one file in the data directory
        infos = [d for d in DATASETS.values() if any((root / f.path).exists() for f in d.files)]
        if not infos:
            print(f"no dataset has files in {root} (set LMLAB_DATA_DIR to change it)")
            return 0
    status = 0
    for info in infos:
        for path, state, why in verify_files(info, root):
            print(f"{state:<8} {path}" + (f": {why}" if why else ""))
            if state == "mismatch":
                status = 2
            elif state == "missing" and status == 0:
                status = 1
    return status
