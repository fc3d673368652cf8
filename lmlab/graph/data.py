"""Graphs for node classification: the LINQS format (Cora, CiteSeer, PubMed-style folders), the named ``cora``, and
the splits of its nodes into training, validation and test.

A LINQS folder holds ``NAME.content`` and ``NAME.cites``::

    NAME.content   <id> <feature> ... <feature> <label>      one line per node, whitespace-separated
    NAME.cites     <cited id> <citing id>                     one line per citation: citing -> cited

Ids are strings (CiteSeer's are words such as ``ahmed00efficient``), features are numbers (Cora's and CiteSeer's
are 0/1 word indicators), labels are strings; classes are numbered in sorted order. A citation is a link whichever
way it points: the graph is made undirected (each edge listed both ways), as Kipf & Welling and PyTorch
Geometric's Planetoid do. What a ``.cites`` file holds besides plain edges is counted and reported, not hidden:
lines naming an id without a ``.content`` line (CiteSeer has 17; dropped, or refused with ``strict``), self-loops
(dropped: the models add their own), lines repeating an earlier citation, and pairs that cite each other (Cora has
151: one undirected edge each). Cora: 2,708 nodes, 1,433 features, 7 classes, 5,429 lines, 5,278 undirected edges.

Splits (:class:`NodeSplit`) are transductive: every node's features and every edge are seen in training, only the
training nodes' labels. ``planetoid`` is the public split of Yang et al. 2016 used by Kipf & Welling and Veličković
et al. (140 / 500 / 1,000 nodes, 20 per class on Cora), read from ``planetoid-split.tsv`` (``paper_id<TAB>split``,
split one of train / valid / test). ``random`` draws 20 nodes per class for training, then 500 validation and 1,000
test nodes among the rest, from a seed (the "random splits" of Kipf & Welling and of Shchur et al. 2018). Which
split a number was measured on matters: pytorch_geometric#891 and tkipf/pygcn#12 are users comparing the two.

References: Sen et al. 2008, "Collective Classification in Network Data" (the LINQS datasets); Yang, Cohen &
Salakhutdinov 2016, "Revisiting Semi-Supervised Learning with Graph Embeddings" (the Planetoid split); Shchur et
al. 2018, "Pitfalls of Graph Neural Network Evaluation" (random splits).
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from lmlab.data.download import check_file, fetch
from lmlab.data.registry import DATASETS
from lmlab.data.registry import data_dir as default_data_dir
from lmlab.errors import LmlabError

log = logging.getLogger(__name__)

SPLITS = ("planetoid", "random")
PLANETOID_FILE = "planetoid-split.tsv"
#: The sizes of the Planetoid protocol, which random splits follow.
TRAIN_PER_CLASS, NUM_VALID, NUM_TEST = 20, 500, 1000
NAMED = ("cora",)
"""The named graphs :func:`load_graph` knows (registered in :mod:`lmlab.data.registry`)."""


@dataclass
class EdgeCounts:
    """What the ``.cites`` lines held (see the module docstring)."""

    lines: int = 0
    unknown: int = 0  # lines naming an id without a .content line: dropped (refused with strict)
    self_loops: int = 0  # lines whose two ids are the same node: dropped
    duplicates: int = 0  # lines repeating an earlier (cited, citing) pair: dropped
    reciprocal: int = 0  # pairs listed both ways: one undirected edge each
    edges: int = 0  # distinct undirected edges kept (each listed both ways in GraphData.edges)

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class GraphData:
    """A graph's nodes (ids, features, labels) and undirected edges, as read."""

    name: str
    source: str  # where it was read from, for reports
    ids: list[str]  # node i's id in the files
    features: np.ndarray  # (N, F) float32
    labels: np.ndarray  # (N,) int64, indices into classes
    classes: list[str]  # sorted
    edges: np.ndarray  # (2, 2 * counts.edges) int64: each undirected edge both ways, no self-loops
    counts: EdgeCounts
    sha256: str  # of the .content and .cites bytes: the same graph on resume and eval
    folder: Path | None = None  # where planetoid-split.tsv is looked for
    notes: list[str] = field(default_factory=list)

    @property
    def num_nodes(self) -> int:
        return len(self.ids)

    @property
    def num_features(self) -> int:
        return int(self.features.shape[1])

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(self.classes))
        return {c: int(n) for c, n in zip(self.classes, counts)}

    def __repr__(self) -> str:
        return (
            f"GraphData({self.name!r}: {self.num_nodes:,} nodes, {self.num_features:,} features, "
            f"{len(self.classes)} classes, {self.counts.edges:,} edges)"
        )


