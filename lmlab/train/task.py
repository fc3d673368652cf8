"""What the training engine asks of a task: its batches, its loss with its denominator, its metrics.

The engine (:class:`lmlab.train.loop.Trainer`) owns the optimizer, the schedule, clipping, checkpoints and exact
resume, early stopping, the time budget, the progress bar, ``metrics.jsonl`` and Ctrl-C; it never asks which task
or model it trains. A task says the rest (the split of fairseq's task and criterion, and of Lightning's module and
Trainer)::

    task.prepare(scratch, seed)                  checks and encodes the data; no writes to the run
    net = task.build_network()                   after the engine seeds the generator
    loss, n, state = task.train_step(forward, step, state)
                                                 loss averaged over n units (tokens, examples) of batch `step`
                                                 (of this process's rows of it: task.shard, on several processes)
    task.after_update()                          e.g. a max-norm constraint after the optimizer's step
    metrics = task.validate(subset)              {"loss": ..., "perplexity"/"accuracy": ...}

``main_metric`` names the validation metric that picks the best weights, drives reduce-on-plateau and early
stopping; ``higher_is_better`` its direction. The engine logs every validation metric as ``val_<name>``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from torch import Tensor, nn

from lmlab.train.config import EngineConfig
from lmlab.train.distributed import Shard


class TrainingTask(ABC):
    """One task's side of a training run; see the module docstring for the order of the calls."""

    #: The task's name in run directories and on the command line (``--task``).
    name: ClassVar[str]
    #: What the training loss is averaged over and the throughput counts ("tokens", "examples").
    unit: ClassVar[str]
    #: The validation metric that selects the best weights, and its direction.
    main_metric: ClassVar[str]
    higher_is_better: ClassVar[bool]
    #: Whether train_step's state runs on from one batch to the next (truncated BPTT); saved in checkpoints.
    carries_state: ClassVar[bool] = False

    cfg: EngineConfig
    family: str  # the model family trained (recorded in checkpoints)
    #: this process's share of every batch (the engine sets it when training on several processes): a task takes
    #: ``shard.rows(...)`` of each global batch it builds, and returns the units of its own rows
    shard: Shard = Shard()

    @abstractmethod
    def prepare(self, scratch: Path, seed: int) -> None:
        """Check and encode the training data into ``scratch`` (a temporary folder); build the batch source."""

    @property
    @abstractmethod
    def steps_per_epoch(self) -> int:
        """Updates in one pass over the training data."""

    @property
    @abstractmethod
    def train_size(self) -> int:
        """Units (tokens, examples) in the training split, for the run's statistics."""

    @abstractmethod
    def build_network(self) -> nn.Module:
        """Build and initialise the network (the generator is already seeded); the task keeps it for validate."""

    @abstractmethod
    def train_step(self, forward: Callable, step: int, state: Any) -> tuple[Tensor, Tensor | int, Any]:
        """Forward and loss on batch ``step``: ``(loss averaged over n units, n, state for the next batch)``."""

    def batch_rows(self) -> int | None:
        """Rows (sequences, examples) of every global batch, which must split evenly over the processes; None when
        batches are not counted in rows (a budget of tokens, a whole graph)."""
        return self.cfg.batch_size

    def state_batch_dims(self) -> list[int]:
        """The batch dimension of each tensor of the carried state (tasks with ``carries_state``)."""
        raise NotImplementedError(f"the {self.name} task carries no state between batches")

    def after_update(self) -> None:
        """Called after every optimizer step (constraints on the weights); nothing by default."""
        return None

    @abstractmethod
    def validate(self, subset: int | None = None) -> dict[str, float]:
        """Validation metrics (``main_metric`` among them), measured with the network in eval mode: on the first
        ``subset`` units (tokens, examples) of the validation split, always the same ones, or on all of it."""

    def validation_size(self) -> int:
        """Units (tokens, examples) in the validation split."""
        return 0

    def train_metrics(self, mean_loss: float) -> dict[str, float]:
        """Extra figures of a training-loss row (e.g. the training perplexity)."""
        return {}

    @property
    def has_validation(self) -> bool:
        return True

    @abstractmethod
    def fingerprint(self) -> dict[str, Any]:
        """What a checkpoint records to recognise the same data and vocabulary on resume."""

    def check_resume(self, info: dict[str, Any], run: Path) -> None:
        """Refuse to resume (LmlabError) when the data or vocabulary differ from the checkpoint's."""
        return None

    @abstractmethod
    def write_static_files(self, directory: Path) -> None:
        """Files written once at the start of a fresh run (the tokenizer, the label set)."""

    @abstractmethod
    def run_config(self, info: Any) -> dict[str, Any]:
        """The run's ``config.json`` (a :class:`lmlab.runconfig.RunInfo` carries the data, command and statistics)."""

    def finish(self, directory: Path) -> None:
        """Called once the best weights are back in the network at the end of a run (reports, pictures)."""
        return None

    def result(self) -> Any:
        """What the trainer function returns (the trained model)."""
        return None


__all__ = ["TrainingTask"]
