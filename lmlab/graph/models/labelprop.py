"""Label propagation (``labelprop``): no features, no learning; the training labels spread over the edges.

With Y (N, C) the one-hot labels of the training nodes (rows of zeros elsewhere) and S = D^-1/2 A D^-1/2 (no
self-loops), iterate (Zhou et al. 2004, eq. 1 of the algorithm)::

    F_0 = Y,     F_{t+1} = alpha S F_t + (1 - alpha) Y,     predict argmax_c F_i

which tends to (1 - alpha) (I - alpha S)^-1 Y: every labelled node's label diffused along paths, damped by alpha per
step. It reads only the graph and the training labels, so beside the MLP (features, no graph) it shows what the
graph alone gives. Its "logits" are ln of F's rows normalised to sum to 1 (uniform for a node no label reached),
and its node representations are F's rows.

References: Zhou, Bousquet, Lal, Weston & Schölkopf 2004, "Learning with Local and Global Consistency" (NIPS);
Zhu & Ghahramani 2002, "Learning from Labeled and Unlabeled Data with Label Propagation".
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from lmlab.errors import LmlabError
from lmlab.io import write_json
from lmlab.train.config import check_positive


@dataclass(kw_only=True)
class LabelPropConfig:
    family: ClassVar[str] = "labelprop"

    num_classes: int  # C, from the data
    alpha: float = 0.99  # how much of F comes from the neighbours at each step (Zhou et al.: 0.99)
    iterations: int = 200  # steps (alpha^200 = 0.13: the labels have spread over the whole of Cora's graph)

    def __post_init__(self):
        if not (isinstance(self.num_classes, int) and not isinstance(self.num_classes, bool) and self.num_classes >= 2):
            raise LmlabError(f"node classification needs at least 2 classes, got num_classes={self.num_classes!r}")
        a = self.alpha
        if not (isinstance(a, (int, float)) and not isinstance(a, bool) and math.isfinite(a) and 0 < a < 1):
            raise LmlabError(f"--alpha must be in (0, 1), got {a!r}")
        check_positive(self.iterations, "iterations")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def labelprop_train_config(config: type) -> type:
    """Label propagation has no training recipe: its flags are its own configuration's."""
    return config


def propagate(graph, labels: np.ndarray, train: np.ndarray, num_classes: int, alpha: float, iterations: int):
    """F after ``iterations`` steps (see the module docstring), as float64 (N, C).

    >>> from lmlab.nn.graph import Graph
    >>> g = Graph(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), 3)     # 0 - 1 - 2, node 0 labelled class 1
    >>> F = propagate(g, np.array([1, 0, 0]), np.array([0]), 2, 0.5, 50)
    >>> F.argmax(axis=1).tolist(), bool(F[1, 1] > F[2, 1] > 0)
    ([1, 1, 1], True)
    """
    y = torch.zeros(graph.num_nodes, num_classes, dtype=torch.float64)
    y[torch.from_numpy(train), torch.from_numpy(labels[train])] = 1.0
    f = y.clone()
    for _ in range(iterations):
        f = alpha * graph.matmul(f, "sym", self_loops=False) + (1.0 - alpha) * y
    return f.numpy()


class LabelPropagation:
    """Label propagation with a configuration; ``logits`` and ``embeddings`` propagate the split's training
    labels over a graph (:class:`lmlab.graph.data.GraphData`)."""

    def __init__(self, cfg: LabelPropConfig, classes: list[str]):
        self.cfg, self.classes, self.family = cfg, list(classes), "labelprop"

    def scores(self, data: Any, split: Any) -> np.ndarray:
        from lmlab.nn.graph import Graph

        if split is None:
            raise LmlabError("label propagation needs the split's training nodes")
        graph = Graph(torch.from_numpy(data.edges), data.num_nodes)
        return propagate(graph, data.labels, split.train, len(self.classes), self.cfg.alpha, self.cfg.iterations)

    def logits(self, data: Any, split: Any = None) -> np.ndarray:
        f = np.clip(self.scores(data, split), 0.0, None)
        sums = f.sum(axis=1, keepdims=True)
        p = np.where(sums > 0, f / np.where(sums > 0, sums, 1.0), 1.0 / f.shape[1])
        return np.log(np.clip(p, 1e-300, None))

    def embeddings(self, data: Any, split: Any = None) -> np.ndarray:
        return self.scores(data, split)

    def attention(self, data: Any) -> None:
        return None

    def num_parameters(self) -> int:
        return 0


def train_labelprop(cfg: LabelPropConfig, data: Any, split: Any, opts: Any, out: Path) -> LabelPropagation:
    """Propagate once (for the statistics and the validation accuracy) and write the run: its config.json alone,
    since there are no weights (``lmlab eval`` propagates again)."""
    from lmlab.graph.task import run_config
    from lmlab.rundir import replace_run

    model = LabelPropagation(cfg, data.classes)
    t0 = time.perf_counter()
    logits = model.logits(data, split)
    seconds = time.perf_counter() - t0
    stats: dict[str, Any] = {
        "status": "completed",
        "train_nodes": int(split.train.size),
        "train_seconds": round(seconds, 3),
        "parameters": 0,
    }
    if split.valid.size:
        stats["best_val_accuracy"] = float((logits[split.valid].argmax(axis=1) == data.labels[split.valid]).mean())
    with replace_run(out, opts.command or None) as tmp:
        write_json(tmp / "config.json", run_config("labelprop", cfg, data.classes, opts.data_info, opts.command, stats))
    return model


def load_labelprop(run_dir: Path, run_cfg: dict[str, Any]) -> LabelPropagation:
    from lmlab.runfiles import config_from_json

    cfg = config_from_json(LabelPropConfig, run_cfg.get("model"), str(Path(run_dir) / "config.json"), "model.")
    if cfg.num_classes != len(run_cfg["classes"]):
        raise LmlabError(
            f"{run_dir}/config.json: {cfg.num_classes} classes in 'model', {len(run_cfg['classes'])} listed"
        )
    return LabelPropagation(cfg, run_cfg["classes"])


__all__ = ["LabelPropConfig", "LabelPropagation", "load_labelprop", "propagate", "train_labelprop"]