@dataclass
class NodeSplit:
    """Which nodes train, validate and test (indices into the graph's nodes, sorted)."""

    kind: str  # "planetoid" or "random"
    seed: int | None  # the random split's seed; None for a split read from a file
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray

    def nodes(self, part: str) -> np.ndarray:
        if part not in ("train", "valid", "test"):
            raise LmlabError(f"split part must be train, valid or test, got {part!r}")
        return getattr(self, part)

    def sizes(self) -> dict[str, int]:
        return {p: int(self.nodes(p).size) for p in ("train", "valid", "test")}

    def sha256(self) -> str:
        h = hashlib.sha256()
        for part in ("train", "valid", "test"):
            h.update(part.encode() + b":" + np.ascontiguousarray(self.nodes(part), dtype=np.int64).tobytes())
        return h.hexdigest()

    def describe(self) -> str:
        """One line: ``planetoid split (140 / 500 / 1,000 nodes)`` or ``random split, seed 3 (...)``."""
        s = self.sizes()
        seed = f", seed {self.seed}" if self.seed is not None else ""
        return f"{self.kind} split{seed} ({s['train']:,} / {s['valid']:,} / {s['test']:,} nodes)"


# ---- reading the files
def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise LmlabError(f"{path} is a directory, not a file") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise LmlabError(f"{path}: not UTF-8 at byte {e.start}") from None


def _lines(text: str):
    """(line number, fields) of the non-blank lines."""
    for number, line in enumerate(text.split("\n"), start=1):
        fields = line.split()
        if fields:
            yield number, fields


def read_content(path: str | os.PathLike) -> tuple[list[str], np.ndarray, list[str]]:
    """Ids, features (N, F) and label strings of a ``.content`` file; a line with another number of fields than the
    first, a feature that is not a number, or an id seen before is an LmlabError naming the line.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.content"
    >>> _ = p.write_text("a 1 0 x\\nb 0 1 y\\n")
    >>> ids, features, labels = read_content(p)
    >>> ids, features.tolist(), labels
    (['a', 'b'], [[1.0, 0.0], [0.0, 1.0]], ['x', 'y'])
    """
    path = Path(path)
    ids: list[str] = []
    rows: list[list[str]] = []
    labels: list[str] = []
    line_of: dict[str, int] = {}
    width = None
    for number, fields in _lines(_read_text(path)):
        if width is None:
            if len(fields) < 3:
                raise LmlabError(
                    f"{path} line {number}: expected an id, at least one feature and a label, got {len(fields)} fields"
                )
            width = len(fields)
        elif len(fields) != width:
            raise LmlabError(
                f"{path} line {number}: {len(fields) - 2:,} features, but line {line_of[ids[0]]} has {width - 2:,}"
            )
        node = fields[0]
        if node in line_of:
            raise LmlabError(f"{path} line {number}: id {node!r} is already on line {line_of[node]}")
        line_of[node] = number
        ids.append(node)
        rows.append(fields[1:-1])
        labels.append(fields[-1])
    if not ids:
        raise LmlabError(f"{path} has no nodes (an empty graph)")
    try:
        features = np.array(rows, dtype=np.float32)
    except ValueError:
        for node, row in zip(ids, rows):
            for column, value in enumerate(row, start=2):
                try:
                    float(value)
                except ValueError:
                    raise LmlabError(
                        f"{path} line {line_of[node]}: field {column} is {value!r}, not a number"
                    ) from None
        raise  # pragma: no cover - numpy refused something float() accepts
    if not np.isfinite(features).all():
        row = int(np.argwhere(~np.isfinite(features))[0][0])
        raise LmlabError(f"{path} line {line_of[ids[row]]}: a feature is not a finite number")
    return ids, features, labels


