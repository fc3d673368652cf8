"""The word2vec task's own ``lmlab eval`` flags, in a module of their own: every ``lmlab eval`` adds them to its
parser (:attr:`lmlab.taskspec.Task.eval_flags`), so it imports nothing else (the task's command-line module,
:mod:`lmlab.cli.word2vec_task`, imports logging, pathlib and the shared command-line helpers)."""

from __future__ import annotations

import argparse


def add_eval_flags(p: argparse.ArgumentParser) -> None:
    """``lmlab eval RUN --analogies FILE`` / ``--similarity FILE`` for word-vector runs."""
    g = p.add_argument_group("word vectors (word2vec runs)")
    g.add_argument("--analogies", metavar="FILE", help="analogy questions in Mikolov's format (questions-words.txt)")
    g.add_argument("--similarity", metavar="FILE", help="word pairs with a human score (tab, comma or space)")
    g.add_argument(
        "--restrict-vocab",
        type=int,
        metavar="N",
        help="consider only the N most frequent words (default: 30000 for analogies, 300000 for similarity)",
    )
    g.add_argument("--analogy-method", choices=["3cosadd", "3cosmul"], default="3cosadd", help="(default: 3cosadd)")


__all__ = ["add_eval_flags"]
