"""``lmlab tag``: the tags of a sentence (or of every line of a file) by a trained tagger.

The words are the text split at whitespace: give the sentence tokenized as the training data was (``The old man
the boat .``, the full stop a word of its own).
"""

from __future__ import annotations

import argparse
import json
import sys

from lmlab.cli.common import input_lines, load_run_for
from lmlab.errors import LmlabError

BATCH = 256  # lines tagged together from --input; results are printed as each batch finishes


def register(sub) -> None:
    p = sub.add_parser(
        "tag",
        help="tag the words of a sentence, or of every line of a file, with a trained tagger",
        description="Prints word/TAG for every word (words are split at whitespace); --json prints one object per "
        "sentence with its words and tags; --input FILE tags one sentence per line.",
    )
    p.add_argument("run", metavar="RUN", help="run directory of a tagger (lmlab train --task tag)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", help="the sentence to tag, its words separated by spaces")
    src.add_argument("--input", metavar="FILE", help="a file of sentences, one per line ('-' for standard input)")
    p.add_argument("--json", action="store_true", help='one JSON object per sentence: {"words": [...], "tags": [...]}')
    p.add_argument("--encoding-errors", choices=["strict", "replace"], default="strict")
    p.set_defaults(func=run)


def _print(m, sentences: list[list[str]], as_json: bool) -> None:
    """Each sentence's words and tags; an empty line stays an empty line (no words, no tags)."""
    tagged = [r["tags"] for r in m.predict([s for s in sentences if s])]
    results = iter(tagged)
    for words in sentences:
        tags = next(results) if words else []
        if as_json:
            print(json.dumps({"words": words, "tags": tags}, ensure_ascii=False))
        else:
            print(" ".join(f"{w}/{t}" for w, t in zip(words, tags)))
    sys.stdout.flush()


def load_tagger_run(run: str):
    """``lmlab.load(run)`` for a tagging run; a run of another task is one line, not loaded."""
    return load_run_for(run, __name__, "a tagger (lmlab train --task tag)")


def run(args: argparse.Namespace) -> int:
    if args.text is not None and not args.text.split():
        raise LmlabError("--text is empty; give the words to tag, e.g. --text 'The old man the boat .'")
    lines = input_lines(args.input, "--input", args.encoding_errors) if args.text is None else None
    m = load_tagger_run(args.run)
    if lines is None:
        _print(m, [args.text.split()], args.json)
        return 0
    batch: list[list[str]] = []
    for line in lines:
        batch.append(line.split())
        if len(batch) == BATCH:
            _print(m, batch, args.json)
            batch = []
    if batch:
        _print(m, batch, args.json)
    return 0
