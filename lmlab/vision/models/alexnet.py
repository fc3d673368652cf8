"""AlexNet's design, scaled to small images: five convolutions with ReLU, local response normalisation after the
first two, overlapping 3x3 max pooling with stride 2, and two dropout-regularised fully connected layers.

    28x28 -> conv 3x3 (c1) -> LRN -> pool 3/2 -> 13 -> conv 3x3 (c2) -> LRN -> pool 3/2 -> 6
          -> conv 3x3 (c3) -> conv 3x3 (c4) -> conv 3x3 (c5) -> pool 3/2 -> 2 -> fc -> fc -> K

The paper's 224x224 network starts with an 11x11 convolution at stride 4 and has 96, 256, 384, 384, 256 channels
and two fully connected layers of 4,096; on 28x28 digits the first convolution is 3x3 at stride 1 and the widths
are a quarter (24, 64, 96, 96, 64; fully connected 512), 607,290 weights.

References: Krizhevsky, Sutskever & Hinton 2012, "ImageNet classification with deep convolutional neural
networks" (ReLU, LRN with k = 2, n = 5, alpha = 1e-4, beta = 0.75, overlapping pooling, dropout 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.nn.conv import Conv2d
from lmlab.train.config import check_positive, check_probability
from lmlab.vision.models.base import ConvConfig, ImageNetwork, conv_out, pool_out


@dataclass(kw_only=True)
class AlexNetConfig(ConvConfig):
    family: ClassVar[str] = "alexnet"

    channels: tuple[int, ...] = (
        24,
        64,
        96,
        96,
        64,
    )  # maps of the five convolutions: the paper's 96, 256, 384, 384, 256 divided by 4
    fc: int = 512  # units of the two hidden fully connected layers: the paper's 4,096 divided by 8
    lrn: bool = True  # local response normalisation after the first two convolutions
    dropout: float = 0.5  # before each hidden fully connected layer (the paper: 0.5)

    def __post_init__(self):
        super().__post_init__()
        if len(self.channels) != 5:
            raise LmlabError(f"--channels must list the 5 convolutions' widths, got {self.channels!r}")
        for c in self.channels:
            check_positive(c, "channels")
        check_positive(self.fc, "fc")
        check_probability(self.dropout, "dropout")


class AlexNet(ImageNetwork):
    def __init__(self, cfg: AlexNetConfig):
        super().__init__()
        self.cfg = cfg
        c1, c2, c3, c4, c5 = cfg.channels
        s = cfg.image_size
        layers: list[tuple[str, nn.Module]] = []
        c_in = cfg.in_channels
        for i, c_out in enumerate(cfg.channels, start=1):
            s = conv_out("alexnet", f"conv {i}", s, 3, 1)
            layers += [(f"conv {i}", Conv2d(c_in, c_out, 3, padding=1, impl=cfg.conv)), (f"relu {i}", nn.ReLU())]
            if i <= 2 and cfg.lrn:
                # the paper's alpha = 1e-4 multiplies the sum of squares; PyTorch's alpha is divided by n = 5 first
                layers.append((f"lrn {i}", nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)))
            if i in (1, 2, 5):
                s = pool_out("alexnet", f"pool after conv {i}", s, 3, 2)
                layers.append((f"pool {i}", nn.MaxPool2d(3, 2)))
            c_in = c_out
        self.names = [n for n, _ in layers]
        self.features = nn.Sequential(*[m for _, m in layers])
        self.classifier = nn.Sequential(
            nn.Dropout(cfg.dropout),
            nn.Linear(c5 * s * s, cfg.fc),
            nn.ReLU(),
            nn.Dropout(cfg.dropout),
            nn.Linear(cfg.fc, cfg.fc),
            nn.ReLU(),
            nn.Linear(cfg.fc, cfg.num_classes),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x).flatten(1))

    def filters(self) -> Tensor:
        return self.features[0].weight.detach()

    @torch.no_grad()
    def feature_maps(self, x: Tensor) -> list[tuple[str, Tensor]]:
        out = []
        for name, layer in zip(self.names, self.features):
            x = layer(x)
            if name.startswith(("relu", "pool")):
                out.append((name, x[0]))
        return out


__all__ = ["AlexNet", "AlexNetConfig"]
