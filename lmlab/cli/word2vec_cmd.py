"""``lmlab similar`` and ``lmlab analogy``: nearest words and analogies of word vectors (a word2vec run, or a
word2vec text or binary file)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lmlab.errors import LmlabError


def register(sub) -> None:
    p = sub.add_parser(
        "similar",
        help="the words nearest to a word (cosine of word vectors)",
        description="The words whose vectors have the largest cosine with WORD's, most similar first.",
    )
    p.add_argument("run", metavar="RUN", help="a word2vec run directory or a word2vec vectors file (text or binary)")
    p.add_argument("word", metavar="WORD")
    p.add_argument("--top", type=int, default=10, help="how many words (default: 10)")
    p.add_argument("--restrict-vocab", type=int, metavar="N", help="search only the N most frequent words")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=similar)

    p = sub.add_parser(
        "analogy",
        help="A - B + C: e.g. king man woman -> queen",
        description='The words nearest to A - B + C ("B is to A as C is to ?"), the three words left out: '
        "3CosAdd (Mikolov et al. 2013) or 3CosMul (Levy & Goldberg 2014).",
    )
    p.add_argument("run", metavar="RUN", help="a word2vec run directory or a word2vec vectors file (text or binary)")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("c", metavar="C")
    p.add_argument("--method", choices=["3cosadd", "3cosmul"], default="3cosadd", help="(default: 3cosadd)")
    p.add_argument("--top", type=int, default=5, help="how many answers (default: 5)")
    p.add_argument("--restrict-vocab", type=int, metavar="N", help="answer only with the N most frequent words")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=analogy)


def _load(args: argparse.Namespace):
    """``lmlab.load(RUN)`` for a word2vec run (its config.json and task checked first, with the word2vec loader's
    messages), or the API's reading of a word2vec vectors file."""
    from lmlab.cli.common import load_run_for

    if args.top < 1:
        raise LmlabError(f"--top must be >= 1, got {args.top}")
    if args.restrict_vocab is not None and args.restrict_vocab < 1:
        raise LmlabError(f"--restrict-vocab must be >= 1, got {args.restrict_vocab}")
    path = Path(args.run)
    if not path.is_dir():
        from lmlab.word2vec.api import Word2VecTrainedRun  # a vectors file is not a run: lmlab.load does not read it

        return Word2VecTrainedRun.from_vectors_file(path)
    return load_run_for(path, __name__, "a word2vec run (lmlab train --task word2vec) or a vectors file")


def _limits(m, args: argparse.Namespace) -> dict:
    """--top and --restrict-vocab past the vocabulary mean all of it."""
    size = len(m.vectors)
    restrict = None if args.restrict_vocab is None else min(args.restrict_vocab, size)
    return {"topn": min(args.top, size), "restrict_vocab": restrict}


def _show(pairs: list[tuple[str, float]], as_json: bool, query: dict) -> None:
    if as_json:
        print(json.dumps({**query, "results": [{"word": w, "score": s} for w, s in pairs]}))
    else:
        for word, score in pairs:
            print(f"{word}\t{score:.4f}")


def similar(args: argparse.Namespace) -> int:
    m = _load(args)
    (found,) = m.predict([args.word], **_limits(m, args))
    _show([(n["word"], n["cosine"]) for n in found["neighbours"]], args.json, {"word": args.word})
    return 0


def analogy(args: argparse.Namespace) -> int:
    m = _load(args)
    # A - B + C is "B is to A as C is to ?": the API's analogy(a, b, c) asks "a is to b as c is to ?"
    found = m.analogy(args.b, args.a, args.c, method=args.method, **_limits(m, args))
    pairs = [(x["word"], x["score"]) for x in found["answers"]]
    _show(pairs, args.json, {"positive": [args.a, args.c], "negative": [args.b], "method": args.method})
    return 0
