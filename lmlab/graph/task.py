"""Node classification as a task of the training engine: ``lmlab train --task graph --model FAMILY``.

Transductive and full-batch, as Kipf & Welling train: every update reads the whole graph (every node's features,
every edge) and the loss is the mean cross-entropy over the training nodes only, so one epoch is one step::

    Z    = net(X, graph)                                     logits for all N nodes (N, C)
    loss = -(1/|T|) sum_{i in T} ln softmax(Z_i)[y_i]        T: the training nodes (140 on Cora's Planetoid split)
           (+ the model's L2 penalty)

Validation reports the loss and accuracy on the validation nodes. Which of them keeps the best weights and drives early
stopping is the recipe's ``select``:

    accuracy   the first epoch with the highest validation accuracy (Kipf & Welling's models, PyG's examples)
    loss       the epoch with the lowest validation loss
    gat        Veličković et al.'s code: patience runs out when neither the validation accuracy nor the validation
               loss reached its best so far (>=, <=) for ``early_stop`` epochs; the kept weights are those of the
               last epoch that reached one of them (their code keeps the last epoch that reached both at once,
               which one main metric cannot tell the engine apart from its patience; see :class:`NewBests`)

Features are row-normalised first
(each node's features sum to 1: Kipf & Welling's and Veličković et al.'s preprocessing, PyTorch Geometric's
``NormalizeFeatures``), and kept sparse when they are mostly zeros (:class:`lmlab.nn.graph.SparseFeatures`).

References: Kipf & Welling 2017 (the setting and the GCN recipe); Veličković et al. 2018 (the GAT recipe).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.train.config import EngineConfig, check_engine_config
from lmlab.train.task import TrainingTask

FEATURE_NORMS = ("row", "none")
SELECTIONS = ("accuracy", "loss", "gat")
#: Features with at most this share of non-zeros are kept sparse (Cora: 1.3%, CiteSeer: 0.9%, PubMed: 10%).
SPARSE_BELOW = 0.25


@dataclass(kw_only=True)
class GraphTrainConfig(EngineConfig):
    """How a node classifier is trained: Kipf & Welling's recipe by default; each family's recipe
    (:data:`RECIPES`) changes some of it."""

    epochs: int = 200  # full-batch updates (one per epoch)
    batch_size: int = 1  # unused: every step reads the whole graph
    optimizer: str = "adam"
    lr: float = 0.01
    clip: float | None = None  # Kipf & Welling and Veličković et al. do not clip
    log_every: int = 1  # a metrics.jsonl row every epoch
    checkpoint_every: int = 50  # an epoch is one cheap update: a checkpoint every evaluation would cost 10x more
    amp: bool = False  # full precision: these graphs are small, and bf16 sparse products are not everywhere
    features: str = "row"  # row: each node's features divided by their sum; none: as read
    select: str = "accuracy"  # which validation figure keeps the weights and drives early stopping: one of SELECTIONS

    def __post_init__(self):
        check_engine_config(self)
        if self.features not in FEATURE_NORMS:
            raise LmlabError(f"--features must be one of {', '.join(FEATURE_NORMS)}, got {self.features!r}")
        if self.select not in SELECTIONS:
            raise LmlabError(f"--select must be one of {', '.join(SELECTIONS)}, got {self.select!r}")


#: Each family's default recipe (applied before --config and flags).
RECIPES: dict[str, dict[str, Any]] = {
    # Kipf & Welling 5.1: Adam 0.01, 200 epochs, L2 5e-4 on the first layer (GCNConfig.l2_first)
    "gcn": {},
    "mlp": {},
    "sage": {},
    # Veličković et al. 3.3 and their execute_cora.py: Adam 0.005, L2 5e-4 (matrices), up to 100,000 epochs with a
    # patience of 100 on the validation accuracy and loss together (on Cora it runs out after 500 to 800 epochs)
    "gat": {"lr": 0.005, "weight_decay": 5e-4, "epochs": 100_000, "early_stop": 100, "select": "gat"},
}


@dataclass
class NewBests:
    """Veličković et al.'s early-stopping record: the best validation accuracy and loss so far, and how many
    validations reached either (accuracy >= its best, or loss <= its best). That count only grows, and grows exactly
    when their patience starts again, so as the main metric it makes the engine's early stopping theirs.

    >>> record = NewBests()
    >>> [record.update(a, l) for a, l in [(0.5, 1.0), (0.6, 1.1), (0.55, 1.05), (0.55, 0.9), (0.6, 0.95)]]
    [1, 2, 2, 3, 4]

    References: Veličković et al. 2018 (github.com/PetarV-/GAT, execute_cora.py: the patience of 100 epochs).
    """

    best_accuracy: float = -math.inf
    best_loss: float = math.inf
    count: int = 0

    def update(self, accuracy: float, loss: float) -> int:
        if accuracy >= self.best_accuracy or loss <= self.best_loss:
            self.count += 1
        self.best_accuracy = max(self.best_accuracy, accuracy)
        self.best_loss = min(self.best_loss, loss)
        return self.count


@functools.cache
def training_config_class(model_config: type) -> type:
    """One dataclass with the family's hyperparameters and the training recipe (every field a flag, a key of a
    --config file, and saved in the checkpoint)."""

    @dataclass(kw_only=True)
    class Config(model_config, GraphTrainConfig):  # type: ignore[misc, valid-type]
        family: ClassVar[str] = model_config.family

        def __post_init__(self):
            model_config.__post_init__(self)
            GraphTrainConfig.__post_init__(self)

    Config.__name__ = Config.__qualname__ = f"{model_config.__name__.removesuffix('Config')}TrainConfig"
    return Config


def normalize_features(x: np.ndarray, how: str) -> np.ndarray:
    """``row``: each row divided by its sum (a row summing to 0 stays as it is); ``none``: unchanged.

    >>> normalize_features(np.array([[1.0, 3.0], [0.0, 0.0]]), "row").tolist()
    [[0.25, 0.75], [0.0, 0.0]]
    """
    if how == "none":
        return x
    if how != "row":
        raise LmlabError(f"--features must be one of {', '.join(FEATURE_NORMS)}, got {how!r}")
    sums = x.sum(axis=1, keepdims=True)
    return np.divide(x, sums, out=np.zeros_like(x), where=sums != 0).astype(x.dtype, copy=False)


def node_inputs(data: Any, features: str):
    """The network's inputs for a :class:`lmlab.graph.data.GraphData`: the normalised features (sparse when mostly
    zeros) and the :class:`lmlab.nn.graph.Graph`."""
    from lmlab.nn.graph import Graph, SparseFeatures

    x = torch.from_numpy(np.ascontiguousarray(normalize_features(data.features, features), dtype=np.float32))
    if x.numel() and torch.count_nonzero(x).item() <= SPARSE_BELOW * x.numel():
        x = SparseFeatures.from_dense(x)
    return x, Graph(torch.from_numpy(data.edges), data.num_nodes)


def _move(x, graph, device):
    return x.to(device), graph.to(device)


class GraphTask(TrainingTask):
    name = "graph"
    unit = "nodes"
    main_metric = "accuracy"
    higher_is_better = True

    def __init__(self, cfg: Any, data: Any, split: Any):
        """``data``: a :class:`lmlab.graph.data.GraphData`; ``split``: a :class:`lmlab.graph.data.NodeSplit`."""
        from lmlab.graph.models import get_graph_model

        self.cfg, self.data, self.split = cfg, data, split
        # the metric that keeps the weights and drives early stopping, from the recipe (see the module docstring)
        self.main_metric = {"accuracy": "accuracy", "loss": "loss", "gat": "new_bests"}[cfg.select]
        self.higher_is_better = cfg.select != "loss"
        self.family = cfg.family
        self.network_class = get_graph_model(cfg.family).network_class()
        self.classes = list(data.classes)

    def prepare(self, scratch: Path, seed: int) -> None:
        if self.split.train.size == 0:
            raise LmlabError("the split has no training nodes")
        if self.cfg.in_features != self.data.num_features:
            raise LmlabError(f"the model reads {self.cfg.in_features} features, the graph has {self.data.num_features}")
        self.x, self.graph = node_inputs(self.data, self.cfg.features)
        self.y = torch.from_numpy(self.data.labels)
        self.train_nodes = torch.from_numpy(self.split.train)
        self.valid_nodes = torch.from_numpy(self.split.valid)
        self._device: torch.device | None = None
        self.new_bests = NewBests()

    def batch_rows(self) -> None:
        return None  # every update sees the whole graph; the processes share its training nodes

    @property
    def steps_per_epoch(self) -> int:
        return 1

    @property
    def train_size(self) -> int:
        return int(self.split.train.size)

    @property
    def has_validation(self) -> bool:
        return self.split.valid.size > 0

    def build_network(self) -> nn.Module:
        self.net = self.network_class(self.cfg)
        if self.cfg.init != "default":  # the families' own Glorot initialisation otherwise
            from lmlab.nn.init import init_parameters

            init_parameters(self.net, self.cfg.init, self.cfg.init_range)
        return self.net

    def _to_network_device(self) -> None:
        """Move the inputs once to where the engine put the network."""
        device = next(self.net.parameters()).device
        if device != self._device:
            self.x, self.graph = _move(self.x, self.graph, device)
            self.y, self.train_nodes, self.valid_nodes = (
                t.to(device) for t in (self.y, self.train_nodes, self.valid_nodes)
            )
            self._device = device

    def train_step(self, forward: Callable, step: int, state: Any) -> tuple[Tensor, int, Any]:
        self._to_network_device()
        logits = forward(self.x, self.graph).logits
        nodes = self.shard.rows(self.train_nodes)  # this process's training nodes (all of them on one process)
        loss = F.cross_entropy(logits.index_select(0, nodes).float(), self.y.index_select(0, nodes))
        penalty = self.net.penalty()
        return (loss if penalty is None else loss + penalty), int(nodes.numel()), None

    @torch.no_grad()
    def validate(self, subset: int | None = None) -> dict[str, float]:
        """Loss and accuracy on the validation nodes (all of them: one forward pass computes every node anyway)."""
        self._to_network_device()
        logits = self.net(self.x, self.graph).logits.index_select(0, self.valid_nodes).float()
        y = self.y.index_select(0, self.valid_nodes)
        metrics = {
            "loss": float(F.cross_entropy(logits, y)),
            "accuracy": float((logits.argmax(dim=1) == y).double().mean()),
        }
        if self.cfg.select == "gat":
            metrics["new_bests"] = self.new_bests.update(metrics["accuracy"], metrics["loss"])
        return metrics

    def validation_size(self) -> int:
        return int(self.valid_nodes.numel())

    def fingerprint(self) -> dict[str, Any]:
        # the early-stopping record travels with each checkpoint, so a resumed run stops where an unbroken one would
        info = {"graph_sha256": self.data.sha256, "split_sha256": self.split.sha256(), "classes": self.classes}
        return info | ({"new_bests": dataclasses.asdict(self.new_bests)} if self.cfg.select == "gat" else {})

    def check_resume(self, info: dict[str, Any], run: Path) -> None:
        if info.get("graph_sha256") != self.data.sha256 or info.get("classes") != self.classes:
            raise LmlabError(
                f"--resume {run}: the graph is not the graph of the checkpoint "
                f"(it was {info.get('data', {}).get('spec')!r}); resume with the same --data"
            )
        if info.get("split_sha256") != self.split.sha256():
            raise LmlabError(f"--resume {run}: the split of the nodes is not the checkpoint's")
        record = info.get("new_bests")
        if isinstance(record, dict):
            try:
                self.new_bests = NewBests(
                    best_accuracy=float(record["best_accuracy"]),
                    best_loss=float(record["best_loss"]),
                    count=int(record["count"]),
                )
            except (KeyError, TypeError, ValueError):
                raise LmlabError(f"--resume {run}: the checkpoint's field 'new_bests' is damaged") from None

    def write_static_files(self, directory: Path) -> None:
        return None  # the classes and the split are in config.json; the graph is re-read from --data

    def run_config(self, info: Any) -> dict[str, Any]:
        return run_config(self.family, self.cfg, self.classes, info.data, info.command, info.stats)

    def result(self) -> NodeClassifier:
        return NodeClassifier(self.net, self.cfg, self.classes)


def run_config(
    family: str, cfg: Any, classes: Sequence[str], data: dict[str, Any], command: str, stats: dict[str, Any]
) -> dict[str, Any]:
    """A graph run's ``config.json``."""
    from lmlab.runconfig import RunInfo, run_envelope

    model = cfg.to_dict() if hasattr(cfg, "to_dict") else dataclasses.asdict(cfg)
    info = RunInfo(data=data, command=command, stats=stats)
    return run_envelope("graph", family, model, info, classes=list(classes))


