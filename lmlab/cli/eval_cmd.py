"""``lmlab eval``: a trained model's metrics on a split (language models: perplexity under the shared protocol;
other tasks: their own metrics, through :mod:`lmlab.tasks`)."""

from __future__ import annotations

import argparse
import json
import sys

from lmlab.cli.common import check_input_file
from lmlab.data import data_changes, load_corpus, read_lines
from lmlab.errors import LmlabError
from lmlab.lm.evaluate import evaluate
from lmlab.lm.run import is_arpa_file, load_model
from lmlab.runconfig import read_run_config, unfinished_note
from lmlab.tasks import TASKS, task_of_run


def register(sub) -> None:
    p = sub.add_parser(
        "eval",
        help="a model's metrics on a split or a file (perplexity, accuracy, ...)",
        description="Language models: token-weighted perplexity, </s> of every line included, <s> never. "
        "Classifiers: accuracy, macro-F1, per-class precision/recall/F1 and the confusion matrix.",
    )
    p.add_argument("run", metavar="RUN", help="run directory or ARPA file")
    p.add_argument("--split", choices=["train", "valid", "test"], default="test", help="(default: test)")
    p.add_argument("--data", help="evaluate on this corpus instead of the one the run was trained on")
    p.add_argument("--text", metavar="FILE", help="evaluate on every line of this text file")
    p.add_argument("--encoding-errors", choices=["strict", "replace"], default="strict")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--confusion", metavar="FILE.png", help="classifiers: also draw the confusion matrix")
    for task in TASKS.values():  # a task's own evaluation flags (word vectors: --analogies, --similarity)
        if hasattr(module := task.cli_module(), "add_eval_flags"):
            module.add_eval_flags(p)
    p.set_defaults(func=run)


def eval_lines(args: argparse.Namespace, run_cfg: dict) -> tuple[list[str], str]:
    """The lines to evaluate and a description of where they came from."""
    if args.text:
        check_input_file(args.text, "--text")
        return read_lines(args.text, encoding_errors=args.encoding_errors), args.text
    spec = args.data or run_cfg.get("data", {}).get("spec")
    if not spec:
        raise LmlabError("this model records no corpus; pass --data DATA or --text FILE")
    errors = args.encoding_errors if args.data else run_cfg.get("data", {}).get("encoding_errors", "strict")
    corpus = load_corpus(spec, encoding_errors=errors)
    if not args.data and (changed := data_changes(run_cfg.get("data", {}), corpus)):
        print(f"lmlab: warning: {spec}: its contents changed since training ({'/'.join(changed)})", file=sys.stderr)
    return corpus.split(args.split), f"{spec}:{args.split}"


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    path = Path(args.run)
    if path.is_dir() and not is_arpa_file(path):
        return task_of_run(read_run_config(path)).cli_module().evaluate(args)
    return evaluate_lm(args)


def evaluate_lm(args: argparse.Namespace) -> int:
    model, run_cfg = load_model(args.run)
    note = unfinished_note(args.run, run_cfg)
    if note:
        print(f"lmlab: warning: {note}", file=sys.stderr)
    lines, where = eval_lines(args, run_cfg)
    r = evaluate(model, lines)
    if args.json:
        print(json.dumps({"data": where, "family": model.family, **r.to_dict()}))
    else:
        print(
            f"{where}: perplexity {r.perplexity:.2f}, cross-entropy {r.cross_entropy:.4f} nats "
            f"({r.bits_per_token:.4f} bits) per token, {r.tokens:,} tokens, {r.oov:,} OOV"
        )
    return 0
