"""The graph task's command-line parts: ``lmlab train --task graph``, ``eval``, ``attention``, ``plot --embeddings``.

``lmlab train --task graph --model MODEL --data cora --out RUN`` reads a graph (see :mod:`lmlab.graph.data`),
splits its nodes (``--split planetoid`` or ``--split random --split-seed N``) and trains the family on the whole
graph; ``--repeat N`` trains N runs into ``RUN/run-1`` ... (seeds ``--seed`` + i, and for random splits split
seeds ``--split-seed`` + i) and writes their test accuracy's mean and standard deviation to ``RUN/repeat.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from pathlib import Path
from typing import Any

from lmlab.cli.config_args import add_config_flags, build_config, read_toml
from lmlab.errors import LmlabError

log = logging.getLogger(__name__)

REPEAT_FORMAT = "lmlab-graph-repeat"


def add_train_flags(p: argparse.ArgumentParser, name: str | None, resuming: bool) -> None:
    from lmlab.graph.data import NUM_TEST, NUM_VALID, SPLITS, TRAIN_PER_CLASS
    from lmlab.graph.models import GRAPH_MODELS

    g = p.add_argument_group("graph data")
    g.add_argument(
        "--data",
        required=not resuming,
        metavar="DATA",
        help="a named graph (cora) or a folder in the LINQS format (NAME.content, NAME.cites)",
    )
    g.add_argument(
        "--split",
        choices=SPLITS,
        default="planetoid",
        help="planetoid: the public split of Yang et al. 2016, read from planetoid-split.tsv beside the graph; "
        f"random: {TRAIN_PER_CLASS} training nodes per class, {NUM_VALID} validation and {NUM_TEST} test nodes "
        "drawn with --split-seed (default: planetoid)",
    )
    g.add_argument("--split-seed", type=int, default=0, metavar="N", help="seed of a random split (default: 0)")
    g.add_argument("--train-per-class", type=int, default=TRAIN_PER_CLASS, metavar="K", help="random split")
    g.add_argument("--num-valid", type=int, default=NUM_VALID, metavar="N", help="random split")
    g.add_argument("--num-test", type=int, default=NUM_TEST, metavar="N", help="random split")
    g.add_argument(
        "--strict",
        action="store_true",
        help="refuse a .cites line naming an id with no .content line (default: drop it and report the count)",
    )
    g.add_argument(
        "--repeat",
        type=int,
        metavar="N",
        help="train N runs (seeds --seed .. --seed+N-1; random splits: split seeds --split-seed+i too) into "
        "RUN/run-1 ... and report the mean and standard deviation of their test accuracy",
    )
    # `lmlab compare` gives every task's runs a --tokenizer: a graph has none
    g.add_argument("--tokenizer", default="none", help=argparse.SUPPRESS)
    if name in GRAPH_MODELS:
        entry = GRAPH_MODELS[name]
        add_config_flags(
            p, entry.train_config_class(), f"{name} hyperparameters", exclude=(*entry.data_fields, "batch_size")
        )


def _data_info(args: argparse.Namespace, data, split) -> dict[str, Any]:
    from lmlab.data.fingerprint import data_spec

    return {
        "spec": data_spec(args.data),  # a path made absolute: the run evaluates the same graph from any folder
        "source": data.source,
        "strict": bool(args.strict),
        "split": split.kind,
        "split_seed": split.seed,
        "train_per_class": args.train_per_class,
        "num_valid": args.num_valid,
        "num_test": args.num_test,
        "sizes": split.sizes(),
        "graph_sha256": data.sha256,
        "split_sha256": split.sha256(),
        "nodes": data.num_nodes,
        "features": data.num_features,
        "edges": data.counts.to_dict(),
        "notes": list(data.notes),
    }


def _load(spec: str, *, strict: bool, kind: str, seed: int, sizes: dict[str, int]):
    """The graph and its split; notes about the graph's file (dropped lines) are logged as warnings."""
    from lmlab.graph.data import load_graph, make_split

    data = load_graph(spec, strict=strict)
    for note in data.notes:
        log.warning("%s", note)
    return data, make_split(data, kind, seed, **sizes)


def _sizes(args_or_saved) -> dict[str, int]:
    get = args_or_saved.get if isinstance(args_or_saved, dict) else lambda k, d=None: getattr(args_or_saved, k, d)
    from lmlab.graph.data import NUM_TEST, NUM_VALID, TRAIN_PER_CLASS

    return {
        "train_per_class": get("train_per_class", TRAIN_PER_CLASS),
        "num_valid": get("num_valid", NUM_VALID),
        "num_test": get("num_test", NUM_TEST),
    }


def _saved_data(run_cfg: dict[str, Any], where: str) -> dict[str, Any]:
    from lmlab.graph.data import saved_data

    return saved_data(run_cfg, where)


