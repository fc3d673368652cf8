"""Universal approximation, seen three ways: by construction, by training, and where it fails.

* **ReLU pairs make bumps.** Two ReLUs make a ramp, a smoothed step from 0 to 1 between a and b::

      step(x; a, b) = (relu(x - a) - relu(x - b)) / (b - a)

  and a step up minus a later step down is a bump. A row of n bumps whose heights are f at their centres is a
  one-hidden-layer ReLU network (4 units per bump) that follows any continuous f on [lo, hi] within
  max|f'| (hi - lo)/n: the error falls as 1/n (:func:`bump_network`).
* **Training finds such networks.** :func:`fit_widths` trains a one-hidden-layer network of each width on
  samples of a target and reports the error; with ReLU, sigmoid or tanh it keeps falling as the width grows
  (Cybenko 1989; Hornik 1991; Leshno et al. 1993: any non-polynomial activation will do).
* **A polynomial activation cannot.** With g(z) = z^2 each hidden unit is a quadratic in x, so the whole network
  is a polynomial of degree 2 whatever its width: its error stops at that of the best quadratic
  (:func:`polynomial_floor`), which no width beats. Depth raises the degree (2^depth), width never does
  (:func:`fit_depths` shows depth instead).

``lmlab approx --target sin --widths 2,8,32,128 --activation relu --out fit.png`` draws the fits and the error
per width.

References: Cybenko 1989, "Approximation by superpositions of a sigmoidal function"; Hornik 1991,
"Approximation capabilities of multilayer feedforward networks"; Leshno, Lin, Pinkus & Schocken 1993,
"Multilayer feedforward networks with a nonpolynomial activation function can approximate any function".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.fundamentals.activations import get_activation
from lmlab.fundamentals.names import MAX_LR

#: named targets of ``lmlab approx --target`` and the interval each is drawn on
TARGETS: dict[str, tuple[str, float, float]] = {
    "sin": ("sin(x)", -math.pi, math.pi),
    "abs": ("abs(x)", -1.0, 1.0),
    "step": ("step(x)", -1.0, 1.0),
}
MAX_WIDTH = 4096
MAX_DEPTH = 16


def relu_step(x: Tensor, a: float, b: float) -> Tensor:
    """A ReLU pair: 0 left of a, 1 right of b, a straight ramp between.

    >>> relu_step(torch.tensor([-1.0, 0.25, 0.5, 2.0]), 0.0, 1.0).tolist()
    [0.0, 0.25, 0.5, 1.0]
    """
    return (torch.relu(x - a) - torch.relu(x - b)) / (b - a)


def relu_bump(x: Tensor, a: float, b: float, c: float, d: float) -> Tensor:
    """Two ReLU pairs: up from 0 to 1 over [a, b], flat to c, down to 0 over [c, d].

    >>> relu_bump(torch.tensor([0.0, 1.5, 3.0, 4.5, 6.0]), 1.0, 2.0, 4.0, 5.0).tolist()
    [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    return relu_step(x, a, b) - relu_step(x, c, d)


class Scaled(nn.Module):
    """x -> (x - centre) / half_width: the interval [lo, hi] becomes [-1, 1] before the first layer."""

    def __init__(self, lo: float, hi: float):
        super().__init__()
        self.centre, self.half = (lo + hi) / 2, (hi - lo) / 2

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.centre) / self.half


class Elementwise(nn.Module):
    def __init__(self, name: str):
        super().__init__()
        self.name, self.fn = name, get_activation(name).fn

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(x)

    def extra_repr(self) -> str:
        return self.name