def read_cites(
    path: str | os.PathLike, index: dict[str, int], *, strict: bool = False
) -> tuple[np.ndarray, EdgeCounts, list[str]]:
    """The undirected edges (2, 2 E) of a ``.cites`` file between the nodes of ``index`` (id -> node), each both
    ways and sorted, what its lines held, and notes for the user. ``strict``: a line naming an unknown id is an
    LmlabError (otherwise it is dropped and counted).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "g.cites"
    >>> _ = p.write_text("a b\\nb a\\na a\\na b\\na zz\\n")
    >>> edges, counts, notes = read_cites(p, {"a": 0, "b": 1})
    >>> edges.tolist(), counts.to_dict()          # sources, targets: 1 -> 0 and 0 -> 1
    ([[1, 0], [0, 1]], {'lines': 5, 'unknown': 1, 'self_loops': 1, 'duplicates': 1, 'reciprocal': 1, 'edges': 1})
    """
    path = Path(path)
    counts = EdgeCounts()
    first_unknown: tuple[int, str] | None = None
    seen: set[tuple[int, int]] = set()
    for number, fields in _lines(_read_text(path)):
        if len(fields) != 2:
            raise LmlabError(f"{path} line {number}: expected two ids (cited, citing), got {len(fields)} fields")
        counts.lines += 1
        cited, citing = index.get(fields[0]), index.get(fields[1])
        if cited is None or citing is None:
            missing = fields[0] if cited is None else fields[1]
            if strict:
                raise LmlabError(f"{path} line {number}: id {missing!r} has no line in the .content file (--strict)")
            counts.unknown += 1
            first_unknown = first_unknown or (number, missing)
            continue
        if cited == citing:
            counts.self_loops += 1
            continue
        if (citing, cited) in seen:
            counts.duplicates += 1
            continue
        if (cited, citing) in seen:
            counts.reciprocal += 1
        seen.add((citing, cited))
    pairs = {(min(a, b), max(a, b)) for a, b in seen}
    counts.edges = len(pairs)
    if pairs:
        one_way = np.array(sorted(pairs), dtype=np.int64).T  # (2, E)
        edges = np.concatenate([one_way, one_way[::-1]], axis=1)
        edges = edges[:, np.lexsort((edges[0], edges[1]))]  # by target, then source
    else:
        edges = np.zeros((2, 0), dtype=np.int64)
    notes = []
    if counts.unknown:
        assert first_unknown is not None
        notes.append(
            f"{path.name}: {counts.unknown:,} line(s) name an id with no line in the .content file (first: line "
            f"{first_unknown[0]}, {first_unknown[1]!r}); dropped (--strict refuses them)"
        )
    if counts.self_loops:
        notes.append(f"{path.name}: {counts.self_loops:,} self-citation(s) dropped (the models add their own loops)")
    if counts.duplicates:
        notes.append(f"{path.name}: {counts.duplicates:,} repeated line(s) dropped")
    return edges, counts, notes