def train(args: argparse.Namespace) -> int:
    from lmlab.cli.common import check_seed
    from lmlab.graph.models import get_graph_model
    from lmlab.train_options import TrainOptions

    if args.tokenizer != "none":
        raise LmlabError(f"--tokenizer: a graph task has no tokenizer, got {args.tokenizer!r}")
    if args.resume:
        from lmlab.cli.common import resume_inputs

        run_dir, info = resume_inputs(args)
        entry = get_graph_model(info.get("family", ""))
        saved = _saved_data(info, f"checkpoint of {run_dir}")
        data, split = _load(
            saved["spec"], strict=saved.get("strict", False), kind=saved["split"], seed=saved.get("split_seed") or 0,
            sizes=_sizes(saved),
        )  # fmt: skip
        cfg = build_config(
            entry.train_config_class(), args, preset=info.get("config", {}), source=f"checkpoint of {run_dir}"
        )
        opts = TrainOptions(seed=args.seed, command=args.command_line, data_info=info.get("data", {}), resume=True)
        return _train_one(entry, cfg, data, split, opts, run_dir)

    entry = get_graph_model(args.model)
    check_seed(args.seed)
    check_seed(args.split_seed, "--split-seed")
    if args.repeat is not None and not 1 <= args.repeat <= 1000:
        raise LmlabError(f"--repeat must be an integer from 1 to 1000, got {args.repeat}")
    if args.preset:
        raise LmlabError("--preset is for language models; graph models start from their family's published recipe")
    data, split = _load(args.data, strict=args.strict, kind=args.split, seed=args.split_seed, sizes=_sizes(args))
    cfg = _build_config(entry, args, data)
    out = Path(args.out)
    if args.repeat is None:
        opts = TrainOptions(seed=args.seed, command=args.command_line, data_info=_data_info(args, data, split))
        return _train_one(entry, cfg, data, split, opts, out)
    return _repeat(entry, cfg, args, data, split, out)


def _build_config(entry, args: argparse.Namespace, data):
    file_values = read_toml(args.config) if args.config else None
    fixed = entry.data_values(data.num_features, len(data.classes))
    return build_config(
        entry.train_config_class(),
        args,
        file_values=file_values,
        preset=entry.recipe,
        source=f"--config {args.config}",
        fixed=fixed,
    )


def _train_one(entry, cfg, data, split, opts, out: Path, *, quiet: bool = False):
    t0 = time.perf_counter()
    model = entry.trainer_fn()(cfg, data, split, opts, out)
    seconds = time.perf_counter() - t0
    if not quiet:
        from lmlab.runconfig import read_run_config

        stats = read_run_config(out).get("stats", {})
        best = stats.get("best_val_accuracy")
        at = f" at epoch {stats['best_step']}" if "best_step" in stats else ""
        valid = f"; best valid accuracy {best:.2%}{at}" if isinstance(best, (int, float)) else ""
        print(
            f"trained {entry.name} ({model.num_parameters():,} parameters) on {data.name} ({data.num_nodes:,} nodes, "
            f"{data.counts.edges:,} edges; {split.describe()}), seed {opts.seed}, in {seconds:.2f} s{valid} -> {out}"
        )
    return model if quiet else 0


def _is_repeat(path: Path) -> bool:
    """A folder an earlier ``--repeat`` wrote (its repeat.json says so, or it holds only run-N runs so far)."""
    from lmlab.rundir import is_lmlab_run, says_format

    if says_format(path / "repeat.json", REPEAT_FORMAT):
        return True

    entries = list(path.iterdir())
    return bool(entries) and all(e.name.startswith("run-") and is_lmlab_run(e) for e in entries)