class NodeClassifier:
    """A trained network with its configuration and classes: what ``lmlab eval``, ``lmlab plot --embeddings`` and
    ``lmlab attention`` use. Every method reads a whole graph (:class:`lmlab.graph.data.GraphData`)."""

    def __init__(self, net: nn.Module, cfg: Any, classes: Sequence[str]):
        self.net, self.cfg, self.classes = net, cfg, list(classes)
        self.family = cfg.family
        self.net.eval()

    def _inputs(self, data: Any):
        if data.num_features != self.cfg.in_features:
            raise LmlabError(
                f"the model reads {self.cfg.in_features:,} features per node; {data.name} has {data.num_features:,}"
            )
        device = next(self.net.parameters()).device
        return _move(*node_inputs(data, self.cfg.features), device)

    @torch.no_grad()
    def outputs(self, data: Any, split: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """(logits (N, C), hidden representations (N, D)) of every node, in eval mode."""
        x, graph = self._inputs(data)
        out = self.net(x, graph)
        return out.logits.double().cpu().numpy(), out.hidden.double().cpu().numpy()

    def logits(self, data: Any, split: Any = None) -> np.ndarray:
        return self.outputs(data, split)[0]

    def embeddings(self, data: Any, split: Any = None) -> np.ndarray:
        return self.outputs(data, split)[1]

    def attention(self, data: Any) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """Every layer's (edges (2, E), alpha (E, heads)) for an attention model, else None."""
        if not hasattr(self.net, "attention"):
            return None
        x, graph = self._inputs(data)
        return [(e.cpu().numpy(), a.double().cpu().numpy()) for e, a in self.net.attention(x, graph)]

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())