def read_linqs(folder: str | os.PathLike, *, strict: bool = False, name: str | None = None) -> GraphData:
    """The graph in a LINQS folder: the one ``NAME.content`` there (or ``name``) and its ``NAME.cites``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LmlabError(f"{folder}: no such folder")
    if name is None:
        contents = sorted(p for p in folder.glob("*.content") if p.is_file())
        if not contents:
            raise LmlabError(f"{folder} has no NAME.content file (a LINQS graph: NAME.content and NAME.cites)")
        if len(contents) > 1:
            raise LmlabError(f"{folder} has several .content files ({', '.join(p.name for p in contents)}); keep one")
        name = contents[0].stem
    content, cites = folder / f"{name}.content", folder / f"{name}.cites"
    for p in (content, cites):
        if not p.is_file():
            raise LmlabError(f"{folder}: {p.name} not found (a LINQS graph: NAME.content and NAME.cites)")
    ids, features, label_names = read_content(content)
    index = {node: i for i, node in enumerate(ids)}
    edges, counts, notes = read_cites(cites, index, strict=strict)
    if counts.edges == 0:
        raise LmlabError(f"{cites}: no edges between the nodes of {content.name} ({counts.lines:,} lines)")
    classes = sorted(set(label_names))
    if len(classes) < 2:
        raise LmlabError(f"{content}: every node has the label {classes[0]!r}; node classification needs two or more")
    class_index = {c: i for i, c in enumerate(classes)}
    labels = np.array([class_index[c] for c in label_names], dtype=np.int64)
    h = hashlib.sha256()
    for p in (content, cites):
        h.update(p.read_bytes())
    return GraphData(
        name=name,
        source=f"{folder}",
        ids=ids,
        features=features,
        labels=labels,
        classes=classes,
        edges=edges,
        counts=counts,
        sha256=h.hexdigest(),
        folder=folder,
        notes=notes,
    )


def load_graph(
    spec: str | os.PathLike,
    *,
    strict: bool = False,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
) -> GraphData:
    """A named graph (``cora``, read from ``data_dir``, default ``$LMLAB_DATA_DIR``, and downloaded there first when
    missing unless ``download=False``) or a LINQS folder. A name wins over a folder of that name.

    >>> g = load_graph("cora")                                             # doctest: +SKIP
    >>> g.num_nodes, g.num_features, len(g.classes), g.counts.edges        # doctest: +SKIP
    (2708, 1433, 7, 5278)
    """
    if isinstance(spec, str) and spec in NAMED:
        root = Path(data_dir) if data_dir is not None else default_data_dir()
        info = DATASETS[spec]
        needed = tuple(f for f in info.files if not f.optional)
        if download:
            fetch(replace(info, files=needed), root, progress=True)
        for f in needed:
            if not (root / f.path).is_file():
                raise LmlabError(
                    f"dataset {spec}: {root / f.path} not found and download is off; set LMLAB_DATA_DIR to a folder "
                    f"that has {f.path}"
                )
        data = read_linqs(root / info.folder, strict=strict, name=spec)
        data.source = f"{spec}: {root / info.folder}"
        return data
    path = Path(spec)
    if path.is_dir():
        return read_linqs(path, strict=strict)
    if isinstance(spec, str) and spec in DATASETS:
        raise LmlabError(f"{spec} is a {DATASETS[spec].kind} dataset; graphs: {', '.join(NAMED)} or a LINQS folder")
    raise LmlabError(
        f"{str(spec)!r} is neither a named graph ({', '.join(NAMED)}) nor a folder (NAME.content, NAME.cites)"
    )


# ---- splits
def read_planetoid_split(path: str | os.PathLike, data: GraphData) -> NodeSplit:
    """The split listed in ``path`` (``paper_id<TAB>split`` header, then one id and train / valid / test per line).

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "planetoid-split.tsv"
    >>> _ = p.write_text("paper_id\\tsplit\\nb\\ttrain\\na\\tvalid\\nc\\ttest\\n")
    >>> g = GraphData("g", "", ["a", "b", "c"], np.zeros((3, 1), np.float32), np.array([0, 1, 0]), ["x", "y"],
    ...               np.zeros((2, 0), np.int64), EdgeCounts(), "")
    >>> read_planetoid_split(p, g).describe()
    'planetoid split (1 / 1 / 1 nodes)'
    """
    path = Path(path)
    index = {node: i for i, node in enumerate(data.ids)}
    parts: dict[str, list[int]] = {"train": [], "valid": [], "test": []}
    line_of: dict[str, int] = {}
    rows = _lines(_read_text(path))
    header = next(rows, None)
    if header is None or header[1] != ["paper_id", "split"]:
        raise LmlabError(f"{path} line 1: expected the header 'paper_id<TAB>split'")
    for number, fields in rows:
        if len(fields) != 2 or fields[1] not in parts:
            raise LmlabError(f"{path} line {number}: expected '<id><TAB>train|valid|test', got {' '.join(fields)!r}")
        node, part = fields
        if node not in index:
            raise LmlabError(f"{path} line {number}: id {node!r} is not a node of {data.name}")
        if node in line_of:
            raise LmlabError(f"{path} line {number}: id {node!r} is already on line {line_of[node]}")
        line_of[node] = number
        parts[part].append(index[node])
    if not parts["train"]:
        raise LmlabError(f"{path} lists no training nodes")
    return NodeSplit("planetoid", None, *(np.array(sorted(parts[p]), dtype=np.int64) for p in parts))


def random_split(
    labels: np.ndarray,
    classes: list[str],
    seed: int,
    *,
    train_per_class: int = TRAIN_PER_CLASS,
    num_valid: int = NUM_VALID,
    num_test: int = NUM_TEST,
) -> NodeSplit:
    """``train_per_class`` nodes of each class for training, then ``num_valid`` and ``num_test`` of the others, all
    drawn with ``seed``; a class with too few nodes, or too few nodes left, is an LmlabError that says so.

    >>> s = random_split(np.array([0, 0, 0, 1, 1, 1, 1]), ["x", "y"], 0, train_per_class=1, num_valid=2, num_test=3)
    >>> s.sizes(), sorted(np.array([0, 0, 0, 1, 1, 1, 1])[s.train].tolist())
    ({'train': 2, 'valid': 2, 'test': 3}, [0, 1])
    """
    for name, value, low in (
        ("train_per_class", train_per_class, 1),
        ("num_valid", num_valid, 0),
        ("num_test", num_test, 0),
    ):
        if not (isinstance(value, int) and not isinstance(value, bool) and value >= low):
            raise LmlabError(f"--{name.replace('_', '-')} must be an integer >= {low}, got {value!r}")
    rng = np.random.default_rng(seed)
    counts = np.bincount(labels, minlength=len(classes))
    for c, n in enumerate(counts):
        if n < train_per_class:
            raise LmlabError(
                f"label {classes[c]!r} has {n} node(s), fewer than the {train_per_class} per class of a random split's "
                "training set (--train-per-class)"
            )
    train = []
    for c in range(len(classes)):
        members = np.flatnonzero(labels == c)
        train.append(rng.permutation(members)[:train_per_class])
    train_nodes = np.concatenate(train)
    rest = np.setdiff1d(np.arange(labels.size), train_nodes)
    if rest.size < num_valid + num_test:
        raise LmlabError(
            f"a random split needs {num_valid:,} validation and {num_test:,} test nodes beside the training ones, "
            f"but only {rest.size:,} nodes are left (--num-valid, --num-test)"
        )
    rest = rng.permutation(rest)
    valid, test = rest[:num_valid], rest[num_valid : num_valid + num_test]
    return NodeSplit("random", int(seed), *(np.sort(a).astype(np.int64) for a in (train_nodes, valid, test)))


def make_split(
    data: GraphData,
    kind: str,
    seed: int = 0,
    *,
    train_per_class: int = TRAIN_PER_CLASS,
    num_valid: int = NUM_VALID,
    num_test: int = NUM_TEST,
) -> NodeSplit:
    """The ``planetoid`` split of the graph's folder, or a ``random`` split drawn with ``seed``."""
    if kind == "random":
        return random_split(
            data.labels, data.classes, seed, train_per_class=train_per_class, num_valid=num_valid, num_test=num_test
        )
    if kind != "planetoid":
        raise LmlabError(f"--split must be one of {', '.join(SPLITS)}, got {kind!r}")
    path = data.folder / PLANETOID_FILE if data.folder is not None else None
    if path is None or not path.is_file():
        if data.name in NAMED:
            entry = DATASETS[data.name].file(f"{DATASETS[data.name].folder}/{PLANETOID_FILE}")
            raise LmlabError(
                f"--split planetoid needs {path}, which cannot be downloaded ({entry.note}); put the file there, "
                "or use --split random"
            )
        raise LmlabError(f"--split planetoid needs {path} (paper_id<TAB>split lines); or use --split random")
    if data.name in NAMED:
        entry = DATASETS[data.name].file(f"{DATASETS[data.name].folder}/{PLANETOID_FILE}")
        problem = check_file(entry, path, verify=False)
        if problem is not None:
            raise LmlabError(f"{path} is not the registered Planetoid split: {problem}")
    return read_planetoid_split(path, data)


