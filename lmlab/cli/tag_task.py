"""The sequence-labelling task's command-line parts: ``lmlab train --task tag`` and ``lmlab eval`` of a tagger.

``lmlab train --task tag --model MODEL --data DATA --out RUN`` reads tagged sentences (see :mod:`lmlab.tag.data`),
builds the vocabulary of the training words, and counts (``hmm``) or trains the family. ``lmlab eval RUN`` scores
the run on a split of its data, or on any other file with ``--data FILE`` (all of its sentences).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from lmlab.cli.config_args import add_config_flags, build_config, read_toml
from lmlab.errors import LmlabError


def add_train_flags(p: argparse.ArgumentParser, name: str | None, resuming: bool) -> None:
    from lmlab.tag.models import TAGGERS

    g = p.add_argument_group("tagging data")
    g.add_argument(
        "--data",
        required=not resuming,
        metavar="DATA",
        help="a named dataset (ud-english-gum), a folder with train/valid (or dev)/test files, or one file split "
        "80/10/10 by sentences; CoNLL-U (.conllu) or word<TAB>tag column files",
    )
    g.add_argument(
        "--column",
        choices=["upos", "xpos"],
        default="upos",
        help="CoNLL-U: the tag column, UD's universal tags or the treebank's own (default: upos)",
    )
    g.add_argument(
        "--encoding-errors",
        choices=["strict", "replace"],
        default="strict",
        help="what to do with bytes that are not UTF-8 (default: strict, stop with the file and line)",
    )
    # `lmlab compare` gives every task's runs a --tokenizer: a tagger reads the words as given
    g.add_argument("--tokenizer", default="none", help=argparse.SUPPRESS)
    if name in TAGGERS:
        entry = TAGGERS[name]
        add_config_flags(p, entry.train_config_class(), f"{name} hyperparameters", exclude=entry.data_fields)


def load_data(spec: str, args: argparse.Namespace, saved: dict[str, Any] | None = None):
    from lmlab.tag.data import load_tagging_data

    saved = saved or {}
    return load_tagging_data(
        spec,
        column=saved.get("column", getattr(args, "column", "upos")),
        encoding_errors=saved.get("encoding_errors", getattr(args, "encoding_errors", "strict")),
        seed=int(saved.get("split_seed", getattr(args, "seed", 0))),
    )


def split_sha256(sentences) -> str:
    """The sentences as a column file's lines, hashed: an edited file shows up as a warning at evaluation."""
    from lmlab.data.fingerprint import split_sha256 as lines_sha256

    return lines_sha256(sentences.as_lines())


def data_info(args: argparse.Namespace, data) -> dict[str, Any]:
    from lmlab.data.fingerprint import data_spec

    return {
        "spec": data_spec(args.data),  # a path made absolute: the run evaluates the same file from any folder
        "source": data.source,
        "column": args.column,
        "encoding_errors": args.encoding_errors,
        "split_seed": args.seed,
        "sizes": {name: len(data.split(name)) for name in ("train", "valid", "test")},
        "words": {name: data.split(name).tokens for name in ("train", "valid", "test")},
        "notes": list(data.notes),
        "sha256": {name: split_sha256(data.split(name)) for name in ("train", "valid", "test")},
    }


def _warn(message: str) -> None:
    print(f"lmlab: warning: {message}", file=sys.stderr)


def train(args: argparse.Namespace) -> int:
    from lmlab.cli.common import check_seed
    from lmlab.tag.metrics import ill_formed_starts
    from lmlab.tag.models import get_tagger
    from lmlab.tag.vocab import Vocabulary
    from lmlab.train_options import TrainOptions

    if args.tokenizer != "none":
        raise LmlabError(f"--tokenizer: a tagger reads the words as given and has no tokenizer, got {args.tokenizer!r}")
    if args.preset:
        raise LmlabError("--preset is for language models; a tagger starts from its family's recipe")
    if args.resume:
        from lmlab.cli.common import resume_inputs

        run_dir, info = resume_inputs(args)
        entry = get_tagger(info.get("family", ""))
        saved = _saved_data(info, f"checkpoint of {run_dir}")
        if not isinstance(saved.get("spec"), str):
            raise LmlabError(f"--resume {run_dir}: the checkpoint records no data")
        data = load_data(saved["spec"], args, saved)
        vocab = Vocabulary.build(data.train.words)
        cfg = build_config(
            entry.train_config_class(), args, preset=info.get("config", {}), source=f"checkpoint of {run_dir}"
        )
        opts = TrainOptions(seed=args.seed, command=args.command_line, data_info=saved, resume=True)
        return _train_one(entry, cfg, data, vocab, opts, run_dir)

    check_seed(args.seed)
    entry = get_tagger(args.model)
    data = load_data(args.data, args)
    for note in data.notes:
        if "never seen in training" in note:
            _warn(note)
    if data.scheme == "bio":
        bad = sum(len(ill_formed_starts(s)) for s in data.train.tags)
        if bad:
            _warn(f"{bad} span(s) of the training tags open with I- (or E-), which IOB2 does not allow")
    vocab = Vocabulary.build(data.train.words)
    file_values = read_toml(args.config) if args.config else None
    cfg = build_config(
        entry.train_config_class(),
        args,
        file_values=file_values,
        preset=entry.recipe,
        source=f"--config {args.config}",
        fixed=entry.data_values(vocab.size, vocab.char_size, len(data.tags)),
    )
    opts = TrainOptions(seed=args.seed, command=args.command_line, data_info=data_info(args, data))
    return _train_one(entry, cfg, data, vocab, opts, Path(args.out))


