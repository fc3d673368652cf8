"""The graph task through the command line on a tiny synthetic graph: train (every family), eval, plot
--embeddings, attention, --repeat, --resume, compare, and the bad inputs each answered with one line."""

from __future__ import annotations

import json

import pytest

from lmlab.cli.main import main
from lmlab.train.metrics import read_metrics
from tests.graph.conftest import write_graph

SPLIT = ["--split", "random", "--split-seed", "1", "--train-per-class", "5", "--num-valid", "15", "--num-test", "30"]
FAST = ["--epochs", "40", "--lr", "0.05", "--device", "cpu"]


@pytest.fixture
def cli(capsys):
    def run(*args):
        rc = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return rc, out, err

    return run


def train(cli, data, out, model="gcn", *extra):
    fast = [] if model == "labelprop" else FAST
    return cli("train", "--task", "graph", "--model", model, "--data", data, "--out", out, *SPLIT, *fast, *extra)


@pytest.mark.parametrize("model", ["gcn", "gat", "sage", "mlp", "labelprop"])
def test_train_and_eval_every_family(cli, tiny_graph, tmp_path, model):
    run = tmp_path / model
    rc, out, err = train(cli, tiny_graph, run, model)
    assert rc == 0, err
    assert f"trained {model}" in out and "random split, seed 1 (15 / 15 / 30 nodes)" in out
    assert "1 line(s) name an id with no line in the .content file" in err  # reported, not hidden
    config = json.loads((run / "config.json").read_text())
    assert config["task"] == "graph" and config["family"] == model and config["classes"] == ["alpha", "beta", "gamma"]
    assert config["data"]["split"] == "random" and config["data"]["split_seed"] == 1
    assert config["data"]["edges"]["unknown"] == 1 and config["data"]["edges"]["self_loops"] == 1
    rc, out, err = cli("eval", run, "--split", "test", "--json")
    assert rc == 0, err
    r = json.loads(out)
    assert r["nodes"] == 30 and r["split"] == "random" and r["split_seed"] == 1 and r["family"] == model
    assert r["accuracy"] > 0.5  # three classes: chance is 1/3; the words and the edges give the class away
    if model != "labelprop":
        rows = read_metrics(run / "metrics.jsonl")
        assert any("val_accuracy" in row for row in rows) and any("nodes_per_s" in row for row in rows)
        assert config["stats"]["steps"] <= 40 and config["stats"]["train_nodes"] == 15


def test_gcn_row_norm_plot_embeddings_and_attention(cli, tiny_graph, tmp_path):
    run = tmp_path / "gcn"
    assert train(cli, tiny_graph, run, "gcn", "--norm", "row")[0] == 0
    assert json.loads((run / "config.json").read_text())["model"]["norm"] == "row"
    rc, out, err = cli("plot", run, "--embeddings", "--out", tmp_path / "nodes.png")
    assert rc == 0, err
    assert (tmp_path / "nodes.png").read_bytes()[:4] == b"\x89PNG" and "by PCA" in out
    rc, out, err = cli("attention", run, "--text", "al000x", "--out", tmp_path / "a.png")
    assert rc == 2 and "has no attention weights; train --model gat" in err
    gat = tmp_path / "gat"
    assert train(cli, tiny_graph, gat, "gat", "--heads", "2", "--hidden", "4")[0] == 0
    rc, out, err = cli("attention", gat, "--text", "al000x", "--out", tmp_path / "a.png")
    assert rc == 0, err
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG" and "node al000x: itself and" in out
    rc, out, err = cli("attention", gat, "--text", "nobody", "--out", tmp_path / "b.png")
    assert rc == 2 and "is not a node id of tiny" in err


def test_repeat_reports_mean_and_std(cli, tiny_graph, tmp_path):
    out_dir = tmp_path / "rep"
    rc, out, err = train(cli, tiny_graph, out_dir, "mlp", "--repeat", "3", "--epochs", "10")
    assert rc == 0, err
    summary = json.loads((out_dir / "repeat.json").read_text())
    assert [r["seed"] for r in summary["runs"]] == [0, 1, 2] and [r["split_seed"] for r in summary["runs"]] == [1, 2, 3]
    tests = [r["test_accuracy"] for r in summary["runs"]]
    assert summary["test_accuracy"]["mean"] == pytest.approx(sum(tests) / 3)
    assert summary["test_accuracy"]["std"] >= 0 and "3 runs: test accuracy" in out and "+-" in out
    for i in (1, 2, 3):
        rc, out, _ = cli("eval", out_dir / f"run-{i}", "--json")
        assert json.loads(out)["accuracy"] == pytest.approx(tests[i - 1])
    # a second --repeat into the same folder replaces it; a folder of something else is refused
    assert train(cli, tiny_graph, out_dir, "mlp", "--repeat", "2", "--epochs", "2")[0] == 0
    user = tmp_path / "user"
    user.mkdir()
    (user / "notes.txt").write_text("mine")
    rc, _, err = train(cli, tiny_graph, user, "mlp", "--repeat", "2")
    assert rc == 2 and "not empty" in err and (user / "notes.txt").read_text() == "mine"