# ---- a trained run's graph
def saved_data(run_cfg: dict[str, Any], where: str) -> dict[str, Any]:
    """The ``data`` object of a graph run's ``config.json`` (or checkpoint), its fields checked as untrusted input:
    one line naming the bad one."""
    from lmlab.runfiles import check_fields, expect

    saved = run_cfg.get("data")
    if not isinstance(saved, dict):
        raise LmlabError(f"{where}: field 'data' must be an object")
    schema = {
        "spec": expect(str, required=True),
        "strict": expect(bool),
        "split": expect(str, required=True),
        "split_seed": expect(int, None),
        "train_per_class": expect(int),
        "num_valid": expect(int),
        "num_test": expect(int),
        "graph_sha256": expect(str),
        "split_sha256": expect(str),
    }
    check_fields(saved, {f"data.{k}": v for k, v in schema.items()} | {"data": expect(dict)}, where)
    return saved


def run_graph_data(
    run_cfg: dict[str, Any], where: str, *, spec: str | os.PathLike | None = None
) -> tuple[GraphData, NodeSplit]:
    """The graph a run was trained on (or ``spec``, another graph) and the run's split of its nodes, from the
    ``data`` object of the run's ``config.json`` (``where`` names that file in errors). The fields are checked
    as untrusted input, one line naming the bad one; a graph whose files changed since training is a warning.
    """
    saved = saved_data(run_cfg, where)
    spec = saved["spec"] if spec is None else spec
    data = load_graph(spec, strict=saved.get("strict", False))
    for note in data.notes:
        log.warning("%s", note)
    sizes = {
        "train_per_class": saved.get("train_per_class", TRAIN_PER_CLASS),
        "num_valid": saved.get("num_valid", NUM_VALID),
        "num_test": saved.get("num_test", NUM_TEST),
    }
    split = make_split(data, saved["split"], saved.get("split_seed") or 0, **sizes)
    if spec == saved["spec"] and saved.get("graph_sha256") not in (None, data.sha256):
        log.warning("%s: the graph changed since training (its files' sha256 differ)", spec)
    return data, split


__all__ = [
    "saved_data",
    "NAMED",
    "NUM_TEST",
    "NUM_VALID",
    "PLANETOID_FILE",
    "SPLITS",
    "TRAIN_PER_CLASS",
    "EdgeCounts",
    "GraphData",
    "NodeSplit",
    "load_graph",
    "make_split",
    "random_split",
    "read_cites",
    "read_content",
    "read_linqs",
    "read_planetoid_split",
    "run_graph_data",
]
