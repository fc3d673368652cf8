"""The LINQS reader (tiny files and the real Cora folder), the named cora, and the planetoid and random splits."""

from __future__ import annotations

import os

import numpy as np
import pytest

from lmlab.errors import LmlabError
from lmlab.graph.data import load_graph, make_split, random_split, read_linqs
from tests.graph.conftest import CLASSES, write_graph


def write(folder, content: str, cites: str, name: str = "g"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.content").write_text(content)
    (folder / f"{name}.cites").write_text(cites)
    return folder


def test_string_ids_and_what_the_cites_lines_held(tmp_path):
    folder = write(
        tmp_path / "g",
        "ahmed00efficient 1 0 0.5 AI\nbob 0 1 0 ML\n100157 0 0 1 AI\n",
        "bob ahmed00efficient\nahmed00efficient bob\nbob bob\n100157 bob\nbob ahmed00efficient\n"
        "ghost bob\nbob ghost2\n",
    )
    g = read_linqs(folder)
    assert g.name == "g" and g.ids == ["ahmed00efficient", "bob", "100157"] and g.classes == ["AI", "ML"]
    assert g.labels.tolist() == [0, 1, 0] and g.features.tolist()[0] == [1.0, 0.0, 0.5]
    c = g.counts
    assert (c.lines, c.unknown, c.self_loops, c.duplicates, c.reciprocal, c.edges) == (7, 2, 1, 1, 1, 2)
    # undirected, each edge both ways, sorted by target: {ahmed, bob}, {bob, 100157}
    assert sorted(map(tuple, g.edges.T.tolist())) == [(0, 1), (1, 0), (1, 2), (2, 1)]
    assert any("2 line(s) name an id with no line" in n and "'ghost'" in n for n in g.notes)
    with pytest.raises(LmlabError, match=r"g\.cites line 6: id 'ghost' has no line in the \.content file \(--strict\)"):
        read_linqs(folder, strict=True)


@pytest.mark.parametrize(
    ("content", "cites", "message"),
    [
        ("a 1 0 x\nb 1 y\n", "a b\n", r"g\.content line 2: 1 features, but line 1 has 2"),
        ("a 1 0 x\nb 1 zz y\n", "a b\n", r"g\.content line 2: field 3 is 'zz', not a number"),
        ("a 1 x\na 0 y\n", "a a\n", r"g\.content line 2: id 'a' is already on line 1"),
        ("\n\n", "a b\n", r"g\.content has no nodes \(an empty graph\)"),
        ("a 1 x\nb 0 y\n", "a\n", r"g\.cites line 1: expected two ids"),
        ("a 1 x\nb 0 y\n", "a a\nc d\n", r"g\.cites: no edges between the nodes of g\.content"),
        ("a 1 x\nb 0 x\n", "a b\n", r"every node has the label 'x'"),
        ("a 1 x\nb nan y\n", "a b\n", r"g\.content line 2: a feature is not a finite number"),
    ],
)
def test_bad_files_are_one_line_naming_the_line(tmp_path, content, cites, message):
    with pytest.raises(LmlabError, match=message):
        read_linqs(write(tmp_path / "g", content, cites))


def test_folder_problems(tmp_path):
    with pytest.raises(LmlabError, match="has no NAME.content file"):
        read_linqs(tmp_path)
    write(tmp_path / "two", "a 1 x\n", "", name="one")
    (tmp_path / "two" / "other.content").write_text("a 1 x\n")
    with pytest.raises(LmlabError, match="several .content files"):
        read_linqs(tmp_path / "two")
    (tmp_path / "lone").mkdir()
    (tmp_path / "lone" / "h.content").write_text("a 1 x\n")
    with pytest.raises(LmlabError, match="h.cites not found"):
        read_linqs(tmp_path / "lone")
    with pytest.raises(LmlabError, match="neither a named graph"):
        load_graph(str(tmp_path / "missing"))
    with pytest.raises(LmlabError, match="ptb is a text dataset"):
        load_graph("ptb", data_dir=tmp_path, download=False)


def test_random_split_draws_per_class_and_is_fixed_by_its_seed(tiny_graph):
    g = read_linqs(tiny_graph)
    s = make_split(g, "random", 3, train_per_class=5, num_valid=10, num_test=20)
    assert s.sizes() == {"train": 15, "valid": 10, "test": 20} and s.kind == "random" and s.seed == 3
    assert np.bincount(g.labels[s.train]).tolist() == [5, 5, 5]
    parts = [set(s.train.tolist()), set(s.valid.tolist()), set(s.test.tolist())]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    again = make_split(g, "random", 3, train_per_class=5, num_valid=10, num_test=20)
    other = make_split(g, "random", 4, train_per_class=5, num_valid=10, num_test=20)
    assert again.sha256() == s.sha256() and other.sha256() != s.sha256()
    assert s.describe() == "random split, seed 3 (15 / 10 / 20 nodes)"


def test_random_split_refuses_too_small_classes_and_graphs(tiny_graph):
    g = read_linqs(tiny_graph)
    with pytest.raises(LmlabError, match=r"label 'alpha' has 25 node\(s\), fewer than the 30 per class"):
        random_split(g.labels, g.classes, 0, train_per_class=30)
    with pytest.raises(LmlabError, match=r"only 60 nodes are left"):
        random_split(g.labels, g.classes, 0, train_per_class=5)  # 500 + 1,000 wanted
    with pytest.raises(LmlabError, match="--split planetoid needs .*planetoid-split.tsv"):
        make_split(g, "planetoid")


def test_planetoid_split_file_of_a_folder(tmp_path):
    folder = write_graph(tmp_path / "p", nodes_per_class=4)
    g = read_linqs(folder)
    rows = [f"{g.ids[0]}\ttrain", f"{g.ids[5]}\ttrain", f"{g.ids[9]}\ttrain", f"{g.ids[1]}\tvalid", f"{g.ids[2]}\ttest"]
    (folder / "planetoid-split.tsv").write_text("paper_id\tsplit\n" + "\n".join(rows) + "\n")
    s = make_split(g, "planetoid")
    assert s.train.tolist() == [0, 5, 9] and s.valid.tolist() == [1] and s.test.tolist() == [2] and s.seed is None
    (folder / "planetoid-split.tsv").write_text("paper_id\tsplit\nnobody\ttrain\n")
    with pytest.raises(LmlabError, match=r"planetoid-split.tsv line 2: id 'nobody' is not a node of tiny"):
        make_split(g, "planetoid")
    (folder / "planetoid-split.tsv").write_text(f"paper_id\tsplit\n{g.ids[0]}\ttraining\n")
    with pytest.raises(LmlabError, match=r"line 2: expected '<id><TAB>train\|valid\|test'"):
        make_split(g, "planetoid")


# ---- the real Cora (counts from shared/data/README.md)
def test_real_cora_folder(shared_data):
    g = load_graph("cora", data_dir=shared_data, download=False)
    assert (g.num_nodes, g.num_features, len(g.classes)) == (2708, 1433, 7)
    c = g.counts
    assert (c.lines, c.unknown, c.self_loops, c.duplicates, c.reciprocal, c.edges) == (5429, 0, 0, 0, 151, 5278)
    assert g.edges.shape == (2, 10556) and g.notes == []
    assert g.class_counts() == {"Case_Based": 298, "Genetic_Algorithms": 418, "Neural_Networks": 818,
                                "Probabilistic_Methods": 426, "Reinforcement_Learning": 217, "Rule_Learning": 180,
                                "Theory": 351}  # fmt: skip
    assert set(np.unique(g.features).tolist()) == {0.0, 1.0}
    # the same folder read as a LINQS folder gives the same graph
    assert read_linqs(shared_data / "cora").sha256 == g.sha256


def test_real_cora_planetoid_split(shared_data):
    g = load_graph("cora", data_dir=shared_data, download=False)
    s = make_split(g, "planetoid")
    assert s.sizes() == {"train": 140, "valid": 500, "test": 1000}
    assert np.bincount(g.labels[s.train]).tolist() == [20] * 7
    # per class in sorted order: Case_Based, Genetic_Algorithms, Neural_Networks, Probabilistic_Methods, ...
    assert np.bincount(g.labels[s.valid]).tolist() == [57, 78, 158, 81, 36, 29, 61]
    assert np.bincount(g.labels[s.test]).tolist() == [103, 144, 319, 149, 91, 64, 130]
    r = make_split(g, "random", 0)
    assert r.sizes() == {"train": 140, "valid": 500, "test": 1000}
    assert np.bincount(g.labels[r.train]).tolist() == [20] * 7


def test_cora_without_its_derived_split_file_says_so_in_one_line(shared_data, tmp_path):
    (tmp_path / "cora").mkdir()
    for name in ("cora.content", "cora.cites", "README"):
        os.symlink(shared_data / "cora" / name, tmp_path / "cora" / name)
    g = load_graph("cora", data_dir=tmp_path, download=False)
    with pytest.raises(LmlabError) as e:
        make_split(g, "planetoid")
    message = str(e.value)
    assert "planetoid-split.tsv" in message and "cannot be downloaded" in message and "--split random" in message
    assert "\n" not in message
    assert make_split(g, "random", 1).sizes()["train"] == 140


def test_tiny_graph_fixture_classes(tiny_graph):
    g = read_linqs(tiny_graph)
    assert g.classes == list(CLASSES) and g.counts.unknown == 1 and g.counts.self_loops == 1
