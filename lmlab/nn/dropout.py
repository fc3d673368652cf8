"""Dropout for sequences: the same mask at every time step (variational, or "locked", dropout).

Ordinary dropout draws a fresh mask for every element of a ``(B, T, C)`` tensor. Locked dropout draws one mask per
sequence and feature, ``(B, 1, C)``, and applies it at every time step, so a unit is either present or absent for the
whole sequence, which is the Bayesian reading of dropout in recurrent networks::

    y[b, t, :] = x[b, t, :] * m[b, :] / (1 - p),     m[b, :] ~ Bernoulli(1 - p)^C

References: Gal & Ghahramani 2016, "A Theoretically Grounded Application of Dropout in Recurrent Neural Networks";
Merity, Keskar & Socher 2018, "Regularizing and Optimizing LSTM Language Models" (the LockedDropout module).
"""

from __future__ import annotations

from torch import Tensor, nn


class LockedDropout(nn.Module):
    """Dropout with one mask per sequence, shared over time; input and output ``(B, T, C)``.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> y = LockedDropout(0.5).train()(torch.ones(2, 3, 4))
    >>> bool((y == y[:, :1]).all())   # every time step has the mask of the first
    True
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        B, _, C = x.shape
        mask = x.new_empty(B, 1, C).bernoulli_(1.0 - self.p) / (1.0 - self.p)  # (B, 1, C), broadcast over T
        return x * mask

    def extra_repr(self) -> str:
        return f"p={self.p}"


def sequence_dropout(p: float, locked: bool) -> nn.Module:
    """Locked (variational) or ordinary dropout with probability ``p`` for ``(B, T, C)`` tensors."""
    return LockedDropout(p) if locked else nn.Dropout(p)


__all__ = ["LockedDropout", "sequence_dropout"]