def test_resume_continues_to_the_same_weights(cli, tiny_graph, tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    assert train(cli, tiny_graph, full, "gcn", "--epochs", "12")[0] == 0
    assert train(cli, tiny_graph, part, "gcn", "--epochs", "12", "--max-steps", "5")[0] == 0
    rc, out, err = cli("train", "--task", "graph", "--resume", part, "--max-steps", "12")
    assert rc == 0, err
    from lmlab.nn import load_tensors

    a, b = load_tensors(full / "model.safetensors"), load_tensors(part / "model.safetensors")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


def test_compare_graph_families(cli, tiny_graph, tmp_path):
    folder = write_graph(tmp_path / "g", nodes_per_class=6)
    g_ids = [line.split("\t")[0] for line in (folder / "tiny.content").read_text().splitlines()]
    rows = [f"{n}\t{'train' if i % 3 == 0 else 'valid' if i % 3 == 1 else 'test'}" for i, n in enumerate(g_ids)]
    (folder / "planetoid-split.tsv").write_text("paper_id\tsplit\n" + "\n".join(rows) + "\n")
    out = tmp_path / "cmp"
    rc, _, err = cli("compare", "--task", "graph", "--data", folder, "--models", "labelprop,gcn", "--steps", "3",
                     "--device", "cpu", "--out", out)  # fmt: skip
    assert rc == 0, err
    results = json.loads((out / "results.json").read_text())
    rows = {r["family"]: r for r in results["rows"]}
    assert all(r["status"] == "done" and r["metrics"]["test_nodes"] == 6 for r in rows.values())
    assert "--split planetoid" in rows["gcn"]["command"]
    assert "| family | test accuracy | macro-F1 |" in (out / "report.md").read_text()


# ---- bad input: one line, exit status 2, nothing written
@pytest.mark.parametrize(
    ("content", "cites", "extra", "message"),
    [
        (None, None, ["--strict"], "tiny.cites line 226: id 'nowhere99' has no line in the .content file (--strict)"),
        ("a 1 0 x\nb 1 y\n", "a b\n", [], "g.content line 2: 1 features, but line 1 has 2"),
        ("\n", "", [], "g.content has no nodes (an empty graph)"),
        (None, None, ["--train-per-class", "30"], "label 'alpha' has 25 node(s), fewer than the 30 per class"),
        (None, None, ["--split", "planetoid"], "--split planetoid needs"),
        (None, None, ["--hidden", "0"], "--hidden must be an integer >= 1, got 0"),
        (None, None, ["--norm", "left"], "--norm must be one of sym, row, got 'left'"),
        (None, None, ["--tokenizer", "bpe"], "a graph task has no tokenizer"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(cli, tiny_graph, tmp_path, content, cites, extra, message):
    data = tiny_graph
    if content is not None:
        data = tmp_path / "bad"
        data.mkdir()
        (data / "g.content").write_text(content)
        (data / "g.cites").write_text(cites)
    run = tmp_path / "run"
    rc, out, err = train(cli, data, run, "gcn", *extra)
    lines = [line for line in err.splitlines() if "error" in line]
    assert rc == 2 and len(lines) == 1 and message in lines[0], err
    assert "Traceback" not in err and not run.exists() and not list(tmp_path.glob(".run*"))


def test_eval_and_plot_refuse_what_does_not_apply(cli, tiny_graph, tmp_path):
    run = tmp_path / "mlp"
    assert train(cli, tiny_graph, run, "mlp", "--epochs", "2")[0] == 0
    rc, _, err = cli("eval", run, "--text", tmp_path / "x.txt")
    assert rc == 2 and "--text is for text tasks" in err
    rc, _, err = cli("plot", run, "--embeddings", "--out", tmp_path / "x.jpg")
    assert rc == 2 and "--out must end in .png" in err
