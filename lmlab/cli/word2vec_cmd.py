"""``lmlab similar`` and ``lmlab analogy``: nearest words and analogies of word vectors (a word2vec run, or a
word2vec text or binary file)."""

from __future__ import annotations

import argparse
import json

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
    from lmlab.word2vec.vectors import WordVectors

    if args.top < 1:
        raise LmlabError(f"--top must be >= 1, got {args.top}")
    if args.restrict_vocab is not None and args.restrict_vocab < 1:
        raise LmlabError(f"--restrict-vocab must be >= 1, got {args.restrict_vocab}")
    return WordVectors.load(args.run)


def _show(pairs: list[tuple[str, float]], as_json: bool, query: dict) -> None:
    if as_json:
        print(json.dumps({**query, "results": [{"word": w, "score": s} for w, s in pairs]}))
    else:
        for word, score in pairs:
            print(f"{word}\t{score:.4f}")


def similar(args: argparse.Namespace) -> int:
    wv = _load(args)
    pairs = wv.most_similar([args.word], topn=args.top, restrict_vocab=args.restrict_vocab)
    _show(pairs, args.json, {"word": args.word})
    return 0


def analogy(args: argparse.Namespace) -> int:
    wv = _load(args)
    # A - B + C is "B is to A as C is to ?"
    pairs = wv.analogy(args.b, args.a, args.c, method=args.method, topn=args.top, restrict_vocab=args.restrict_vocab)
    _show(pairs, args.json, {"positive": [args.a, args.c], "negative": [args.b], "method": args.method})
    return 0
