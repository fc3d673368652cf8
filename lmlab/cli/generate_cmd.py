"""``lmlab generate``: sample text from any trained model, streamed as it is produced."""

from __future__ import annotations

import argparse
import sys

from lmlab.cli.common import SeedFlag, int_flag, load_run_for, number_flag
from lmlab.errors import LmlabError

#: Bounds of the flags, far beyond any useful value: a sample is streamed, but each token decodes the sample so
#: far again, so a very long one grows slower and slower; a temperature under 0.001 overflows log p / T
MAX_TOKENS = 100_000
MAX_SAMPLES = 10_000
MAX_TOP_K = 1_000_000  # a cut larger than the vocabulary keeps every token


def register(sub) -> None:
    p = sub.add_parser("generate", help="sample text from a model")
    p.add_argument("run", metavar="RUN", help="run directory or ARPA file")
    p.add_argument("--prompt", default="", help="text the samples continue (the start of a line)")
    p.add_argument(
        "--max-tokens",
        action=int_flag(1, MAX_TOKENS),
        default=100,
        help=f"longest sample in tokens, 1 to {MAX_TOKENS:,} (default: 100)",
    )
    p.add_argument(
        "--num-samples", action=int_flag(1, MAX_SAMPLES), default=1, help=f"1 to {MAX_SAMPLES:,} (default: 1)"
    )
    p.add_argument(
        "--seed", action=SeedFlag, default=None, help="random seed, for reproducible samples (0 to 2**63 - 1)"
    )
    p.add_argument("--temperature", action=number_flag(1e-3, 1e3), default=1.0, help="0.001 to 1000 (default: 1.0)")
    p.add_argument("--top-k", action=int_flag(1, MAX_TOP_K), default=None, help="sample among the k most likely tokens")
    p.add_argument(
        "--top-p",
        action=number_flag(0, 1, above=True),
        default=None,
        help="nucleus sampling: smallest set with mass >= p (0 < p <= 1)",
    )
    p.add_argument("--greedy", action="store_true", help="always take the most likely token")
    p.add_argument(
        "--condition",
        metavar="LABEL",
        help="the label to generate for, with a model trained on a labelled corpus (e.g. --condition Russian)",
    )
    p.set_defaults(func=run)


def load_language_model(run: str):
    """``lmlab.load(run)`` for a language model; a run of another task is one line, not loaded."""
    return load_run_for(run, __name__, "a language model (lmlab generate samples text from one)")


def run(args: argparse.Namespace) -> int:
    m = load_language_model(args.run)
    if m.labels and args.condition is None:
        raise LmlabError(f"{args.run} is conditioned on a label: give --condition one of: {', '.join(m.labels)}")
    tok = m.tokenizer
    prompt = tok.encode(args.prompt) if args.prompt else []
    if args.prompt:
        n_unk = sum(1 for i in prompt if i == tok.unk_id)
        if n_unk:
            print(
                f"lmlab: note: {n_unk} prompt token(s) are not in the vocabulary and are read as <unk>", file=sys.stderr
            )
        limit = m.model.context_limit
        if limit is not None and len(prompt) > limit:
            print(
                f"lmlab: note: the prompt ({len(prompt)} tokens) is longer than the model's context ({limit} "
                f"tokens); it reads the last {limit}",
                file=sys.stderr,
            )
    options = {"max_tokens": args.max_tokens, "temperature": args.temperature, "top_k": args.top_k}
    options |= {"top_p": args.top_p, "greedy": args.greedy, "condition": args.condition}
    import numpy as np

    rng = np.random.default_rng(args.seed)  # the samples are drawn one after another from one generator
    out = sys.stdout
    for _ in range(args.num_samples):
        steps = m.generate(args.prompt, rng=rng, **options)
        out.write(tok.decode(prompt))
        for step in steps:
            out.write(step["text"])
            out.flush()
        out.write("\n")
        out.flush()
    return 0
