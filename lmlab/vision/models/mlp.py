"""The fully connected baseline: every pixel wired to every hidden unit.

    x (B, C, H, W) -> flatten (B, C*H*W) -> [Linear -> ReLU -> Dropout] x len(hidden) -> Linear -> logits (B, K)

The lecture's complaint, in numbers: the first layer alone has (C*H*W + 1) * hidden[0] weights (784 * 512 + 512 =
401,920 for MNIST), and every pixel position is learned separately, so a digit shifted by two pixels is a new
pattern; a convolution shares one small kernel across positions (LeNet-5 has 60,850 weights in all).

References: Rumelhart, Hinton & Williams 1986, "Learning representations by back-propagating errors".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.train.config import check_positive, check_probability
from lmlab.vision.models.base import ImageModelConfig, ImageNetwork


@dataclass(kw_only=True)
class MLPConfig(ImageModelConfig):
    family: ClassVar[str] = "mlp"

    hidden: tuple[int, ...] = (512, 256)  # units of each hidden layer
    dropout: float = 0.2  # after each hidden layer

    def __post_init__(self):
        super().__post_init__()
        if not self.hidden:
            raise LmlabError("--hidden needs at least one layer size, e.g. 512,256")
        for h in self.hidden:
            check_positive(h, "hidden")
        check_probability(self.dropout, "dropout")


class MLP(ImageNetwork):
    def __init__(self, cfg: MLPConfig):
        super().__init__()
        self.cfg = cfg
        layers: list[nn.Module] = []
        d_in = cfg.in_channels * cfg.image_size**2
        for h in cfg.hidden:
            layers += [nn.Linear(d_in, h), nn.ReLU(), nn.Dropout(cfg.dropout)]
            d_in = h
        self.hidden = nn.Sequential(*layers)
        self.head = nn.Linear(d_in, cfg.num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.hidden(x.flatten(1)))  # (B, C*H*W) -> (B, K)

    def filters(self) -> Tensor:
        """Each first-layer unit's weights over the pixels: a template the size of the image."""
        cfg = self.cfg
        return self.hidden[0].weight.detach().view(-1, cfg.in_channels, cfg.image_size, cfg.image_size)

    @torch.no_grad()
    def feature_maps(self, x: Tensor) -> list[tuple[str, Tensor]]:
        raise LmlabError("mlp has no feature maps (it has no convolutions); try --filters, or a convolutional model")


__all__ = ["MLP", "MLPConfig"]
