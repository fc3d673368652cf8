"""``lmlab.load`` on a node classifier of every family: predictions equal ``evaluate_nodes``' and the model's own
logits, with each node's true label, split and neighbours; explain gives GAT's attention over a node's neighbours
and every node in 2-D; unknown nodes and bad options are one LmlabError line."""

from __future__ import annotations

import json

import numpy as np
import pytest

import lmlab
from lmlab.cli.main import main
from lmlab.errors import LmlabError
from lmlab.graph.data import run_graph_data
from lmlab.graph.models import GRAPH_MODELS
from lmlab.graph.task import evaluate_nodes, load_graph_run
from lmlab.graph.visualize import pca_2d
from lmlab.metrics import confusion_matrix
from tests.graph.conftest import write_graph

SPLIT = ["--split", "random", "--split-seed", "1", "--train-per-class", "5", "--num-valid", "15", "--num-test", "30"]
TINY = {
    "gcn": ["--hidden", "4"],
    "gat": ["--hidden", "4", "--heads", "2"],
    "sage": ["--hidden", "4"],
    "mlp": ["--hidden", "4"],
    "labelprop": [],
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    graph = write_graph(tmp_path_factory.mktemp("graphs") / "tiny")
    root = tmp_path_factory.mktemp("runs")
    for family, flags in TINY.items():
        trained = [] if family == "labelprop" else ["--epochs", "3", "--lr", "0.05", "--device", "cpu"]
        args = ["train", "--task", "graph", "--model", family, "--data", graph, "--out", root / family, *SPLIT]
        assert main([str(a) for a in [*args, *trained, *flags]]) == 0
    return {family: lmlab.load(root / family) for family in TINY}


def _model_and_data(run):
    model, cfg = load_graph_run(run.path)
    return (model, *run_graph_data(cfg, "config.json"))


def test_every_family_is_tested():
    assert set(TINY) == set(GRAPH_MODELS)


@pytest.mark.parametrize("family", list(TINY))
def test_predictions_equal_evaluate_nodes(runs, family):
    m = runs[family]
    assert (m.task, m.family) == ("graph", family)
    model, data, split = _model_and_data(m)
    predictions = m.predict(data.ids)
    json.dumps(predictions)
    z = model.logits(data, split)
    p = np.exp(z - np.logaddexp.reduce(z, axis=1, keepdims=True))
    for i, pred in enumerate(predictions):
        assert pred["node"] == data.ids[i] and pred["index"] == i and list(pred["probabilities"]) == data.classes
        assert np.allclose(list(pred["probabilities"].values()), p[i], atol=1e-12)
        assert pred["label"] == data.classes[int(p[i].argmax())] and pred["probability"] == max(p[i])
        assert sum(pred["probabilities"].values()) == pytest.approx(1, abs=1e-9)
        assert pred["true_label"] == data.classes[data.labels[i]]
    index = {c: k for k, c in enumerate(data.classes)}
    for part in ("train", "valid", "test"):
        nodes = split.nodes(part)
        assert {pred["index"] for pred in predictions if pred["split"] == part} == set(nodes.tolist())
        result, report = evaluate_nodes(model, data, split, part)
        predicted = [index[predictions[i]["label"]] for i in nodes]
        assert (confusion_matrix(data.labels[nodes], predicted, len(data.classes)) == report.matrix).all()
        assert np.mean([predictions[i]["label"] == predictions[i]["true_label"] for i in nodes]) == result["accuracy"]
    assert sum(pred["split"] == "none" for pred in predictions) == data.num_nodes - 60


def test_neighbours_ids_and_indices(runs):
    m = runs["gcn"]
    _, data, _ = _model_and_data(m)
    node = data.ids[4]
    expected = sorted(data.ids[j] for j in data.edges[0][data.edges[1] == 4])
    pred = m.predict([node])[0]
    assert sorted(pred["neighbours"]) == expected and pred["degree"] == len(expected) > 1
    assert m.predict([node], max_neighbours=1)[0]["neighbours"] == pred["neighbours"][:1]
    assert m.predict([node], max_neighbours=0)[0]["neighbours"] == []
    assert m.predict([4], by_index=True) == [pred]
    assert m.predict([np.int64(4)], by_index=True) == [pred]


def test_gat_explains_with_its_attention_over_the_neighbours(runs):
    m = runs["gat"]
    model, data, _ = _model_and_data(m)
    node = data.ids[7]
    e = m.explain(node)
    json.dumps(e)
    assert e["prediction"] == m.predict([node])[0]
    a = e["attention"]
    neighbours = {data.ids[j] for j in data.edges[0][data.edges[1] == 7]}
    assert set(a["sources"]) == neighbours | {node} and a["total"] == len(neighbours) + 1  # itself: the self-loop
    assert a["source_labels"] == [data.classes[data.labels[data.ids.index(s)]] for s in a["sources"]]
    assert a["heads"] == [2, 1] and len(a["layers"]) == len(a["mean"]) == 2  # 2 heads, then the output layer's one
    layers = model.attention(data)
    for (edges, alpha), weights, mean in zip(layers, a["layers"], a["mean"]):
        weights = np.array(weights)  # (sources, heads): all the node's in-edges, so each head sums to one
        assert weights.shape == (a["total"], alpha.shape[1]) and np.allclose(weights.sum(axis=0), 1)
        assert np.allclose(mean, weights.mean(axis=1))
        for s, row in zip(a["sources"], weights):
            e_id = np.flatnonzero((edges[0] == data.ids.index(s)) & (edges[1] == 7))
            assert np.allclose(alpha[e_id[0]], row)
    top = m.explain(node, max_neighbours=2)["attention"]
    first = np.array(a["layers"][0]).mean(axis=1)
    assert len(top["sources"]) == 2 and top["total"] == a["total"]
    assert set(top["sources"]) == {a["sources"][k] for k in np.argsort(-first, kind="stable")[:2]}


@pytest.mark.parametrize("family", list(TINY))
def test_explain_projects_every_node_to_2d(runs, family):
    m = runs[family]
    model, data, split = _model_and_data(m)
    e = m.explain(data.ids[0])
    json.dumps(e)
    if family != "gat":
        assert e["attention"] is None and "no attention weights" in e["note"]
    emb = e["embeddings"]
    assert emb["method"] == "PCA" and emb["ids"] == data.ids and emb["total"] == data.num_nodes
    assert emb["labels"] == [data.classes[c] for c in data.labels]
    expected = pca_2d(np.asarray(model.embeddings(data, split), dtype=np.float64))
    assert np.allclose(emb["points"], expected) and emb["dimensions"] == model.embeddings(data, split).shape[1]
    assert emb["node"] == emb["points"][0]
    few = m.explain(data.ids[40], max_points=10)["embeddings"]
    assert len(few["ids"]) == len(few["points"]) == len(few["labels"]) == 10 and data.ids[40] in few["ids"]
    assert few["ids"] == sorted(few["ids"], key=data.ids.index)
    k = data.ids.index(few["ids"][3])
    assert np.allclose(few["points"][3], expected[k])


def test_describe(runs):
    for family, m in runs.items():
        d = m.describe()
        json.dumps(d)
        assert d["task"] == "graph" and d["family"] == family and d["classes"] == ["alpha", "beta", "gamma"]
        assert d["graph"]["nodes"] == 75 and "random split, seed 1" in d["split"]
        assert d["parameters"] == load_graph_run(m.path)[0].num_parameters()
        assert (d["parameters"] > 0) == (family != "labelprop")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m: m.predict(["al000x", "nobody"]), "'nobody' is not a node id of tiny"),
        (lambda m: m.predict([12]), "'12' is not a node id of tiny"),
        (lambda m: m.explain("nobody"), "'nobody' is not a node id of tiny (ids as written in the data, such as"),
        (lambda m: m.predict([1.5]), "a node id must be a string or an integer, got float"),
        (lambda m: m.predict([True]), "a node id must be a string or an integer, got bool"),
        (lambda m: m.predict([75], by_index=True), "a node index must be an integer from 0 to 74, got 75"),
        (lambda m: m.predict(["al000x"], by_index=True), "a node index must be an integer from 0 to 74"),
        (lambda m: m.predict("al000x"), "wrap a single one in a list"),
        (lambda m: m.predict(["al000x"], max_neighbours=-1), "max_neighbours must be an integer from 0 to"),
        (lambda m: m.explain("al000x", max_points=0), "max_points must be an integer from 1 to"),
    ],
)
def test_bad_inputs_are_one_line(runs, call, message):
    with pytest.raises(LmlabError) as e:
        call(runs["gcn"])
    assert message in str(e.value) and "\n" not in str(e.value)
