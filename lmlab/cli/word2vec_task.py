"""The word2vec task's command-line parts: ``lmlab train --task word2vec``, ``eval``, ``export``, ``plot --words``.

``lmlab train --task word2vec --model skipgram|cbow --data DATA --out RUN`` counts the corpus, trains with gensim's
defaults unless flags say otherwise, and writes the run (see :mod:`lmlab.word2vec.runs`). word2vec keeps its own
multi-threaded trainer rather than the engine, so ``--resume``, ``--preset`` and the engine's flags do not apply.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from lmlab.cli.common import check_seed
from lmlab.errors import LmlabError

log = logging.getLogger(__name__)


def add_train_flags(p: argparse.ArgumentParser, name: str | None, resuming: bool) -> None:
    from lmlab.cli.config_args import add_config_flags  # here: lmlab eval registers only add_eval_flags
    from lmlab.word2vec.config import Word2VecConfig

    g = p.add_argument_group("data")
    g.add_argument(
        "--data",
        required=not resuming,
        metavar="DATA",
        help="a named corpus (`lmlab data list`; its train split), a folder (its train.txt), or a text file (all "
        "of it: word2vec holds nothing out); read in chunks, never whole",
    )
    g.add_argument(
        "--encoding-errors",
        choices=["strict", "replace"],
        default="strict",
        help="what to do with bytes that are not UTF-8 (default: strict, stop with the file and offset)",
    )
    p.add_argument(
        "--tokenizer",
        default="word",
        choices=["word"],
        help="word2vec reads whitespace-separated words, a line a sentence (the only choice)",
    )
    add_config_flags(p, Word2VecConfig, f"{name or 'word2vec'} hyperparameters (gensim's defaults)")


def train(args: argparse.Namespace) -> int:
    from lmlab.cli.config_args import build_config, read_toml
    from lmlab.train_options import TrainOptions
    from lmlab.word2vec.config import Word2VecConfig, get_family
    from lmlab.word2vec.runs import train_word2vec

    if args.resume:
        raise LmlabError("word2vec trains in one go and keeps no checkpoints: --resume does not apply; train again")
    if args.preset:
        raise LmlabError("--preset is for language models; word2vec starts from gensim's defaults (see --help)")
    family = get_family(args.model)
    check_seed(args.seed)
    file_values = read_toml(args.config) if args.config else None
    cfg = build_config(Word2VecConfig, args, file_values=file_values, source=f"--config {args.config}")
    opts = TrainOptions(seed=args.seed, command=args.command_line)
    run = train_word2vec(cfg, family.name, args.data, opts, args.out, encoding_errors=args.encoding_errors)
    s = run.stats
    print(
        f"trained {family.name} ({len(run.vocab):,} words x {cfg.dim} dimensions) on {s['train_words']:,} corpus "
        f"words in {s['train_seconds']:.1f} s ({s['words_per_s']:,.0f} words/s); final loss "
        f"{s['final_train_loss']:.4f} per prediction -> {args.out}"
    )
    return 0


def evaluate(args: argparse.Namespace) -> int:
    from lmlab.word2vec.runs import load_run
    from lmlab.word2vec.vectors import ANALOGY_RESTRICT, SIMILARITY_RESTRICT

    if not (args.analogies or args.similarity):
        raise LmlabError("a word2vec run is evaluated on a test set: pass --analogies FILE and/or --similarity FILE")
    if getattr(args, "data", None) or getattr(args, "text", None):
        raise LmlabError("--data and --text are for language models and classifiers; use --analogies or --similarity")
    if args.restrict_vocab is not None and args.restrict_vocab < 1:
        raise LmlabError(f"--restrict-vocab must be >= 1, got {args.restrict_vocab}")
    run = load_run(args.run)
    wv = run.vectors
    out = {}
    if args.analogies:
        out["analogies"] = wv.evaluate_analogies(
            args.analogies, restrict_vocab=args.restrict_vocab or ANALOGY_RESTRICT, method=args.analogy_method
        )
    if args.similarity:
        out["similarity"] = wv.evaluate_similarity(
            args.similarity, restrict_vocab=args.restrict_vocab or SIMILARITY_RESTRICT
        )
    if args.json:
        body = out if len(out) == 2 else next(iter(out.values()))  # both: {"analogies": ..., "similarity": ...}
        print(json.dumps({"family": run.family, **body}))
        return 0
    if "analogies" in out:
        r = out["analogies"]
        print(
            f"{args.analogies}: accuracy {r['accuracy']:.2%} ({r['correct']:,} of {r['total']:,} questions, "
            f"{r['method']}; {r['oov_questions']:,} more with a word outside the first {r['restrict_vocab']:,})"
        )
        for s in r["sections"]:
            acc = "-" if s["accuracy"] is None else f"{s['accuracy']:.2%}"
            print(f"  {s['section'] or '(no section)'}: {acc} ({s['correct']:,} of {s['total']:,})")
    if "similarity" in out:
        r = out["similarity"]
        print(
            f"{args.similarity}: Spearman {r['spearman']:.4f}, Pearson {r['pearson']:.4f} over {r['pairs']:,} pairs "
            f"({r['oov_pairs']:,} pairs with an unknown word left out)"
        )
    return 0


def export(args: argparse.Namespace) -> int:
    """``lmlab export RUN --format word2vec --out FILE [--binary]``."""
    from lmlab.word2vec.runs import load_run

    if args.format != "word2vec":
        raise LmlabError(f"a word2vec run exports as --format word2vec, not {args.format}")
    run = load_run(args.run)
    run.vectors.save_word2vec(args.out, binary=args.binary)
    print(f"wrote {args.out} ({len(run.vocab):,} vectors of {run.config.dim}, {'binary' if args.binary else 'text'})")
    return 0


def plot_words(args: argparse.Namespace) -> int:
    """``lmlab plot RUN --words king,queen,... [--out space.png]``: the words' vectors projected by PCA."""
    from lmlab.word2vec.plot import plot_words as draw
    from lmlab.word2vec.runs import load_run

    words = [w.strip() for w in args.words.split(",") if w.strip()]
    wv = load_run(args.run).vectors
    out = Path(args.out) if args.out else Path(args.run) / "space.png"
    if out.suffix.lower() != ".png":
        raise LmlabError(f"--out must end in .png, got {str(out)!r}")
    shown, missing = draw(wv, words, out)
    if missing:
        print(f"lmlab: warning: not in the vocabulary, left out: {', '.join(missing)}", file=sys.stderr)
    print(f"wrote {out} ({len(shown)} words)")
    return 0


__all__ = ["add_train_flags", "evaluate", "export", "plot_words", "train"]
