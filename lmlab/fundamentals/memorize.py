"""Memorisation by construction: a ReLU network with about m(d + k) parameters that reproduces every label of m
points in d dimensions exactly, built in closed form, not trained.

Project the points on a random direction a: the m numbers z_i = a . x_i are distinct with probability 1 (when
the points are). Sorted, z_(1) < ... < z_(m), they are m points on a line, and the piecewise-linear curve through
(z_(i), y_(i)) is a sum of ReLUs with kinks at z_(1), ..., z_(m-1)::

    f(x) = y_(1) + sum_{j<m} c_j relu(a . x - z_(j)),   c_j = s_j - s_{j-1},
    s_j = (y_(j+1) - y_(j)) / (z_(j+1) - z_(j))

(s_0 = 0): on each segment the slope is the sum of the c's switched on so far. That is a network d -> m-1 -> k
(every hidden row is a, the biases are -z_(j)), with (m - 1)(d + 1) + (m - 1)k + k parameters: of order m(d + k),
the count the lecture gives, and enough to fit any labels, random ones included (Zhang et al. 2017, Theorem 1,
which shares the hidden rows to reach 2m + d).

References: Zhang, Bengio, Hardt, Recht & Vinyals 2017, "Understanding deep learning requires rethinking
generalization"; Huang & Babri 1998 (m hidden units suffice for m points).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from lmlab.errors import LmlabError

MAX_TRIES = 10


def memorizing_network(x: np.ndarray, y: np.ndarray, seed: int = 0) -> nn.Sequential:
    """A float64 network Linear(d, m-1) -> ReLU -> Linear(m-1, k) with net(x_i) = y_i for every point.

    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(50, 3)), rng.normal(size=(50, 2))
    >>> net = memorizing_network(x, y)
    >>> out = net(torch.from_numpy(x)).detach().numpy()
    >>> bool(np.abs(out - y).max() < 1e-8), sum(p.numel() for p in net.parameters())
    (True, 296)
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0] or x.shape[0] < 2:
        raise LmlabError(f"need points x (m, d) and labels y (m, k) with the same m >= 2, got {x.shape} and {y.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise LmlabError("the points and labels must be finite numbers")
    m, d = x.shape
    k = y.shape[1]
    _, first, inverse = np.unique(x, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    if not np.allclose(y, y[first][inverse]):
        raise LmlabError("two identical points have different labels: no function can memorise them")
    rng = np.random.default_rng(seed)
    for _ in range(MAX_TRIES):
        a = rng.normal(size=d)
        z = x @ a
        order = np.argsort(z, kind="stable")
        zs, ys = z[order], y[order]
        gaps = np.diff(zs)
        distinct = np.any(x[order][1:] != x[order][:-1], axis=1)
        if np.all(gaps[distinct] > 1e-9 * max(1.0, np.abs(zs).max())):
            break
    else:
        raise LmlabError(f"no projection separated the points in {MAX_TRIES} tries (are some nearly identical?)")
    keep = np.concatenate([[True], gaps > 0])  # repeated points: one kink for them all
    zs, ys = zs[keep], ys[keep]
    slopes = np.diff(ys, axis=0) / np.diff(zs)[:, None]  # (n-1, k): slope of each segment
    coef = np.diff(np.vstack([np.zeros((1, k)), slopes]), axis=0)  # (n-1, k): change of slope at each kink
    n_hidden = max(m - 1, 1)  # the parameter count is fixed by m, whatever the repeats
    hidden, out = nn.Linear(d, n_hidden, dtype=torch.float64), nn.Linear(n_hidden, k, dtype=torch.float64)
    with torch.no_grad():
        hidden.weight.copy_(torch.from_numpy(np.tile(a, (n_hidden, 1))))
        hidden.bias.fill_(-zs[-1])  # unused units switch on nowhere among the points
        hidden.bias[: len(coef)] = torch.from_numpy(-zs[:-1])
        out.weight.zero_()
        out.weight[:, : len(coef)] = torch.from_numpy(coef.T)
        out.bias.copy_(torch.from_numpy(ys[0]))
    return nn.Sequential(hidden, nn.ReLU(), out)


__all__ = ["memorizing_network"]
