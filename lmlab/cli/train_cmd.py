"""``lmlab train``: train one model family on a corpus and write a run directory."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lmlab.cli.common import add_data_flags, add_tokenizer_flags, build_tokenizer, read_corpus
from lmlab.cli.config_args import add_config_flags, build_config, read_toml
from lmlab.evaluate import evaluate
from lmlab.models import FAMILIES, get_family
from lmlab.train_options import TrainOptions


def _family_from_argv(argv: list[str]) -> str | None:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--model")
    known, _ = pre.parse_known_args(argv[1:] if argv and argv[0] == "train" else [])
    return known.model


def register(sub, argv: list[str]) -> None:
    p = sub.add_parser(
        "train",
        help="train a model and write a run directory",
        description="Train a model family on a corpus. Add --model NAME --help to see that family's hyperparameters.",
    )
    p.add_argument("--model", required=True, metavar="FAMILY", help=f"one of: {', '.join(FAMILIES)}")
    p.add_argument("--out", required=True, metavar="RUN", help="run directory to write")
    p.add_argument("--config", metavar="FILE.toml", help="hyperparameters from a TOML file (flags override it)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    add_data_flags(p, required=True)
    add_tokenizer_flags(p)
    name = _family_from_argv(argv)
    if name in FAMILIES:
        family = FAMILIES[name]
        add_config_flags(p, family.config_class(), f"{name} hyperparameters")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    family = get_family(args.model)
    file_values = read_toml(args.config) if args.config else None
    cfg = build_config(family.config_class(), args, file_values=file_values, source=f"--config {args.config}")
    corpus = read_corpus(args)
    tokenizer = build_tokenizer(args, corpus.train)
    opts = TrainOptions(
        seed=args.seed,
        command=args.command_line,
        data_info={"spec": str(args.data), "source": corpus.source, "encoding_errors": args.encoding_errors},
    )
    t0 = time.perf_counter()
    model = family.trainer_fn()(cfg, corpus, tokenizer, opts, Path(args.out))
    seconds = time.perf_counter() - t0
    print(
        f"trained {family.name} ({model.num_parameters():,} parameters, vocabulary {tokenizer.vocab_size:,}) "
        f"in {seconds:.2f} s -> {args.out}"
    )
    if model.normalized and corpus.valid:
        r = evaluate(model, corpus.valid)
        print(f"valid perplexity {r.perplexity:.2f} ({r.tokens:,} tokens, {r.oov:,} OOV)")
    return 0
