"""Training on several processes: PyTorch's DistributedDataParallel, launched by ``torchrun``.

``torchrun --standalone --nproc-per-node N -m lmlab train ...`` (or ``lmlab train --nproc N ...``) starts N copies
of the same command; torchrun gives each its ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``. The engine then trains
one model on all of them, so that N processes follow the optimisation of one process with the same global batch:

* every process computes the same global batch ``step`` (batches depend only on the seed and the step) and keeps
  its rows: rank r of W takes the r-th contiguous share (:class:`Shard`); ``--batch-size`` stays the global batch;
* each process's loss is the mean over its n_r units (tokens, examples); the engine weights it by W n_r / N,
  N = sum_r n_r, before DDP averages the gradients over the W processes, so the update is the gradient of the
  global mean, (1/N) sum_r n_r loss_r, exactly as one process computes it;
* rank 0 alone writes the run (its files, checkpoints, metrics.jsonl, the progress bar) and validates; the metrics
  are broadcast, so every process takes the same decisions (best weights, plateau schedule, early stopping);
* the time budget and Ctrl-C/SIGTERM are agreed on after every step (a max over the processes), so all stop at the
  same step and rank 0 saves;
* random numbers for dropout and sampling are drawn from a generator seeded by (seed, step, rank) at each step, so
  a checkpoint holds no per-process state: it is the same for any number of processes, and a run resumes with a
  different number of them.

Collectives time out (``LMLAB_DIST_TIMEOUT`` seconds, default 1800), so a lost process ends the others with an
error rather than a hang; torchrun itself stops the others as soon as one fails.

References: Li et al. 2020, "PyTorch Distributed: Experiences on Accelerating Data Parallel Training";
the PyTorch DDP tutorial and torchrun's documentation.
"""

from __future__ import annotations

import datetime
import logging
import os
import warnings
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
import torch
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.train.ranks import ENV_LOCAL, is_worker, rank_from_env, world_size_from_env

T = TypeVar("T")


class Shard:
    """Process ``rank``'s share of every batch of ``size`` processes: a contiguous block of rows.

    With 5 rows over 2 processes, rank 0 takes 3 and rank 1 takes 2 (``np.array_split``'s rule). A batch with
    fewer rows than processes (the last batch of an epoch) leaves some processes without a row; those take the
    batch's first row to keep the collective steps in step, and set :attr:`borrowed` so that the engine counts
    them with weight 0.

    >>> a = np.arange(5)
    >>> Shard(0, 2).rows(a).tolist(), Shard(1, 2).rows(a).tolist()
    ([0, 1, 2], [3, 4])
    >>> s = Shard(2, 3); s.rows(np.arange(2)).tolist(), s.borrowed
    ([0], True)
    """

    def __init__(self, rank: int = 0, size: int = 1):
        self.rank, self.size = rank, size
        self.borrowed = False

    @property
    def active(self) -> bool:
        return self.size > 1

    def bounds(self, n: int) -> tuple[int, int]:
        """Rows [a, b) of ``n`` that this process takes."""
        per, extra = divmod(n, self.size)
        a = self.rank * per + min(self.rank, extra)
        return a, a + per + (1 if self.rank < extra else 0)

    def rows(self, batch: T) -> T:
        """This process's rows of ``batch`` (an array, tensor or list; dim 0 is the batch)."""
        if self.size == 1:
            return batch
        a, b = self.bounds(len(batch))  # type: ignore[arg-type]
        if a == b:
            self.borrowed = True
            return batch[:1]  # type: ignore[index]
        return batch[a:b]  # type: ignore[index]


def rank_seed(seed: int, step: int, rank: int) -> int:
    """The seed of process ``rank``'s generator at ``step``: independent streams for every (seed, step, rank).

    >>> rank_seed(0, 5, 1) != rank_seed(0, 5, 0) != rank_seed(0, 6, 0)
    True
    """
    return int(np.random.SeedSequence((seed, step, rank)).generate_state(1, dtype=np.uint64)[0] >> 1)


