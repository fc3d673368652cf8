"""Where this process stands among the processes torchrun started (read from its environment; no PyTorch import,
so that the command line can ask before it loads anything)."""

from __future__ import annotations

import os

#: torchrun's variables for the process's place among all processes
ENV_RANK, ENV_WORLD, ENV_LOCAL = "RANK", "WORLD_SIZE", "LOCAL_RANK"


def world_size_from_env() -> int:
    """The number of processes torchrun started (1 outside torchrun)."""
    try:
        return max(1, int(os.environ.get(ENV_WORLD, "1")))
    except ValueError:
        return 1


def rank_from_env() -> int:
    try:
        return int(os.environ.get(ENV_RANK, "0"))
    except ValueError:
        return 0


def is_worker() -> bool:
    """True in a process of rank > 0 of a multi-process run: it reports nothing, rank 0 does."""
    return world_size_from_env() > 1 and rank_from_env() > 0


__all__ = ["ENV_LOCAL", "ENV_RANK", "ENV_WORLD", "is_worker", "rank_from_env", "world_size_from_env"]
