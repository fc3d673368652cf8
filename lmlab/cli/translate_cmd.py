"""``lmlab translate``: translate source sentences, one per line, with a trained translation model.

Lines come from ``--input FILE`` or standard input; each line's translation, detokenized, is printed on standard
output in input order, a batch at a time as the batches finish (a line at a time from a terminal). ``--n-best N``
prints N lines per input, ``LINE<TAB>SCORE<TAB>TRANSLATION``. A source longer than the model's limit is cut to it,
with a warning naming its line.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Iterator

from lmlab.cli.common import SeedFlag, input_lines, load_run_for

log = logging.getLogger(__name__)

BATCH = 64  # lines translated together; their translations are printed as the batch finishes


def register(sub) -> None:
    p = sub.add_parser(
        "translate",
        help="translate sentences (one per line) with a translation model",
        description="Reads source sentences, one per line, from --input FILE or standard input, and prints each "
        "one's translation on a line of its own, in input order. Decoding defaults to the run's own settings "
        "(lmlab train --task translate --beam ... --length-penalty ...).",
    )
    p.add_argument("run", metavar="RUN", help="run directory of a translation model (lmlab train --task translate)")
    p.add_argument("--input", metavar="FILE", help="a file of source sentences, one per line (default or '-': stdin)")
    # the ranges of these flags are checked by DecodeConfig (lmlab.translate.decode), which names them
    p.add_argument("--beam", type=int, help="beam size, 1 to 100; 1 is greedy decoding (default: the run's, 5)")
    p.add_argument(
        "--length-penalty", type=float, metavar="ALPHA", help="Wu et al.'s alpha, 0 to 10 (default: the run's)"
    )
    p.add_argument(
        "--max-len-a", type=float, metavar="A", help="longest translation: A * source tokens + B (A: 0 to 100)"
    )
    p.add_argument("--max-len-b", type=int, metavar="B", help="(0 to 100,000)")
    p.add_argument(
        "--n-best", type=int, default=1, help="print N hypotheses per line, 1 to 100: LINE<TAB>SCORE<TAB>TEXT"
    )
    p.add_argument("--sample", action="store_true", help="sample each token instead of searching")
    p.add_argument("--temperature", type=float, default=1.0, help="--sample: temperature, 0.001 to 1000 (default: 1)")
    p.add_argument("--top-k", type=int, help="--sample: draw among the k most likely tokens (1 to 1,000,000)")
    p.add_argument("--top-p", type=float, help="--sample: draw among the most likely tokens of mass p (0 < p <= 1)")
    p.add_argument("--seed", action=SeedFlag, help="--sample: the same draws every time (0 to 2**63 - 1)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N, mps or auto (default: cpu)")
    p.add_argument("--encoding-errors", choices=["strict", "replace"], default="strict")
    p.set_defaults(func=run)


def _batches(lines: Iterator[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def load_translation_run(run: str):
    """``lmlab.load(run)`` for a translation run; a run of another task is one line, not loaded."""
    return load_run_for(run, __name__, "a translation model (lmlab train --task translate)")


def run(args: argparse.Namespace) -> int:
    lines = input_lines(args.input, "--input", args.encoding_errors)  # a bad --input is said before loading
    m = load_translation_run(args.run)
    cfg = m.decoding(
        beam=args.beam,
        length_penalty=args.length_penalty,
        max_len_a=args.max_len_a,
        max_len_b=args.max_len_b,
        n_best=args.n_best,
        sample=args.sample,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        seed=args.seed,
    )
    m.to(args.device)
    from_terminal = args.input in (None, "-") and sys.stdin.isatty()
    limit = m.translator.cfg.max_len
    first = 1
    for batch in _batches(lines, 1 if from_terminal else BATCH):
        results = m.predict(batch, decoding=cfg)
        out = []
        for k, r in enumerate(results):
            if r["truncated"]:
                log.warning("line %d: %d source tokens, more than the model's limit of %d; cut to it", first + k,
                            r["source_length"], limit)  # fmt: skip
            if args.n_best == 1:
                out.append(r["translation"])
            else:
                out.extend(f"{first + k}\t{_score(h['score']):.4f}\t{h['translation']}" for h in r["nbest"])
        print("\n".join(out), flush=True)
        first += len(batch)
    return 0


def _score(score: float | None) -> float:
    """A hypothesis's score as the search gave it (the API writes a score of probability 0, -inf, as None)."""
    return -math.inf if score is None else score