def bump_network(f: Callable[[Tensor], Tensor], lo: float, hi: float, n_bumps: int, ramp: float = 0.1) -> nn.Module:
    """A one-hidden-layer ReLU network (4 * n_bumps units), built not trained, that is the sum of n bumps of
    heights f(centre_i) over equal intervals of [lo, hi]; each bump ramps up and down over ``ramp`` of an
    interval centred on its edges (the outermost ramps just outside [lo, hi]).

    >>> net = bump_network(torch.sin, -math.pi, math.pi, 100)
    >>> x = torch.linspace(-3.0, 3.0, 7, dtype=torch.float64).view(-1, 1)
    >>> bool((net(x).view(-1) - torch.sin(x.view(-1))).abs().max() < 0.04)
    True
    """
    if not (isinstance(n_bumps, int) and 1 <= n_bumps <= MAX_WIDTH):
        raise LmlabError(f"the number of bumps must be an integer from 1 to {MAX_WIDTH}, got {n_bumps!r}")
    h = (hi - lo) / n_bumps
    edges = [lo + i * h for i in range(n_bumps + 1)]
    heights = f(torch.tensor([lo + (i + 0.5) * h for i in range(n_bumps)], dtype=torch.float64))
    delta = ramp * h / 2
    hidden = nn.Linear(1, 4 * n_bumps, dtype=torch.float64)
    out = nn.Linear(4 * n_bumps, 1, dtype=torch.float64)
    with torch.no_grad():
        hidden.weight.fill_(1.0)
        out.bias.zero_()
        for i in range(n_bumps):
            # relu(x - a) - relu(x - b) scaled by 1/(b - a) up at the left edge, the same subtracted at the right
            kinks = [edges[i] - delta, edges[i] + delta, edges[i + 1] - delta, edges[i + 1] + delta]
            if i == 0:  # the outer ramps lie outside [lo, hi], so the ends get their full height
                kinks[:2] = [lo - 2 * delta, lo]
            if i == n_bumps - 1:
                kinks[2:] = [hi, hi + 2 * delta]
            signs = [1.0, -1.0, -1.0, 1.0]
            for u, (kink, sign) in enumerate(zip(kinks, signs)):
                hidden.bias[4 * i + u] = -kink
                out.weight[0, 4 * i + u] = sign * heights[i] / (2 * delta)
    return nn.Sequential(hidden, nn.ReLU(), out)


def build_mlp(width: int, depth: int, activation: str, lo: float, hi: float) -> nn.Module:
    """x (N, 1) -> (N, 1): [lo, hi] scaled to [-1, 1], then ``depth`` hidden layers of ``width`` units."""
    if not (isinstance(width, int) and 1 <= width <= MAX_WIDTH):
        raise LmlabError(f"--widths must be integers from 1 to {MAX_WIDTH}, got {width!r}")
    if not (isinstance(depth, int) and 1 <= depth <= MAX_DEPTH):
        raise LmlabError(f"--depth must be integers from 1 to {MAX_DEPTH}, got {depth!r}")
    layers: list[nn.Module] = [Scaled(lo, hi)]
    d_in = 1
    for _ in range(depth):
        layers += [nn.Linear(d_in, width, dtype=torch.float64), Elementwise(activation)]
        d_in = width
    layers.append(nn.Linear(d_in, 1, dtype=torch.float64))
    return nn.Sequential(*layers)


@dataclass
class Fit:
    width: int
    depth: int
    activation: str
    parameters: int
    mse: float  # mean squared error on the sample points
    max_error: float
    prediction: np.ndarray  # (n_points,)


def sample_points(lo: float, hi: float, n_points: int = 256) -> Tensor:
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise LmlabError(f"the interval must have lo < hi, got [{lo}, {hi}]")
    if not (isinstance(n_points, int) and 2 <= n_points <= 100_000):
        raise LmlabError(f"--points must be an integer from 2 to 100,000, got {n_points!r}")
    return torch.linspace(lo, hi, n_points, dtype=torch.float64)


