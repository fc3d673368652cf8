"""LeNet-5, as LeCun et al. (1998) describe it, on MNIST's 28x28 digits (padded by 2, the paper's 32x32 input)::

    input  (B, 1, 28, 28)  padding 2 -> 32x32
    C1     conv 5x5, 6 maps                 (B, 6, 28, 28)      156 weights
    S2     subsample 2x2                    (B, 6, 14, 14)       12 (trainable coefficient and bias per map)
    C3     conv 5x5, 16 maps                (B, 16, 10, 10)   1,516 with the paper's connection table
                                                               (2,416 fully connected)
    S4     subsample 2x2                    (B, 16, 5, 5)        32
    C5     conv 5x5, 120 maps               (B, 120, 1, 1)   48,120
    F6     full, 84 units                   (B, 84)          10,164
    output full, K units                    (B, K)              850 (the paper's RBF units: 840)

with the paper's activation A tanh(S a), A = 1.7159, S = 2/3 after every layer but the output (``scaled_tanh``;
``tanh`` and ``relu`` as options). ``pool``: ``subsample`` (the paper: the sum of each 2x2 window times a
trainable coefficient plus a trainable bias, then the activation), ``avg`` or ``max`` (no weights). The
output layer is a linear layer and softmax rather than the paper's Euclidean RBF units (a modern simplification).

References: LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to document recognition",
Section II.B and Table I (the C3 connection table).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.nn.conv import Conv2d
from lmlab.vision.models.base import ConvConfig, ImageNetwork, conv_out, pool_out

ACTIVATIONS = ("scaled_tanh", "tanh", "relu")
POOLS = ("subsample", "avg", "max")

#: Table I of the paper: which of S2's 6 maps (rows) each of C3's 16 maps (columns) reads
C3_TABLE = [
    [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 0], [5, 0, 1],  # 3 neighbouring maps
    [0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 0], [4, 5, 0, 1], [5, 0, 1, 2],  # 4 neighbouring maps
    [0, 1, 3, 4], [1, 2, 4, 5], [0, 2, 3, 5],  # 4 maps, not neighbours
    [0, 1, 2, 3, 4, 5],  # all 6
]  # fmt: skip


@dataclass(kw_only=True)
class LeNet5Config(ConvConfig):
    family: ClassVar[str] = "lenet5"

    activation: str = "scaled_tanh"  # the paper's 1.7159 tanh(2a/3); or tanh, relu
    pool: str = "subsample"  # the paper's trainable subsampling; or avg, max
    c3_table: bool = True  # the paper's sparse C3 connections (Table I); False connects every map
    c1_padding: int = 2  # 28x28 digits padded to the paper's 32x32

    def __post_init__(self):
        super().__post_init__()
        if self.activation not in ACTIVATIONS:
            raise LmlabError(f"--activation must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        if self.pool not in POOLS:
            raise LmlabError(f"--pool must be one of {', '.join(POOLS)}, got {self.pool!r}")
        if not (isinstance(self.c1_padding, int) and 0 <= self.c1_padding <= 8):
            raise LmlabError(f"--c1-padding must be an integer from 0 to 8, got {self.c1_padding!r}")


def scaled_tanh(x: Tensor) -> Tensor:
    """LeCun's squashing function f(a) = 1.7159 tanh(2a/3), chosen so that f(1) = 1 and f(-1) = -1.

    >>> round(scaled_tanh(torch.tensor(1.0)).item(), 3)
    1.0
    """
    return 1.7159 * torch.tanh(x * (2.0 / 3.0))


class Subsample(nn.Module):
    """The paper's S layers: each map's 2x2 windows summed, times a trainable coefficient, plus a trainable bias."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), 0.25))  # starts as the window's mean
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor) -> Tensor:
        window_sum = 4 * F.avg_pool2d(x, 2)  # (B, C, H/2, W/2)
        return window_sum * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class LeNet5(ImageNetwork):
    def __init__(self, cfg: LeNet5Config):
        super().__init__()
        self.cfg = cfg
        s = conv_out("lenet5", "C1", cfg.image_size, 5, cfg.c1_padding)
        s = pool_out("lenet5", "S2", s, 2)
        s = conv_out("lenet5", "C3", s, 5)
        s = pool_out("lenet5", "S4", s, 2)
        s = conv_out("lenet5", "C5", s, 5)
        self.c1 = Conv2d(cfg.in_channels, 6, 5, padding=cfg.c1_padding, impl=cfg.conv)
        self.s2 = self._pool(6)
        self.c3 = Conv2d(6, 16, 5, impl=cfg.conv)
        mask = torch.ones(16, 6, 1, 1)
        if cfg.c3_table:
            mask.zero_()
            for out, inputs in enumerate(C3_TABLE):
                mask[out, inputs] = 1.0
        self.register_buffer("c3_mask", mask, persistent=False)
        self.s4 = self._pool(16)
        self.c5 = Conv2d(16, 120, 5, impl=cfg.conv)
        self.f6 = nn.Linear(120 * s * s, 84)
        self.output = nn.Linear(84, cfg.num_classes)
        self.act = {"scaled_tanh": scaled_tanh, "tanh": torch.tanh, "relu": F.relu}[cfg.activation]

    def _pool(self, channels: int) -> nn.Module:
        if self.cfg.pool == "subsample":
            return Subsample(channels)
        return nn.AvgPool2d(2) if self.cfg.pool == "avg" else nn.MaxPool2d(2)

    def _c3(self, x: Tensor) -> Tensor:
        if not self.cfg.c3_table:
            return self.c3(x)
        from lmlab.nn.conv import conv2d

        # the unconnected weights are multiplied by 0: they never act and their gradient is 0
        return conv2d(x, self.c3.weight * self.c3_mask, self.c3.bias, impl=self.cfg.conv)

    def _stages(self, x: Tensor):
        a = self.act
        x = a(self.c1(x))
        yield "C1", x
        x = self.s2(x)
        x = a(x) if self.cfg.pool == "subsample" else x
        yield "S2", x
        x = a(self._c3(x))
        yield "C3", x
        x = self.s4(x)
        x = a(x) if self.cfg.pool == "subsample" else x
        yield "S4", x
        x = a(self.c5(x))
        yield "C5", x

    def forward(self, x: Tensor) -> Tensor:
        *_, (_, x) = self._stages(x)  # C5's maps (B, 120, s, s)
        return self.output(self.act(self.f6(x.flatten(1))))  # (B, 120) -> (B, 84) -> (B, K)

    def filters(self) -> Tensor:
        return self.c1.weight.detach()

    @torch.no_grad()
    def feature_maps(self, x: Tensor) -> list[tuple[str, Tensor]]:
        return [(name, y[0]) for name, y in self._stages(x)]

    def layer_parameters(self) -> dict[str, int]:
        """Trainable weights per layer as the paper counts them (C3's unconnected weights are not weights)."""
        counts = {}
        for name in ("c1", "s2", "c3", "s4", "c5", "f6", "output"):
            counts[name.upper()] = sum(p.numel() for p in getattr(self, name).parameters())
        if self.cfg.c3_table:
            counts["C3"] = int(self.c3_mask.sum().item()) * 25 + 16
        return counts


__all__ = ["C3_TABLE", "LeNet5", "LeNet5Config", "scaled_tanh"]
