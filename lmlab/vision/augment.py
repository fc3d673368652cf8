"""Data augmentation: each training image moved by a random shift and turned by a small random rotation.

One affine map per image, sampled with bilinear interpolation; what moves in from outside the image is 0 (the
background of MNIST's digits after scaling to [0, 1]). The random numbers come from a generator seeded by
(seed, step), so a resumed run draws exactly the shifts and angles an uninterrupted one would.

References: Simard, Steinkraus & Platt 2003, "Best practices for convolutional neural networks applied to visual
document analysis" (distorted MNIST digits as extra training data); LeCun et al. 1998, Section III.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def affine_matrices(B: int, max_shift: float, max_degrees: float, size: int, generator: torch.Generator) -> Tensor:
    """(B, 2, 3) maps for ``F.affine_grid``: a rotation by U(-max_degrees, max_degrees) and a shift by
    U(-max_shift, max_shift) pixels along each axis (in the grid's [-1, 1] units: 2 * pixels / size)."""
    angle = (torch.rand(B, generator=generator, dtype=torch.float64) * 2 - 1) * math.radians(max_degrees)
    shift = (torch.rand(B, 2, generator=generator, dtype=torch.float64) * 2 - 1) * (2 * max_shift / size)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(B, 2, 3, dtype=torch.float64)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 0, 2] = cos, -sin, shift[:, 0]
    theta[:, 1, 0], theta[:, 1, 1], theta[:, 1, 2] = sin, cos, shift[:, 1]
    return theta


def augment(
    x: Tensor, max_shift: float, max_degrees: float, seed: int, step: int, rows: tuple[int, int] | None = None
) -> Tensor:
    """Randomly shifted and rotated copies of the images x (B, C, H, W) in [0, 1].

    ``rows = (a, n)``: x holds the rows from a of a batch of n images (one process's share), and they get the
    transformations those rows get when the whole batch is augmented at once.

    >>> x = torch.zeros(2, 1, 8, 8); x[:, :, 3:5, 3:5] = 1
    >>> y = augment(x, 0, 0, seed=0, step=0)
    >>> torch.allclose(y, x, atol=1e-6)
    True
    """
    if max_shift <= 0 and max_degrees <= 0:
        return x
    g = torch.Generator().manual_seed(seed * 1_000_003 + step)
    a, n = rows if rows is not None else (0, x.size(0))
    theta = affine_matrices(n, max_shift, max_degrees, x.size(-1), g)[a : a + x.size(0)]
    theta = theta.to(x.device, x.dtype)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


__all__ = ["affine_matrices", "augment"]
