"""Optimizers by name, and gradient clipping by global norm.

* ``sgd``: theta <- theta - lr * (g + weight_decay * theta), with momentum (heavy ball) or Nesterov momentum.
* ``adagrad``: per-parameter rates lr / sqrt(sum of squared gradients) (Duchi et al. 2011).
* ``rmsprop``: lr / sqrt(running mean of squared gradients) (Tieleman & Hinton 2012).
* ``adam``: bias-corrected first and second moments (Kingma & Ba 2015); weight decay as an L2 term in the gradient.
* ``adamw``: Adam with weight decay applied to the weights directly, decoupled from the moments
  (Loshchilov & Hutter 2019).

The learning rate is set on every update by the schedule (:mod:`lmlab.train.schedules`).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from lmlab.train.config import EngineConfig


def build_optimizer(params: Iterable[nn.Parameter], cfg: EngineConfig) -> torch.optim.Optimizer:
    """The optimizer ``cfg.optimizer`` over ``params``, with the recipe's hyperparameters.

    >>> opt = build_optimizer([nn.Parameter(torch.zeros(2))], EngineConfig(optimizer="sgd", lr=0.1, momentum=0.9))
    >>> type(opt).__name__, opt.param_groups[0]["momentum"]
    ('SGD', 0.9)
    """
    params = list(params)
    name, lr, wd = cfg.optimizer, cfg.lr, cfg.weight_decay
    if wd > 0:  # decay matrices (weights, embeddings), not biases and norm gains (GPT-2, nanoGPT)
        matrices = [p for p in params if p.dim() >= 2]
        vectors = [p for p in params if p.dim() < 2]
        params = [{"params": matrices}, {"params": vectors, "weight_decay": 0.0}] if vectors else matrices
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg.momentum, nesterov=cfg.nesterov, weight_decay=wd)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=wd)
    if name == "adadelta":  # Zeiler 2012; Kim (2014) trains his CNN with rho 0.95, eps 1e-6, lr 1
        return torch.optim.Adadelta(params, lr=lr, rho=cfg.rho, eps=1e-6, weight_decay=wd)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=cfg.momentum, weight_decay=wd)
    if name in ("adam", "adamw"):
        # the fused kernel updates every tensor in one pass (about 5x faster than the per-op path on a CPU: 0.8
        # against 4.5 ms per step for nanoGPT's CPU model); same update, rounding aside
        adam = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        return adam(params, lr=lr, betas=(cfg.beta1, cfg.beta2), weight_decay=wd, fused=_fusable(params))
    raise AssertionError(name)  # EngineConfig checked the name


def _fusable(params: list) -> bool:
    """Whether every parameter can go through PyTorch's fused optimizer kernels (floating point, CPU or CUDA)."""
    tensors = [p for group in params for p in (group["params"] if isinstance(group, dict) else [group])]
    return all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in tensors)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def clip_global_norm(params: list[nn.Parameter], max_norm: float | None) -> torch.Tensor:
    """Scale all gradients together so that their joint L2 norm is at most ``max_norm``; returns the norm before.

    ``g <- g * min(1, max_norm / ||g||)`` with ``||g||`` over every parameter at once (Pascanu et al. 2013).

    >>> p = nn.Parameter(torch.zeros(2)); p.grad = torch.tensor([3.0, 4.0])
    >>> clip_global_norm([p], 1.0).item(), [round(g, 4) for g in p.grad.tolist()]
    (5.0, [0.6, 0.8])
    """
    if max_norm is None:
        grads = [p.grad for p in params if p.grad is not None]
        return torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    return nn.utils.clip_grad_norm_(params, max_norm, foreach=_fusable(params))  # one call for all tensors


__all__ = ["build_optimizer", "clip_global_norm", "set_lr"]
