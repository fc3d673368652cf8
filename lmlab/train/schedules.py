"""Learning-rate schedules: pure functions of the step (and of the validation history, for reduce-on-plateau).

``step`` counts updates from 0; ``epoch`` counts passes from 1. The rate used for update ``step`` is
:meth:`LRSchedule.lr` of it, the product of the named schedule, the linear warm-up and the plateau factor.

A run with a time budget (``--max-seconds``) follows the same schedule over its budget instead of its steps: at
a fraction f of the budget it uses the rate the step schedule gives at step f * S (:func:`progress_step`), so a
warm-up and a cosine decay planned for S steps end when the budget ends, however many steps fit in it.

References: Zaremba, Sutskever & Vinyals 2014 (step decay after a few epochs at full rate); the reduce-on-plateau
rule of the PyTorch word_language_model example (divide by 4 when validation does not improve); Loshchilov &
Hutter 2017, "SGDR: Stochastic Gradient Descent with Warm Restarts" (cosine decay); Goyal et al. 2017, "Accurate,
Large Minibatch SGD" (linear warm-up); Vaswani et al. 2017, "Attention Is All You Need" (inverse square root).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def step_decay_lr(epoch: int, lr: float, decay: float, decay_after: int) -> float:
    """``lr * decay ** max(0, epoch - decay_after)``: full rate for ``decay_after`` epochs, then decayed each epoch.

    Zaremba et al.'s small LSTM: 13 epochs, lr 1, halved each epoch after the 4th.

    >>> [step_decay_lr(e, 1.0, 0.5, 4) for e in range(1, 8)]
    [1.0, 1.0, 1.0, 1.0, 0.5, 0.25, 0.125]
    """
    return lr * decay ** max(0, epoch - decay_after)


def warmup_factor(step: int, warmup_steps: int) -> float:
    """Linear warm-up: ``(step + 1) / warmup_steps`` for the first ``warmup_steps`` updates, then 1.

    >>> [warmup_factor(s, 4) for s in range(6)]
    [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    """
    return (step + 1) / warmup_steps if step < warmup_steps else 1.0


def cosine_lr(step: int, lr: float, warmup_steps: int, total_steps: int, min_lr: float = 0.0) -> float:
    """Linear warm-up to ``lr``, then half a cosine down to ``min_lr`` at ``total_steps``::

        lr_s = min_lr + (lr - min_lr) * (1 + cos(pi * (s - W) / (S - W))) / 2      for W <= s < S

    >>> [round(cosine_lr(s, 1.0, 2, 10), 3) for s in (0, 1, 2, 6, 9, 10)]
    [0.5, 1.0, 1.0, 0.5, 0.038, 0.0]
    """
    if step < warmup_steps:
        return lr * warmup_factor(step, warmup_steps)
    if step >= total_steps:
        return min_lr
    ratio = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return min_lr + (lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * ratio))


def progress_step(step: int, total_steps: int, time_fraction: float | None) -> float:
    """The step whose scheduled rate a run uses: its own step, or, with a time budget, the step at the same
    fraction of the plan as the fraction of the budget spent (whichever is further along, so the schedule ends when
    either the budget or the planned steps run out).

    >>> progress_step(150, 2000, None), progress_step(150, 2000, 0.5), progress_step(1500, 2000, 0.5)
    (150, 1000.0, 1500)
    """
    if time_fraction is None:
        return step
    return max(step, min(time_fraction, 1.0) * total_steps)


def inverse_sqrt_lr(step: int, lr: float, warmup_steps: int) -> float:
    """Linear warm-up to ``lr`` at ``warmup_steps``, then decay with the inverse square root of the step::

        lr_s = lr * min((s + 1) / W, sqrt(W / (s + 1)))

    Vaswani et al.'s d_model^-0.5 min(n^-0.5, n W^-1.5) (n = s + 1) with its peak written as ``lr``.

    >>> [round(inverse_sqrt_lr(s, 1.0, 4), 3) for s in (0, 3, 15, 399)]
    [0.25, 1.0, 0.5, 0.1]
    """
    n, w = step + 1, max(1, warmup_steps)
    return lr * min(n / w, math.sqrt(w / n))


def plateau_scale(val_losses: Sequence[float], factor: float, patience: int = 0) -> float:
    """The learning-rate multiplier after a history of validation losses: divided by ``factor`` every time the
    loss fails to improve on the best so far ``patience + 1`` evaluations in a row.

    >>> plateau_scale([5.0, 4.0, 4.1, 3.9, 3.95, 3.96], factor=4)   # 4.1, 3.95 and 3.96 do not improve
    0.015625
    >>> plateau_scale([5.0, 4.0, 4.1, 3.9, 3.95, 3.96], factor=4, patience=1)
    0.25
    """
    scale, best, bad = 1.0, math.inf, 0
    for v in val_losses:
        if v < best:
            best, bad = v, 0
            continue
        bad += 1
        if bad > patience:
            scale /= factor
            bad = 0
    return scale


@dataclass(frozen=True)
class LRSchedule:
    """The rate of every update, given the recipe and the length of an epoch."""

    name: str  # constant, step, plateau, cosine or inverse-sqrt
    lr: float
    steps_per_epoch: int
    total_steps: int
    warmup_steps: int = 0
    lr_decay: float = 0.5
    decay_after: int = 4
    plateau_factor: float = 4.0
    plateau_patience: int = 0
    min_lr: float = 0.0

    def lr_at(self, step: float, val_losses: Sequence[float] = ()) -> float:
        """The rate for update ``step`` (from 0; a fractional step under a time budget, see
        :func:`progress_step`), after the validation losses seen so far.

        >>> s = LRSchedule("step", 1.0, steps_per_epoch=100, total_steps=1300)
        >>> s.lr_at(399), s.lr_at(400), s.lr_at(1299)
        (1.0, 0.5, 0.001953125)
        >>> LRSchedule("plateau", 20.0, 100, 1000).lr_at(300, val_losses=[5.0, 5.1])
        5.0
        """
        if self.name == "cosine":
            return cosine_lr(step, self.lr, self.warmup_steps, self.total_steps, self.min_lr)
        if self.name == "inverse-sqrt":
            return inverse_sqrt_lr(step, self.lr, self.warmup_steps)
        lr = self.lr * warmup_factor(step, self.warmup_steps)
        if self.name == "step":
            lr = step_decay_lr(int(step // self.steps_per_epoch) + 1, lr, self.lr_decay, self.decay_after)
        elif self.name == "plateau":
            lr *= plateau_scale(val_losses, self.plateau_factor, self.plateau_patience)
        return lr


__all__ = [
    "LRSchedule",
    "cosine_lr",
    "inverse_sqrt_lr",
    "plateau_scale",
    "progress_step",
    "step_decay_lr",
    "warmup_factor",
]