def _train_one(entry, cfg, data, vocab, opts, out: Path) -> int:
    from lmlab.tag.task import evaluate_tagger

    t0 = time.perf_counter()
    tagger = entry.trainer_fn()(cfg, data, vocab, opts, out)
    seconds = time.perf_counter() - t0
    r = evaluate_tagger(tagger, data.valid, data.scheme)
    span = f", span F1 {r['f1']:.4f}" if data.scheme == "bio" else ""
    print(
        f"trained {entry.name} ({tagger.num_parameters():,} parameters, {len(data.tags)} tags, "
        f"{data.train.tokens:,} training words) in {seconds:.2f} s; valid accuracy {r['accuracy']:.2%}{span} -> {out}"
    )
    return 0


def _saved_data(run_cfg: dict[str, Any], where: str) -> dict[str, Any]:
    """The run's record of its data, the fields read here type-checked (one line naming the field)."""
    from lmlab.runfiles import check_fields, expect

    saved = run_cfg.get("data", {})
    schema = {
        "data": expect(dict),
        "data.spec": expect(str, None),
        "data.column": expect(str),
        "data.encoding_errors": expect(str),
        "data.split_seed": expect(int),
        "data.sha256": expect(dict),
    }
    check_fields({"data": saved}, schema, where)
    if saved.get("column", "upos") not in ("upos", "xpos"):
        raise LmlabError(f"{where}: field 'data.column' must be 'upos' or 'xpos'")
    if not 0 <= saved.get("split_seed", 0) < 2**63:
        raise LmlabError(f"{where}: field 'data.split_seed' must be an integer from 0 to 2**63 - 1")
    return saved


def evaluate(args: argparse.Namespace) -> int:
    from lmlab.runconfig import unfinished_note
    from lmlab.tag.data import read_tagged_file
    from lmlab.tag.task import evaluate_tagger, load_tagger

    if args.confusion:
        raise LmlabError("--confusion draws a classifier's confusion matrix; a tagger's per-tag figures are in --json")
    tagger, run_cfg = load_tagger(args.run)
    note = unfinished_note(args.run, run_cfg)
    if note:
        _warn(note)
    saved = _saved_data(run_cfg, f"{args.run}/config.json")
    column = saved.get("column", "upos")
    one_file = args.text or (args.data if args.data and Path(args.data).is_file() else None)
    if one_file:
        # another file with the run's columns: all of its sentences
        sentences = read_tagged_file(one_file, column=column, encoding_errors=args.encoding_errors)
        where = str(one_file)
    else:
        spec = args.data or saved.get("spec")
        if not isinstance(spec, str) or not spec:
            raise LmlabError("this run records no dataset; pass --data DATA")
        options = {
            "column": column,
            "encoding_errors": args.encoding_errors if args.data else saved.get("encoding_errors", "strict"),
            "split_seed": saved.get("split_seed", 0),
        }
        data = load_data(spec, args, options)
        sentences, where = data.split(args.split), f"{spec}:{args.split}"
        recorded = saved.get("sha256") if not args.data else None
        if isinstance(recorded, dict) and recorded.get(args.split) not in (None, split_sha256(sentences)):
            _warn(f"{spec}: its {args.split} sentences changed since training")
    r = evaluate_tagger(tagger, sentences, run_cfg["scheme"])
    for warning in r.pop("warnings"):
        _warn(f"{where}: {warning}")
    if args.json:
        print(json.dumps({"data": where, "family": run_cfg.get("family"), **r}))
        return 0
    oov = f", unknown words {r['oov_accuracy']:.2%} of {r['oov_words']:,}" if r["oov_words"] else ""
    print(f"{where}: accuracy {r['accuracy']:.2%} ({r['words']:,} words, {r['sentences']:,} sentences){oov}")
    if r["scheme"] == "bio":
        print(
            f"  spans: precision {r['precision']:.4f}, recall {r['recall']:.4f}, F1 {r['f1']:.4f} "
            f"({r['true_spans']:,} true, {r['predicted_spans']:,} predicted)"
        )
    for tag, m in r["per_tag"].items():
        print(
            f"  {tag}: precision {m['precision']:.3f}, recall {m['recall']:.3f}, F1 {m['f1']:.3f} "
            f"({m['support']:,} words)"
        )
    return 0


def attention(run, args: argparse.Namespace) -> int:
    raise LmlabError(f"{args.run} is a tagger: it has no attention weights to draw; lmlab tag RUN --text TEXT tags it")


__all__ = ["add_train_flags", "attention", "data_info", "evaluate", "load_data", "split_sha256", "train"]
