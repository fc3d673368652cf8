"""``lmlab classify``: the label of a text (or of every line of a file) by a trained classifier; the label of an
image (``--image FILE``) by an image classifier."""

from __future__ import annotations

import argparse
import json
import sys

from lmlab.cli.common import input_lines
from lmlab.errors import LmlabError

BATCH = 512  # lines classified together from --input; results are printed as each batch finishes
CLASSIFYING_TASKS = ("classify", "image")  # the tasks whose runs label a text or an image


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


def _print(classifier, texts: list[str], as_json: bool) -> None:
    probs = classifier.predict_proba(texts)
    for text, p in zip(texts, probs):
        best = int(p.argmax())
        if as_json:
            out = {"text": text, "label": classifier.labels[best], "probability": float(p[best])}
            out["probabilities"] = {label: float(q) for label, q in zip(classifier.labels, p)}
            print(json.dumps(out, ensure_ascii=False))
        else:
            print(f"{classifier.labels[best]}\t{p[best]:.4f}")
    sys.stdout.flush()


def run(args: argparse.Namespace) -> int:
    from lmlab.classify.task import load_classifier
    from lmlab.runconfig import read_run_config
    from lmlab.tasks import task_of_run

    task = task_of_run(read_run_config(args.run))
    if task.name not in CLASSIFYING_TASKS:
        what = {"lm": "language-model", "translate": "translation", "word2vec": "word-vector"}.get(task.name, task.name)
        raise LmlabError(f"{args.run} is a {what} run, not a classifier (lmlab train --task classify, or --task image)")
    classify_image = task.verb("classify_image")
    if classify_image is not None:  # a task whose inputs are images
        if args.image is None:
            raise LmlabError(f"{args.run} classifies images; give --image FILE")
        return classify_image(args)
    if args.image is not None:
        raise LmlabError(f"{args.run} does not classify images; give --text TEXT or --input FILE")
    lines = input_lines(args.input, "--input", args.encoding_errors) if args.text is None else None
    classifier, _ = load_classifier(args.run)
    if lines is None:
        _print(classifier, [args.text], args.json)
        return 0
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) == BATCH:
            _print(classifier, batch, args.json)
            batch = []
    if batch:
        _print(classifier, batch, args.json)
    return 0