class World:
    """The processes of one run: ``rank`` of ``size``. One process (``size == 1``) makes every call a no-op."""

    def __init__(self, rank: int = 0, size: int = 1, local_rank: int = 0):
        self.rank, self.size, self.local_rank = rank, size, local_rank
        self.started = False

    @classmethod
    def from_env(cls) -> World:
        size = world_size_from_env()
        if size == 1:
            return cls()
        local = int(os.environ.get(ENV_LOCAL, "0"))
        return cls(rank_from_env(), size, local)

    @property
    def active(self) -> bool:
        return self.size > 1

    @property
    def writer(self) -> bool:
        """Whether this process writes the run (rank 0)."""
        return self.rank == 0

    def shard(self) -> Shard:
        return Shard(self.rank, self.size)

    # ---- the process group
    def device(self, device: torch.device) -> torch.device:
        """The device of this process: its own GPU (``LOCAL_RANK``) when training on CUDA."""
        if self.active and device.type == "cuda":
            device = torch.device("cuda", self.local_rank)
            torch.cuda.set_device(device)
        return device

    def start(self, device: torch.device) -> None:
        """Join the other processes: gloo on CPUs, NCCL on GPUs."""
        if not self.active or self.started:
            return
        import torch.distributed as dist

        if not dist.is_available():
            raise LmlabError("this PyTorch build has no torch.distributed: train with one process")
        seconds = float(os.environ.get("LMLAB_DIST_TIMEOUT", "1800"))
        backend = "nccl" if device.type == "cuda" else "gloo"
        if not dist.is_initialized():
            try:
                dist.init_process_group(backend, timeout=datetime.timedelta(seconds=seconds))
            except getattr(dist, "DistError", RuntimeError) as e:  # the launcher gone, a port taken: no traceback
                reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                raise LmlabError(
                    f"training process {self.rank} of {self.size} could not join the others: {reason}"
                ) from None
        self.started = True

    def stop(self) -> None:
        if self.started:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
            self.started = False

    def wrap(self, net: nn.Module, device: torch.device) -> nn.Module:
        """The network as DDP, which averages the gradients over the processes during backward."""
        if not self.active:
            return net
        from torch.nn.parallel import DistributedDataParallel

        # a weight with a dimension of size 1 (a convolution over one channel) may have a gradient whose stride
        # along it differs from DDP's bucket: the same memory layout, yet DDP warns at every step
        warnings.filterwarnings("ignore", message="Grad strides do not match bucket view strides")
        # torch.compile of DDP says, on every process, that DDP's profiler annotations are ignored
        logging.getLogger("torch._dynamo").setLevel(logging.ERROR)
        ids = [device.index] if device.type == "cuda" else None
        return DistributedDataParallel(net, device_ids=ids, gradient_as_bucket_view=True)

    # ---- collectives (every process calls them, in the same order)
    def sum(self, values: Tensor) -> Tensor:
        """The sum over the processes of ``values`` (a new tensor)."""
        if not self.active:
            return values
        import torch.distributed as dist

        values = values.clone()
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
        return values

    def max(self, values: Sequence[int], device: torch.device) -> list[int]:
        """The largest of each integer over the processes (flags: any of them)."""
        if not self.active:
            return list(values)
        import torch.distributed as dist

        t = torch.tensor(list(values), dtype=torch.int64, device=device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return [int(v) for v in t.tolist()]

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` (anything JSON-like) on every process."""
        if not self.active:
            return obj
        import torch.distributed as dist

        box = [obj if self.writer else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather_rows(self, tensors: Sequence[Tensor], dims: Sequence[int]) -> tuple[Tensor, ...]:
        """Each tensor's rows (along its batch dim) from every process, in rank order: the whole batch's state."""
        if not self.active:
            return tuple(tensors)
        import torch.distributed as dist

        out = []
        for t, dim in zip(tensors, dims):
            sizes = self.max([t.size(dim) if r == self.rank else 0 for r in range(self.size)], t.device)
            parts = [t.new_empty(t.shape[:dim] + (n,) + t.shape[dim + 1 :]) for n in sizes]
            dist.all_gather(parts, t.contiguous())
            out.append(torch.cat(parts, dim=dim))
        return tuple(out)


def batch_dims(make_state, rows: int = 2) -> list[int]:
    """The batch dimension of each tensor of a carried state: where ``make_state(k)`` and ``make_state(k + 1)``
    differ in size (a recurrent state is (layers, B, H), a window of context (B, n))."""
    a, b = make_state(rows), make_state(rows + 1)
    dims = []
    for x, y in zip(a, b):
        differ = [d for d in range(x.dim()) if x.size(d) != y.size(d)]
        assert len(differ) == 1, "a carried state has one batch dimension"
        dims.append(differ[0])
    return dims


def split_rows(tensors: Sequence[Tensor], dims: Sequence[int], shard: Shard) -> tuple[Tensor, ...]:
    """Process ``shard``'s rows of a whole batch's state (the inverse of :meth:`World.gather_rows`)."""
    out = []
    for t, dim in zip(tensors, dims):
        a, b = shard.bounds(t.size(dim))
        out.append(t.narrow(dim, a, b - a).contiguous())
    return tuple(out)


def check_batch(rows: int | None, size: int, flag: str = "--batch-size") -> None:
    """A global batch of ``rows`` must split evenly over ``size`` processes (say the nearest valid values).

    >>> check_batch(64, 2)
    >>> check_batch(30, 4)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lmlab.errors.LmlabError: --batch-size 30 does not split evenly over 4 processes: use --batch-size 28 or 32, ...
    """
    if size < 1:
        raise LmlabError(f"the number of processes must be at least 1, got {size}")
    if rows is None or size == 1:
        return
    if size > rows:
        raise LmlabError(f"{size} processes are more than the global batch ({flag} {rows}): use at most {rows}")
    if rows % size:
        lower, upper = rows - rows % size, rows - rows % size + size
        batches = f"{flag} {lower} or {upper}" if lower else f"{flag} {upper}"
        counts = [k for k in range(2, min(rows, 64) + 1) if rows % k == 0][:5]
        procs = f", or {_either(counts)} processes" if counts else ""
        raise LmlabError(f"{flag} {rows} does not split evenly over {size} processes: use {batches}{procs}")


def _either(values: Sequence[int]) -> str:
    """A list of counts in words.

    >>> _either([2, 3, 5])
    '2, 3 or 5'
    """
    words = [str(v) for v in values]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


__all__ = [
    "Shard",
    "World",
    "batch_dims",
    "check_batch",
    "is_worker",
    "rank_seed",
    "split_rows",
    "world_size_from_env",
]
