"""What ``lmlab compare --task graph`` measures: the test accuracy of every node classifier on one graph (the
Planetoid split where the graph has one, else a random split drawn with the comparison's seed)."""

from __future__ import annotations

from pathlib import Path

from lmlab.compare import Column, CompareProfile, Comparison, Row, read_training_log


def compare_args(family: str, cmp: Comparison) -> list[str]:
    """A node classifier's flags in ``lmlab compare``: its published recipe (:data:`lmlab.graph.task.RECIPES`)
    and the split of :func:`load_data`."""
    data = load_data(cmp)
    return ["--split", data.split.kind] + ([] if data.split.seed is None else ["--split-seed", str(data.split.seed)])


class _GraphAndSplit:
    def __init__(self, graph, split):
        self.graph, self.split = graph, split


def load_data(cmp: Comparison) -> _GraphAndSplit:
    from lmlab.graph.data import PLANETOID_FILE, load_graph, make_split

    graph = load_graph(cmp.data)
    planetoid = graph.folder is not None and (graph.folder / PLANETOID_FILE).is_file()
    split = make_split(graph, "planetoid") if planetoid else make_split(graph, "random", cmp.seed)
    return _GraphAndSplit(graph, split)


def measure(run_dir: Path, data: _GraphAndSplit, cmp: Comparison, row: Row) -> None:
    """Test accuracy, macro-F1, parameters, speed and the validation-accuracy curve of a trained node classifier."""
    from lmlab.graph.task import evaluate_nodes, load_graph_run

    model, config = load_graph_run(run_dir)
    r = evaluate_nodes(model, data.graph, data.split, "test")[0]
    row.metrics = {"accuracy": r["accuracy"], "macro_f1": r["macro_f1"], "test_nodes": r["nodes"]}
    row.parameters = model.num_parameters()
    stats = config.get("stats", {})
    if not read_training_log(run_dir, row, "val_accuracy", "nodes") and "best_val_accuracy" in stats:
        row.curve = [[stats.get("train_seconds", 0.0), stats["best_val_accuracy"]]]


GRAPH_PROFILE = CompareProfile(
    task="graph",
    takes_tokenizer=False,
    default_tokenizer="none",
    columns=(Column("accuracy", "test accuracy", ".2%"), Column("macro_f1", "macro-F1", ".4f")),
    higher_is_better=True,
    unit="nodes",
    curve_key="val_accuracy",
    curve_label="validation accuracy",
    curve_log=False,
    load_data=load_data,
    measure=measure,
)