def train_fit(
    x: Tensor, y: Tensor, width: int, depth: int, activation: str, *, steps: int = 2000, lr: float = 0.01, seed: int = 0
) -> Fit:
    """Train one network on (x, y) by full-batch Adam with a cosine-decaying rate; float64 throughout."""
    if not (isinstance(steps, int) and 1 <= steps <= 1_000_000):
        raise LmlabError(f"--steps must be an integer from 1 to 1,000,000, got {steps!r}")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and 0 < lr <= MAX_LR):  # Adam refuses the rest
        raise LmlabError(f"--lr must be a number above 0 and at most {MAX_LR:g}, got {lr!r}")
    torch.manual_seed(seed)
    net = build_mlp(width, depth, activation, float(x.min()), float(x.max()))
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    xs, ys = x.view(-1, 1), y.view(-1, 1)
    for _ in range(steps):
        loss = ((net(xs) - ys) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        pred = net(xs).view(-1)
    err = pred - y
    finite = bool(torch.isfinite(err).all())
    return Fit(
        width=width,
        depth=depth,
        activation=activation,
        parameters=sum(p.numel() for p in net.parameters()),
        mse=float((err**2).mean()) if finite else math.inf,
        max_error=float(err.abs().max()) if finite else math.inf,
        prediction=pred.numpy(),
    )


def fit_widths(x: Tensor, y: Tensor, widths: Sequence[int], activation: str, depth: int = 1, **kw) -> list[Fit]:
    """One trained network per width (``depth`` hidden layers each)."""
    return [train_fit(x, y, w, depth, activation, **kw) for w in widths]


def fit_depths(x: Tensor, y: Tensor, width: int, depths: Sequence[int], activation: str, **kw) -> list[Fit]:
    """One trained network per depth, every hidden layer ``width`` units wide."""
    return [train_fit(x, y, width, d, activation, **kw) for d in depths]


def polynomial_floor(x: Tensor, y: Tensor, degree: int) -> float:
    """The mean squared error of the best polynomial of ``degree`` (least squares): no network whose output is
    such a polynomial (a z^2 activation: degree 2^depth) can do better, whatever its width.

    >>> x = torch.linspace(-1, 1, 101, dtype=torch.float64)
    >>> polynomial_floor(x, x**2, 2) < 1e-20, round(polynomial_floor(x, x.abs(), 0), 4)
    (True, 0.085)
    """
    xs = ((x - x.min()) / (x.max() - x.min()) * 2 - 1).numpy()  # [-1, 1]: Legendre basis, well conditioned
    basis = np.polynomial.legendre.legvander(xs, degree)
    coef, *_ = np.linalg.lstsq(basis, y.numpy(), rcond=None)
    return float(np.mean((basis @ coef - y.numpy()) ** 2))


def plot_fits(
    x: Tensor, y: Tensor, fits: Sequence[Fit], out: str | Path, *, title: str, sweep: str = "width",
    floor: float | None = None,
) -> Path:  # fmt: skip
    """Left: the target and each fit; right: the mean squared error against the width (or depth)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lmlab.io import atomic_open

    fig, (ax, ax_err) = plt.subplots(1, 2, figsize=(12, 4.5), dpi=110)
    ax.plot(x, y, "k", lw=2.5, alpha=0.35, label="target")
    for fit in fits:
        n = fit.width if sweep == "width" else fit.depth
        ax.plot(x, fit.prediction, lw=1.2, label=f"{sweep} {n} (mse {fit.mse:.2g})")
    ax.set_title(title)
    ax.set_xlabel("x")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ns = [f.width if sweep == "width" else f.depth for f in fits]
    ax_err.plot(ns, [max(f.mse, 1e-300) for f in fits], "o-", label=f"{fits[0].activation}")
    if floor is not None:
        ax_err.axhline(max(floor, 1e-300), color="red", ls="--", lw=1, label="best polynomial of that degree")
    ax_err.set_xscale("log" if sweep == "width" else "linear")
    ax_err.set_yscale("log")
    ax_err.set_xlabel(sweep)
    ax_err.set_ylabel("mean squared error")
    ax_err.set_title(f"error against {sweep}")
    ax_err.grid(alpha=0.3, which="both")
    ax_err.legend(fontsize=8)
    fig.tight_layout()
    out = Path(out)
    with atomic_open(out, "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return out


__all__ = [
    "TARGETS",
    "Fit",
    "bump_network",
    "build_mlp",
    "fit_depths",
    "fit_widths",
    "plot_fits",
    "polynomial_floor",
    "relu_bump",
    "relu_step",
    "sample_points",
    "train_fit",
]
