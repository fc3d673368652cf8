"""``lmlab compare``: every family of a task on one dataset, one table, one report."""

from __future__ import annotations

import argparse
from pathlib import Path

from lmlab.cli.common import SeedFlag, check_seed, int_flag, number_flag
from lmlab.tasks import DEFAULT_TASK, TASKS

#: Bounds of the budget flags: a week of wall time, a billion steps per family; more is a typo
MAX_BUDGET_MINUTES = 7 * 24 * 60
MAX_STEPS = 10**9


def register(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="train and evaluate several families on one dataset; write a report",
        description="Trains each listed family of the task on the same splits with the same tokenizer, evaluates "
        "each on the test split with the task's metrics (language models: perplexity under one protocol; "
        "classifiers: accuracy and macro-F1), and writes report.md, report.html, results.json and plots.",
    )
    p.add_argument(
        "--task", default=DEFAULT_TASK, choices=list(TASKS), help=f"what the families learn (default: {DEFAULT_TASK})"
    )
    p.add_argument("--data", required=True, help="a named dataset, a folder with its splits, or a file")
    p.add_argument("--models", default=None, help="comma-separated (default: every family of the task)")
    p.add_argument(
        "--tokenizer",
        default=None,
        help="char, word or bpe, for the tasks that read text (default: the task's own, e.g. char for lm, word "
        "for classify, bpe for translate)",
    )
    p.add_argument("--vocab-size", type=int, default=None, help="bpe: vocabulary size")
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--budget-minutes",
        action=number_flag(0, MAX_BUDGET_MINUTES, above=True),
        default=None,
        help="wall time for all neural families, shared equally (counting models, n-gram or nb, take seconds); "
        f"at most {MAX_BUDGET_MINUTES:,} (a week)",
    )
    g.add_argument(
        "--steps",
        action=int_flag(1, MAX_STEPS),
        default=None,
        help="train each neural family this many steps instead",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (default: auto)")
    p.add_argument("--seed", action=SeedFlag, default=0, help="0 to 2**63 - 1 (default: 0)")
    p.add_argument("--out", required=True, metavar="REPORT_DIR")
    p.add_argument("--force", action="store_true", help="replace a different comparison in REPORT_DIR")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lmlab.compare import Comparison, markdown_table, parse_models, profile_for, run_comparison
    from lmlab.errors import LmlabError

    task = TASKS[args.task]
    profile = profile_for(task.name)
    families = task.family_table()
    models = parse_models(args.models or ",".join(families), families)
    if args.tokenizer is not None and not profile.takes_tokenizer:
        raise LmlabError(f"--task {task.name} reads no text through a tokenizer; leave out --tokenizer")
    check_seed(args.seed)
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise LmlabError(f"--out {args.out} is a file; compare writes a folder (report, results, runs)")
    if args.budget_minutes is None and args.steps is None:
        args.budget_minutes = 5.0
    cmp = Comparison(
        data=str(args.data),
        models=models,
        tokenizer=args.tokenizer or profile.default_tokenizer,
        vocab_size=args.vocab_size,
        budget_minutes=args.budget_minutes,
        steps=args.steps,
        device=args.device,
        seed=args.seed,
        task=task.name,
    )
    results = run_comparison(cmp, Path(args.out), force=args.force)
    print()
    print(markdown_table(results))
    return 0