def _repeat(entry, cfg, args: argparse.Namespace, data, split, out: Path) -> int:
    from lmlab.graph.data import make_split
    from lmlab.graph.task import evaluate_nodes
    from lmlab.io import write_json
    from lmlab.rundir import replace_group
    from lmlab.train_options import TrainOptions

    # the lock is held for all the runs, which are built beside the old folder and swapped in with repeat.json
    with replace_group(out, _is_repeat, "an lmlab --repeat folder", args.command_line) as build:
        runs = []
        for i in range(args.repeat):
            seed = args.seed + i
            if split.kind == "random":
                split = make_split(data, "random", args.split_seed + i, **_sizes(args))
            opts = TrainOptions(seed=seed, command=args.command_line, data_info=_data_info(args, data, split))
            model = _train_one(entry, cfg, data, split, opts, build / f"run-{i + 1}", quiet=True)
            valid = evaluate_nodes(model, data, split, "valid")[0]["accuracy"] if split.valid.size else None
            test = evaluate_nodes(model, data, split, "test")[0]["accuracy"] if split.test.size else None
            shown = ", ".join(f"{k} {v:.2%}" for k, v in (("valid", valid), ("test", test)) if v is not None)
            print(f"run {i + 1}/{args.repeat} (seed {seed}, {split.describe()}): {shown}")
            runs.append({"run": f"run-{i + 1}", "seed": seed, "split_seed": split.seed, "valid_accuracy": valid,
                         "test_accuracy": test})  # fmt: skip
        summary: dict[str, Any] = {
            "format": REPEAT_FORMAT,
            "version": 1,
            "model": entry.name,
            "data": _data_info(args, data, split)["spec"],
            "split": split.kind,
            "runs": runs,
        }
        for key in ("valid_accuracy", "test_accuracy"):
            values = [r[key] for r in runs if r[key] is not None]
            if values:
                summary[key] = {
                    "mean": statistics.fmean(values),
                    "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                }
        write_json(build / "repeat.json", summary)
    which = "random splits" if split.kind == "random" else "the planetoid split"
    if "test_accuracy" in summary:
        t = summary["test_accuracy"]
        print(
            f"{entry.name} on {data.name}, {which}, {args.repeat} runs: test accuracy {t['mean']:.2%} "
            f"+- {t['std']:.2%} -> {out / 'repeat.json'}"
        )
    return 0


MAX_ROWS = 40  # in-neighbours drawn at most (those with the largest weights)


def _model_and_data(args: argparse.Namespace, *, spec: str | None = None):
    """A graph run's model, its config, the graph (the run's, or --data) and the run's split of it."""
    from lmlab.graph.data import run_graph_data
    from lmlab.graph.task import load_graph_run

    model, run_cfg = load_graph_run(args.run)
    data, split = run_graph_data(run_cfg, str(Path(args.run) / "config.json"), spec=spec)
    return model, run_cfg, data, split


def evaluate(args: argparse.Namespace) -> int:
    from lmlab.graph.task import evaluate_nodes

    if getattr(args, "text", None):
        raise LmlabError("--text is for text tasks; a graph run is evaluated on its graph's nodes (--split, --data)")
    model, run_cfg, data, split = _model_and_data(args, spec=args.data)
    r, report = evaluate_nodes(model, data, split, args.split)
    where = f"{args.data or run_cfg['data']['spec']}:{args.split}"
    if args.confusion:
        from lmlab.metrics import plot_confusion_matrix

        plot_confusion_matrix(report, args.confusion, title=f"{where}: accuracy {r['accuracy']:.2%}")
    if args.json:
        info = {"data": where, "family": run_cfg.get("family"), "split": split.kind, "split_seed": split.seed}
        print(json.dumps({**info, **r}))
    else:
        print(
            f"{where} ({split.describe()}): accuracy {r['accuracy']:.2%}, macro-F1 {r['macro_f1']:.4f}, "
            f"{r['nodes']:,} nodes"
        )
        for label, m in r["per_class"].items():
            print(f"  {label}: precision {m['precision']:.3f}, recall {m['recall']:.3f}, F1 {m['f1']:.3f} "
                  f"({m['support']:,} nodes)")  # fmt: skip
    return 0


def attention(run, args: argparse.Namespace) -> int:
    """``lmlab attention RUN --text NODE_ID --out FILE.png``: how much the node reads each neighbour, per layer and
    head, from ``run.explain(node)`` of an attention model (gat)."""
    from lmlab.graph.visualize import draw_node_attention

    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise LmlabError(f"--out must end in .png, got {args.out!r}")
    view = run.explain(args.text, max_neighbours=MAX_ROWS, max_points=1)
    if view["attention"] is None:
        raise LmlabError(f"{args.run}: a {run.family} model has no attention weights; train --model gat")
    attention = view["attention"]
    node = view["prediction"]
    draw_node_attention(attention, f"node {node['node']} ({node['true_label']})", out)
    n = attention["total"]
    print(f"wrote {out} (node {node['node']}: itself and {n - 1} neighbour(s), {len(attention['layers'])} layer(s))")
    return 0


def plot_embeddings(args: argparse.Namespace) -> int:
    """``lmlab plot RUN --embeddings --out nodes.png``: the learned node representations in 2-D, by class."""
    from lmlab.graph.visualize import plot_node_embeddings

    model, run_cfg, data, split = _model_and_data(args)
    out = Path(args.out) if args.out else Path(args.run) / "nodes.png"
    if out.suffix.lower() != ".png":
        raise LmlabError(f"--out must end in .png, got {str(out)!r}")
    hidden = model.embeddings(data, split)
    title = f"{Path(args.run).resolve().name}: {run_cfg.get('family')} on {data.name}"
    method = plot_node_embeddings(hidden, data, split, out, method=args.projection, seed=0, title=title)
    print(f"wrote {out} ({data.num_nodes:,} nodes, {hidden.shape[1]}-dimensional representations by {method})")
    return 0


__all__ = ["add_train_flags", "attention", "evaluate", "plot_embeddings", "train"]
