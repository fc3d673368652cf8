"""The classification task's command-line parts: ``lmlab train --task classify``, ``eval``, ``attention``.

``lmlab train --task classify --model MODEL --data DATA --out RUN`` reads a labelled dataset (see
:mod:`lmlab.classify.data`), builds a word tokenizer on the training texts, and trains the family; ``--folds K``
trains K cross-validation folds into ``RUN/fold-1`` ... and writes their mean and standard deviation to
``RUN/cv.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from lmlab.cli.common import add_data_flags, add_tokenizer_flags, build_tokenizer
from lmlab.cli.config_args import add_config_flags, build_config, read_toml
from lmlab.errors import LmlabError

log = logging.getLogger(__name__)

CV_FORMAT = "lmlab-cross-validation"


def _is_cross_validation(path: Path) -> bool:
    """A folder an earlier ``--folds`` run wrote (its cv.json says so, or it holds only fold-N runs so far)."""
    from lmlab.rundir import is_lmlab_run, says_format

    if says_format(path / "cv.json", CV_FORMAT):
        return True

    entries = list(path.iterdir())
    return bool(entries) and all(e.name.startswith("fold-") and is_lmlab_run(e) for e in entries)


def add_train_flags(p: argparse.ArgumentParser, name: str | None, resuming: bool) -> None:
    from lmlab.classify.models import CLASSIFIERS

    add_data_flags(p, required=not resuming)
    g = p.add_argument_group("classification data")
    g.add_argument("--text-column", help="CSV (or TSV with a header): the column of the texts (default: text)")
    g.add_argument("--label-column", help="CSV (or TSV with a header): the column of the labels (default: label)")
    g.add_argument(
        "--folds",
        type=int,
        metavar="K",
        help="K-fold cross-validation over all examples (RUN/fold-1 ... RUN/fold-K, mean and std in RUN/cv.json)",
    )
    g.add_argument(
        "--embeddings",
        metavar="FILE",
        help="pretrained word vectors (word2vec text or binary format) for --embedding-mode static, non-static "
        "or multichannel",
    )
    add_tokenizer_flags(p)
    if name in CLASSIFIERS:
        entry = CLASSIFIERS[name]
        flags_of = entry.train_config_class()
        add_config_flags(p, flags_of, f"{name} hyperparameters", exclude=entry.data_fields + entry.shared_fields)


def _load_data(spec: str, args: argparse.Namespace, saved: dict[str, Any] | None = None):
    from lmlab.classify.data import load_classification_data

    saved = saved or {}
    return load_classification_data(
        spec,
        text_column=getattr(args, "text_column", None) or saved.get("text_column"),
        label_column=getattr(args, "label_column", None) or saved.get("label_column"),
        encoding_errors=saved.get("encoding_errors", getattr(args, "encoding_errors", "strict")),
        seed=int(saved.get("split_seed", getattr(args, "seed", 0))),
    )


def _data_info(args: argparse.Namespace, data) -> dict[str, Any]:
    from lmlab.data.fingerprint import data_spec

    return {
        "spec": data_spec(args.data),  # a path made absolute: the run evaluates the same file from any folder
        "source": data.source,
        "encoding_errors": args.encoding_errors,
        "text_column": args.text_column,
        "label_column": args.label_column,
        "split_seed": args.seed,
        "sizes": {"train": len(data.train), "valid": len(data.valid), "test": len(data.test)},
        "notes": list(data.notes),
        # the examples as read: an edited file shows up as a warning when the run is evaluated on it later
        "sha256": {name: _split_sha256(split) for name, split in _splits(data)},
    }


def _split_sha256(split) -> str:
    from lmlab.data.fingerprint import labeled_sha256

    return labeled_sha256(split.texts, split.labels)


def _splits(data) -> list[tuple[str, Any]]:
    return [("train", data.train), ("valid", data.valid), ("test", data.test)]


def train(args: argparse.Namespace) -> int:
    from lmlab.classify.data import unseen_labels
    from lmlab.classify.models import get_classifier
    from lmlab.tokenizers import load_tokenizer
    from lmlab.train_options import TrainOptions

    if args.resume:
        from lmlab.cli.common import resume_inputs

        run_dir, info = resume_inputs(args)
        entry = get_classifier(info.get("family", ""))
        saved_data = info.get("data", {})
        data = _load_data(saved_data.get("spec", ""), args, saved_data)
        tokenizer = load_tokenizer(run_dir / "tokenizer.json")
        cfg = build_config(
            entry.train_config_class(), args, preset=info.get("config", {}), source=f"checkpoint of {run_dir}"
        )
        opts = TrainOptions(seed=args.seed, command=args.command_line, data_info=saved_data, resume=True)
        return _train_one(entry, cfg, data, tokenizer, opts, run_dir, embeddings=None)

    entry = get_classifier(args.model)
    if args.folds is not None and args.folds < 2:
        raise LmlabError(f"--folds must be at least 2, got {args.folds}")
    if args.embeddings and not Path(args.embeddings).is_file():
        raise LmlabError(f"--embeddings {args.embeddings}: no such file")
    data = _load_data(args.data, args)
    out = Path(args.out)
    if args.folds is None:
        for label, n in unseen_labels(data).items():
            log.warning("label %r occurs %d times in valid/test but never in training: always counted wrong", label, n)
        cfg, tokenizer, embeddings = _build(entry, args, data)
        opts = TrainOptions(seed=args.seed, command=args.command_line, data_info=_data_info(args, data))
        return _train_one(entry, cfg, data, tokenizer, opts, out, embeddings=embeddings)
    return _cross_validate(entry, args, data, out)


def _build(entry, args: argparse.Namespace, data):
    """The tokenizer (on the training texts), the configuration and the pretrained embedding rows."""
    tokenizer = build_tokenizer(args, data.train.texts)
    preset = dict(entry.recipe)
    if args.preset:
        from lmlab.classify.task import classify_preset

        preset.update(classify_preset(entry.name, args.preset))
    file_values = read_toml(args.config) if args.config else None
    fixed = entry.data_values(tokenizer.vocab_size, len(data.labels))
    fixed.update({name: getattr(args, name) for name in entry.shared_fields})
    cfg = build_config(
        entry.train_config_class(),
        args,
        file_values=file_values,
        preset=preset,
        source=f"--config {args.config}",
        fixed=fixed,
    )
    embeddings = None
    if args.embeddings:
        from lmlab.classify.task import embedding_rows

        embeddings = embedding_rows(args.embeddings, tokenizer, getattr(cfg, "d_embed", None))
    return cfg, tokenizer, embeddings


def _train_one(entry, cfg, data, tokenizer, opts, out: Path, *, embeddings, shown: Path | None = None) -> int:
    t0 = time.perf_counter()
    result = entry.trainer_fn()(cfg, data, tokenizer, opts, out, embeddings=embeddings)
    seconds = time.perf_counter() - t0
    valid = ""
    if len(data.valid.texts):
        from lmlab.classify.task import evaluate_classifier_run

        r = evaluate_classifier_run(out, data.valid, classifier=result)
        valid = f"; valid accuracy {r['accuracy']:.2%}"
    print(
        f"trained {entry.name} ({result.num_parameters():,} parameters, {len(data.labels)} classes, "
        f"{len(data.train):,} training examples) in {seconds:.2f} s{valid} -> {shown or out}"
    )
    return 0


def _cross_validate(entry, args: argparse.Namespace, data, out: Path) -> int:
    from lmlab.classify.data import fold_datasets
    from lmlab.io import write_json
    from lmlab.train_options import TrainOptions

    total = len(data.train) + len(data.valid) + len(data.test)
    if args.folds > total:
        raise LmlabError(f"--folds {args.folds} is more than the {total:,} examples")
    from lmlab.rundir import replace_group

    # the lock is held for all the folds, which are built beside the old folder and swapped in with cv.json
    with replace_group(out, _is_cross_validation, "an lmlab cross-validation", args.command_line) as build:
        folds = fold_datasets(data, args.folds, seed=args.seed)
        results = []
        for i, fold in enumerate(folds, start=1):
            cfg, tokenizer, embeddings = _build(entry, args, fold)
            info = {**_data_info(args, fold), "fold": i, "folds": args.folds}
            opts = TrainOptions(seed=args.seed, command=args.command_line, data_info=info)
            fold_dir = build / f"fold-{i}"
            _train_one(entry, cfg, fold, tokenizer, opts, fold_dir, embeddings=embeddings, shown=out / fold_dir.name)
            from lmlab.classify.task import evaluate_classifier_run

            r = evaluate_classifier_run(fold_dir, fold.test)
            print(f"fold {i}/{args.folds}: test accuracy {r['accuracy']:.2%}, macro-F1 {r['macro_f1']:.4f}")
            results.append({"fold": i, "accuracy": r["accuracy"], "macro_f1": r["macro_f1"], "examples": r["examples"]})
        summary = {
            "format": CV_FORMAT,
            "version": 1,
            "folds": args.folds,
            "model": entry.name,
            "data": _data_info(args, data)["spec"],
            "per_fold": results,
        }
        for key in ("accuracy", "macro_f1"):
            values = [r[key] for r in results]
            summary[key] = {"mean": statistics.fmean(values), "std": statistics.stdev(values)}
        write_json(build / "cv.json", summary)
    acc = summary["accuracy"]
    print(f"{args.folds}-fold cross-validation: accuracy {acc['mean']:.2%} +- {acc['std']:.2%} -> {out / 'cv.json'}")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    from lmlab.classify.task import evaluate_classifier_run, load_classifier

    classifier, run_cfg = load_classifier(args.run)
    if args.text:
        from lmlab.classify.data import read_labeled_file

        split = read_labeled_file(args.text, encoding_errors=args.encoding_errors)
        where = args.text
    else:
        saved = run_cfg.get("data", {})
        spec = args.data or saved.get("spec")
        if not spec:
            raise LmlabError("this run records no dataset; pass --data DATA or --text FILE")
        data = _load_data(spec, args, saved if not args.data else None)
        split, where = data.split(args.split), f"{spec}:{args.split}"
        recorded = saved.get("sha256") if not args.data else None
        if isinstance(recorded, dict) and recorded.get(args.split) not in (None, _split_sha256(split)):
            print(f"lmlab: warning: {spec}: its {args.split} examples changed since training", file=sys.stderr)
    r = evaluate_classifier_run(args.run, split, classifier=classifier, confusion=args.confusion)
    if args.json:
        print(json.dumps({"data": where, "family": run_cfg.get("family"), **r}))
    else:
        print(
            f"{where}: accuracy {r['accuracy']:.2%}, macro-F1 {r['macro_f1']:.4f}, {r['examples']:,} examples"
            + (f", {r['unseen_label_examples']:,} with labels unseen in training" if r["unseen_label_examples"] else "")
        )
        for label, m in r["per_class"].items():
            print(
                f"  {label}: precision {m['precision']:.3f}, recall {m['recall']:.3f}, F1 {m['f1']:.3f} "
                f"({m['support']:,} examples)"
            )
    return 0


def attention(run, args: argparse.Namespace) -> int:
    """``lmlab attention RUN --text T --out FILE``: the attention weights of ``run.explain(text)``, the words
    shaded per hop (PNG or HTML)."""
    import numpy as np

    from lmlab.classify.visualize import draw_word_attention

    out = Path(args.out)
    if out.suffix.lower() not in (".png", ".html", ".htm"):
        raise LmlabError(f"--out must end in .png or .html, got {args.out!r}")
    view = run.explain(args.text)
    if view["method"] != "attention":
        raise LmlabError(f"{args.run}: this classifier has no attention weights; train --model attention")
    words, hops = view["tokens"], np.asarray(view["hops"], dtype=np.float64)
    label, p = view["label"], view["probability"]
    draw_word_attention(words, hops, out, title=f"{label} ({p:.1%})")
    cut = f" of {view['num_tokens']}" if view["truncated"] else ""
    print(f"wrote {out} ({len(words)}{cut} words, {hops.shape[0]} hop(s)); predicted {label} ({p:.1%})")
    return 0


__all__ = ["add_train_flags", "attention", "evaluate", "train"]
