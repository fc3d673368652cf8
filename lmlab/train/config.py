"""The training recipe every neural family shares: length, batching, optimizer, schedule, initialisation, device.

Each neural family's configuration dataclass extends :class:`TrainConfig` with its architecture (and may change
the defaults of the recipe), so that every field is a ``lmlab train`` flag and a key of a ``--config`` TOML file
and of a ``--preset``. Values are checked here, before anything is written, and a bad one is an
:class:`~lmlab.errors.LmlabError` naming the flag.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from lmlab.errors import LmlabError

OPTIMIZERS = ("sgd", "adagrad", "adadelta", "rmsprop", "adam", "adamw")
SCHEDULES = ("constant", "step", "plateau", "cosine", "inverse-sqrt")
INIT_SCHEMES = ("default", "uniform", "xavier", "kaiming", "orthogonal")  # see lmlab.nn.init
#: Fields a resumed run may change: they decide how long and where it runs, not what it computes.
RESUMABLE = (
    "epochs", "max_steps", "max_seconds", "device", "threads", "compile", "log_every", "tensorboard", "plot",
    "checkpoint_every",
)  # fmt: skip


@dataclass
class EngineConfig:
    """How any network is trained, whatever the task: length, batch size, optimizer, schedule, initialisation,
    validation and device. The defaults are a safe start (AdamW, constant rate); presets hold published recipes.
    Each task extends it (language models with :class:`lmlab.lm.config.TrainConfig`, classifiers with theirs)."""

    family: ClassVar[str] = ""  # set by each family's subclass

    # how long
    epochs: int = 10  # passes over the training data
    max_steps: int | None = None  # stop after this many updates, whatever the epochs say
    max_seconds: float | None = None  # stop (evaluate and save) once training has run this long

    # batches
    batch_size: int = 32  # B: examples (or parallel streams, or blocks) per update

    # optimizer
    optimizer: str = "adamw"  # one of OPTIMIZERS
    lr: float = 1e-3  # peak learning rate
    momentum: float = 0.0  # sgd and rmsprop: the momentum factor
    nesterov: bool = False  # sgd with momentum > 0: Nesterov's momentum
    beta1: float = 0.9  # adam and adamw: decay of the gradient's running mean
    beta2: float = 0.999  # adam and adamw: decay of the squared gradient's running mean
    rho: float = 0.95  # adadelta: decay of its running averages (Kim 2014's value)
    weight_decay: float = 0.0  # L2 penalty (decoupled for adamw)
    clip: float | None = 1.0  # clip the gradient's global L2 norm to this; None: no clipping

    # learning-rate schedule
    schedule: str = "constant"  # one of SCHEDULES
    warmup_steps: int = 0  # linear warm-up from lr / warmup_steps to lr
    lr_decay: float = 0.5  # step: factor applied each epoch after decay_after
    decay_after: int = 4  # step: epochs at the full rate before decaying
    plateau_factor: float = 4.0  # plateau: divide lr by this when validation stalls
    plateau_patience: int = 0  # plateau: evaluations without improvement tolerated first
    min_lr: float = 0.0  # cosine: the rate at the end

    # initialisation
    init: str = "default"  # one of INIT_SCHEMES
    init_range: float = 0.1  # uniform: U(-init_range, init_range)

    # validation, early stopping, logging
    eval_every: int | None = None  # evaluate every this many steps; None: at the end of each epoch
    eval_seconds: float | None = None  # or: evaluate each time training has run this much longer (seconds)
    val_subset: int | None = 20_000  # validate on the first this many units (tokens, examples) of the validation
    # split while training (the same subset each time); the whole split is measured once, at the end
    early_stop: int | None = None  # stop after this many evaluations without improvement; None: never
    checkpoint_every: int = 1  # write the checkpoint (and the run's files) every this many evaluations, and at the
    # end; more than 1 where an evaluation is far cheaper than a checkpoint (a graph's epoch is one update)
    log_every: int = 50  # one metrics.jsonl row every this many steps

    # where
    device: str = "auto"  # auto, cpu, cuda, cuda:N or mps (auto: cuda, then mps, then cpu)
    threads: int | None = None  # CPU threads per operator; None: chosen by timing steps (lmlab.threads)
    amp: bool = True  # bf16 autocast on CUDA (ignored elsewhere)
    compile: bool = False  # torch.compile the network (falls back to eager where unavailable)
    tensorboard: bool = False  # also write TensorBoard event files to RUN/tensorboard
    plot: bool = False  # write RUN/curves.png at the end

    def __post_init__(self):
        check_engine_config(self)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_engine_config(cfg: EngineConfig) -> None:
    """Every recipe value in range, or an LmlabError naming the flag and what is allowed."""

    def need(ok: bool, name: str, allowed: str) -> None:
        if not ok:
            raise LmlabError(f"{_flag(name)} must be {allowed}, got {getattr(cfg, name)!r}")

    def positive_int(name: str, *, optional: bool = False) -> None:
        v = getattr(cfg, name)
        if optional and v is None:
            return
        need(isinstance(v, int) and not isinstance(v, bool) and v >= 1, name, "an integer >= 1")

    def finite(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

    for name in ("epochs", "batch_size", "log_every", "checkpoint_every"):
        positive_int(name)
    for name in ("max_steps", "eval_every", "early_stop", "val_subset", "threads"):
        positive_int(name, optional=True)
    need(cfg.threads is None or cfg.threads <= 1024, "threads", "at most 1024")
    need(cfg.eval_seconds is None or (finite(cfg.eval_seconds) and cfg.eval_seconds > 0), "eval_seconds", "> 0")
    need(cfg.eval_every is None or cfg.eval_seconds is None, "eval_seconds", "used without --eval-every")
    need(cfg.max_seconds is None or (finite(cfg.max_seconds) and cfg.max_seconds > 0), "max_seconds", "> 0")
    need(cfg.optimizer in OPTIMIZERS, "optimizer", f"one of {', '.join(OPTIMIZERS)}")
    need(finite(cfg.lr) and cfg.lr > 0, "lr", "> 0")
    need(finite(cfg.momentum) and 0 <= cfg.momentum < 1, "momentum", "in [0, 1)")
    if cfg.nesterov:
        need(cfg.optimizer == "sgd" and cfg.momentum > 0, "nesterov", "used only with --optimizer sgd --momentum > 0")
    for name in ("beta1", "beta2", "rho"):
        need(finite(getattr(cfg, name)) and 0 <= getattr(cfg, name) < 1, name, "in [0, 1)")
    need(finite(cfg.weight_decay) and cfg.weight_decay >= 0, "weight_decay", ">= 0")
    need(cfg.clip is None or (finite(cfg.clip) and cfg.clip > 0), "clip", "> 0 (or none for no clipping)")
    need(cfg.schedule in SCHEDULES, "schedule", f"one of {', '.join(SCHEDULES)}")
    need(isinstance(cfg.warmup_steps, int) and cfg.warmup_steps >= 0, "warmup_steps", "an integer >= 0")
    need(finite(cfg.lr_decay) and 0 < cfg.lr_decay <= 1, "lr_decay", "in (0, 1]")
    need(isinstance(cfg.decay_after, int) and cfg.decay_after >= 0, "decay_after", "an integer >= 0")
    need(finite(cfg.plateau_factor) and cfg.plateau_factor > 1, "plateau_factor", "> 1")
    need(isinstance(cfg.plateau_patience, int) and cfg.plateau_patience >= 0, "plateau_patience", "an integer >= 0")
    need(finite(cfg.min_lr) and 0 <= cfg.min_lr <= cfg.lr, "min_lr", f"in [0, lr = {cfg.lr}]")
    need(cfg.init in INIT_SCHEMES, "init", f"one of {', '.join(INIT_SCHEMES)}")
    need(finite(cfg.init_range) and cfg.init_range > 0, "init_range", "> 0")
    need(
        isinstance(cfg.device, str) and re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", cfg.device) is not None,
        "device",
        "auto, cpu, cuda, cuda:N or mps",
    )


def check_probability(value: Any, name: str) -> None:
    """A dropout-like probability in [0, 1), or an LmlabError naming the flag."""
    if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1):
        raise LmlabError(f"{_flag(name)} must be in [0, 1), got {value!r}")


#: Upper bounds on architecture sizes: far above any model trained with lmlab, low enough that a damaged or
#: hostile configuration cannot ask for terabytes or for a million layers.
MAX_SIZE = 2**20
MAX_LAYERS = 1024


def check_positive(value: Any, name: str, maximum: int | None = None) -> None:
    """An integer from 1 to ``maximum`` (:data:`MAX_LAYERS` for ``n_layer``, else :data:`MAX_SIZE`), or an
    LmlabError naming the flag."""
    if maximum is None:
        maximum = MAX_LAYERS if name == "n_layer" else MAX_SIZE
    if not (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        raise LmlabError(f"{_flag(name)} must be an integer >= 1, got {value!r}")
    if value > maximum:
        raise LmlabError(f"{_flag(name)} must be at most {maximum:,}, got {value:,}")


__all__ = [
    "EngineConfig",
    "MAX_LAYERS",
    "MAX_SIZE",
    "INIT_SCHEMES",
    "OPTIMIZERS",
    "RESUMABLE",
    "SCHEDULES",
    "check_positive",
    "check_probability",
    "check_engine_config",
]
