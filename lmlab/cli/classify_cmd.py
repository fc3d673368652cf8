"""``lmlab classify``: the label of a text (or of every line of a file) by a trained classifier; the label of an
image (``--image FILE``) by an image classifier."""

from __future__ import annotations

import argparse
import json
import sys

from lmlab.cli.common import input_lines, load_run_for
from lmlab.errors import LmlabError

BATCH = 512  # lines classified together from --input; results are printed as each batch finishes


def register(sub) -> None:
    p = sub.add_parser(
        "classify",
        help="label a text, or every line of a file, with a trained classifier",
        description="Prints the label and its probability; --json prints every class's probability; --input FILE "
        "classifies one text per line and prints label<TAB>probability per line.",
    )
    p.add_argument("run", metavar="RUN", help="run directory of a classifier (lmlab train --task classify)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="the text to classify")
    src.add_argument("--input", metavar="FILE", help="a file of texts, one per line ('-' for standard input)")
    src.add_argument(
        "--image", metavar="FILE", help="an image file, for an image classifier (lmlab train --task image)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per text with every class's probability")
    p.add_argument("--encoding-errors", choices=["strict", "replace"], default="strict")
    p.set_defaults(func=run)


def _print(results: list[dict], as_json: bool) -> None:
    for out in results:
        print(json.dumps(out, ensure_ascii=False) if as_json else f"{out['label']}\t{out['probability']:.4f}")
    sys.stdout.flush()


def run(args: argparse.Namespace) -> int:
    lines = input_lines(args.input, "--input", args.encoding_errors) if args.input is not None else None
    m = load_run_for(args.run, __name__, "a classifier (lmlab train --task classify, or --task image)")
    if m.inputs == "image":
        if args.image is None:
            raise LmlabError(f"{args.run} classifies images; give --image FILE")
        try:
            image = m.image(args.image)  # read as the run's images are, or one line naming the file
        except LmlabError as e:
            raise LmlabError(f"--image {e}") from None
        _print([{"image": str(args.image), **m.predict([image])[0]}], args.json)
        return 0
    if args.image is not None:
        raise LmlabError(f"{args.run} does not classify images; give --text TEXT or --input FILE")
    if lines is None:
        if not args.text.strip():
            raise LmlabError("--text is empty; give the text to classify")
        _print(m.predict([args.text]), args.json)
        return 0
    batch: list[str] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            raise LmlabError(f"{args.input} line {number} is empty; give one text per line")
        batch.append(line)
        if len(batch) == BATCH:
            _print(m.predict(batch), args.json)
            batch = []
    if batch:
        _print(m.predict(batch), args.json)
    return 0