def train_node_classifier(
    cfg: Any, data: Any, split: Any, opts: Any, out: Path, *, callbacks: Sequence[Callable] = ()
) -> NodeClassifier:
    """Train a node classifier on the engine and leave a complete run directory at ``out``."""
    from lmlab.train.loop import train_task

    return train_task(GraphTask(cfg, data, split), opts, out, callbacks=callbacks)


def load_node_classifier(run_dir: Path, run_cfg: dict[str, Any]) -> NodeClassifier:
    from lmlab.graph.models import get_graph_model
    from lmlab.nn.weights import load_network
    from lmlab.runfiles import config_from_json

    entry = get_graph_model(run_cfg["family"])
    cfg = config_from_json(entry.train_config_class(), run_cfg.get("model"), str(run_dir / "config.json"), "model.")
    if cfg.num_classes != len(run_cfg["classes"]):
        raise LmlabError(
            f"{run_dir}/config.json: {cfg.num_classes} classes in 'model', {len(run_cfg['classes'])} listed"
        )
    network_class = entry.network_class()
    net = load_network(run_dir / "model.safetensors", lambda: network_class(cfg))  # shapes checked first
    return NodeClassifier(net, cfg, run_cfg["classes"])


def load_graph_run(run_dir: str | Path) -> tuple[Any, dict[str, Any]]:
    """The trained model of a graph run (any family, through its table entry) and its config."""
    from lmlab.graph.models import get_graph_model
    from lmlab.runconfig import read_run_config

    run_dir = Path(run_dir)
    cfg = read_run_config(run_dir)
    if cfg.get("task") != "graph":
        raise LmlabError(f"{run_dir} is not a graph run (its task is {cfg.get('task', 'lm')!r})")
    classes = cfg.get("classes")
    if not isinstance(classes, list) or len(classes) < 2 or not all(isinstance(c, str) for c in classes):
        raise LmlabError(f"{run_dir}/config.json: field 'classes' must be a list of at least two strings")
    entry = get_graph_model(cfg.get("family", ""))
    return entry.loader_fn()(run_dir, cfg), cfg


