"""Options every family's trainer receives, whatever its own configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainOptions:
    seed: int = 0
    command: str = ""  # the command line that started the run, recorded for reproduction
    data_info: dict[str, Any] = field(default_factory=dict)  # what --data named and where it was read from
    progress: bool = True
    # neural families (the recipe itself, --lr, --epochs, ..., is each family's config; see lmlab.train.config)
    resume: bool = False  # continue the run in the output directory from its last checkpoint
    preset: str | None = None  # the --preset the configuration started from, recorded in the run
