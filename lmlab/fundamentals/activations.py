"""The neuron and the common activation functions, each with its derivative written out by hand.

A neuron computes a weighted sum of its inputs plus a bias and passes it through an activation function::

    y = g(w . x + b)

Without a nonlinear g a stack of layers is one linear map; which g is chosen decides how gradients flow
(sigmoid and tanh saturate: g' -> 0 for large |z|; ReLU passes gradient 1 wherever it is active) and what the
network can represent at all (a polynomial g of degree p keeps a one-hidden-layer network a polynomial of degree
p: see :mod:`lmlab.fundamentals.approximation`). ``lmlab activations --out act.png`` draws them.

References: McCulloch & Pitts 1943; Rosenblatt 1958 (the perceptron); Nair & Hinton 2010 (ReLU); Clevert et al.
2016 (ELU); Hendrycks & Gimpel 2016 (GELU); Ramachandran et al. 2017 (Swish / SiLU); Maas et al. 2013 (leaky
ReLU).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from lmlab.errors import LmlabError

LEAKY_SLOPE = 0.01  # Maas et al. 2013


@dataclass(frozen=True)
class Activation:
    name: str
    formula: str
    fn: Callable[[Tensor], Tensor]
    derivative: Callable[[Tensor], Tensor]  # written by hand; tests compare it with autograd


def _phi(x: Tensor) -> Tensor:
    """The standard normal density."""
    return torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _Phi(x: Tensor) -> Tensor:
    """The standard normal distribution function."""
    return 0.5 * (1 + torch.erf(x / math.sqrt(2)))


def _sigmoid(x: Tensor) -> Tensor:
    return 1 / (1 + torch.exp(-x))


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("identity", "z", lambda x: x, torch.ones_like),
        Activation("step", "1 if z > 0 else 0", lambda x: (x > 0).to(x.dtype), torch.zeros_like),
        Activation("sigmoid", "1 / (1 + exp(-z))", _sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x))),
        Activation("tanh", "tanh(z)", torch.tanh, lambda x: 1 - torch.tanh(x) ** 2),
        Activation("relu", "max(0, z)", lambda x: x.clamp_min(0), lambda x: (x > 0).to(x.dtype)),
        Activation(
            "leaky_relu",
            f"z if z > 0 else {LEAKY_SLOPE} z",
            lambda x: torch.where(x > 0, x, LEAKY_SLOPE * x),
            lambda x: torch.where(x > 0, torch.ones_like(x), torch.full_like(x, LEAKY_SLOPE)),
        ),
        Activation(
            "elu",
            "z if z > 0 else exp(z) - 1",
            lambda x: torch.where(x > 0, x, torch.expm1(x.clamp_max(0))),
            lambda x: torch.where(x > 0, torch.ones_like(x), torch.exp(x.clamp_max(0))),
        ),
        Activation("softplus", "log(1 + exp(z))", lambda x: torch.logaddexp(x, torch.zeros_like(x)), _sigmoid),
        Activation("gelu", "z Phi(z)", lambda x: x * _Phi(x), lambda x: _Phi(x) + x * _phi(x)),
        Activation(
            "silu",
            "z sigmoid(z)",
            lambda x: x * _sigmoid(x),
            lambda x: _sigmoid(x) * (1 + x * (1 - _sigmoid(x))),
        ),
        Activation("poly2", "z^2", lambda x: x * x, lambda x: 2 * x),
    )
}


def get_activation(name: str, what: str = "--activation") -> Activation:
    if name not in ACTIVATIONS:
        raise LmlabError(f"{what} must be one of {', '.join(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


def neuron(x: Tensor, w: Tensor, b: float | Tensor, activation: str = "relu") -> Tensor:
    """One neuron: g(w . x + b) over the last axis of ``x``.

    >>> x, w = torch.tensor([1.0, 2.0]), torch.tensor([0.5, -1.0])
    >>> neuron(x, w, 0.5, "relu").item(), round(neuron(x, w, 0.5, "sigmoid").item(), 4)
    (0.0, 0.2689)
    """
    return get_activation(activation).fn(x @ w + b)


def plot_activations(out: str | Path, names: list[str] | None = None, lo: float = -4.0, hi: float = 4.0) -> Path:
    """Each activation (solid) and its derivative (dashed) on [lo, hi], one panel each; returns the PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lmlab.io import atomic_open

    names = names or list(ACTIVATIONS)
    acts = [get_activation(n) for n in names]
    x = torch.linspace(lo, hi, 801, dtype=torch.float64)
    cols = min(4, len(acts))
    rows = -(-len(acts) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.8 * rows), dpi=110, squeeze=False)
    for ax in axes.flat[len(acts) :]:
        ax.axis("off")
    for ax, a in zip(axes.flat, acts):
        ax.plot(x, a.fn(x), lw=1.8, label="g(z)")
        ax.plot(x, a.derivative(x), "--", lw=1.2, label="g'(z)")
        ax.axhline(0, color="grey", lw=0.5)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_ylim(-1.5, 4.2)
        ax.set_title(f"{a.name}: {a.formula}", fontsize=9)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    out = Path(out)
    with atomic_open(out, "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return out


__all__ = ["ACTIVATIONS", "Activation", "get_activation", "neuron", "plot_activations"]