def evaluate_nodes(model: Any, data: Any, split: Any, part: str) -> tuple[dict[str, Any], Any]:
    """Accuracy, macro-F1, per-class figures and the loss of ``model`` on the ``part`` nodes of ``split``.

    The graph's classes must be the model's (a node's label is an index into them)."""
    from lmlab.metrics import classification_report

    if list(data.classes) != list(model.classes):
        raise LmlabError(
            f"{data.name}'s classes ({', '.join(data.classes)}) are not the model's ({', '.join(model.classes)})"
        )
    nodes = split.nodes(part)
    if nodes.size == 0:
        raise LmlabError(f"the {part} split has no nodes")
    logits = model.logits(data, split)[nodes]
    true = data.labels[nodes]
    logp = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
    report = classification_report(true, logits.argmax(axis=1), model.classes)
    loss = float(-logp[np.arange(true.size), true].mean())
    return {**report.to_dict(), "nodes": int(nodes.size), "loss": loss if math.isfinite(loss) else None}, report


__all__ = [
    "FEATURE_NORMS",
    "RECIPES",
    "GraphTask",
    "GraphTrainConfig",
    "NewBests",
    "NodeClassifier",
    "SELECTIONS",
    "evaluate_nodes",
    "load_graph_run",
    "load_node_classifier",
    "node_inputs",
    "normalize_features",
    "train_node_classifier",
    "training_config_class",
]
