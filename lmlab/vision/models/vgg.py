"""The lecture's channel-growing network, VGG's pattern: blocks of 3x3 convolutions, each block doubling the
channels while a 2x2 max pooling halves the image, then fully connected layers::

    128x128x3 -> conv 32 -> pool -> conv 64 -> pool -> conv 128 -> pool -> flatten -> 1024 -> 512 -> 1000

On MNIST (28x28x1, ``padding`` 1 keeps each convolution's size): 28 -> 14 -> 7 -> 3 (floor), 3*3*128 = 1,152
features, 1,803,274 weights. ``VGGConfig(in_channels=3, image_size=128, num_classes=1000)`` is the lecture's
network exactly, with same padding as the lecture's walk-through has it (its size after each layer and its parameter
count are those ``lmlab cnn-shapes`` prints for the lecture's spec: 128x128x32 ... 32,768 features, 34,686,504
weights); ``padding=0`` gives the valid-padding variant (26,822,184 weights).
Options: ``convs_per_block`` 2 (VGG's own stacking of 3x3 convolutions), ``batch_norm`` after each convolution
(Ioffe & Szegedy 2015), dropout before the fully connected layers.

References: Simonyan & Zisserman 2015, "Very deep convolutional networks for large-scale image recognition";
Ioffe & Szegedy 2015, "Batch normalization".
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
class VGGConfig(ConvConfig):
    family: ClassVar[str] = "vgg"

    channels: tuple[int, ...] = (32, 64, 128)  # output channels of each block (the lecture's three)
    convs_per_block: int = 1  # 3x3 convolutions per block (VGG stacks 2 to 4)
    # zero padding of each convolution: 1 keeps the size through a 3x3 convolution, as in the lecture's walk-through
    padding: int = 1
    fc: tuple[int, ...] = (1024, 512)  # the fully connected layers before the output
    batch_norm: bool = False  # BatchNorm2d after each convolution
    dropout: float = 0.5  # before each fully connected layer

    def __post_init__(self):
        super().__post_init__()
        if not self.channels:
            raise LmlabError("--channels needs at least one block, e.g. 32,64,128")
        for c in (*self.channels, *self.fc):
            check_positive(c, "channels" if c in self.channels else "fc")
        check_positive(self.convs_per_block, "convs_per_block", 16)
        if not (isinstance(self.padding, int) and 0 <= self.padding <= 2):
            raise LmlabError(f"--padding must be 0, 1 or 2, got {self.padding!r}")
        check_probability(self.dropout, "dropout")


class VGG(ImageNetwork):
    def __init__(self, cfg: VGGConfig):
        super().__init__()
        self.cfg = cfg
        blocks, c_in, s = [], cfg.in_channels, cfg.image_size
        for b, c_out in enumerate(cfg.channels, start=1):
            layers: list[nn.Module] = []
            for j in range(cfg.convs_per_block):
                s = conv_out("vgg", f"block {b} conv {j + 1}", s, 3, cfg.padding)
                layers.append(Conv2d(c_in, c_out, 3, padding=cfg.padding, bias=not cfg.batch_norm, impl=cfg.conv))
                if cfg.batch_norm:
                    layers.append(nn.BatchNorm2d(c_out))
                layers.append(nn.ReLU())
                c_in = c_out
            s = pool_out("vgg", f"block {b} pool", s, 2)
            layers.append(nn.MaxPool2d(2))
            blocks.append(nn.Sequential(*layers))
        self.blocks = nn.ModuleList(blocks)
        fc: list[nn.Module] = []
        d_in = c_in * s * s
        for d in cfg.fc:
            fc += [nn.Dropout(cfg.dropout), nn.Linear(d_in, d), nn.ReLU()]
            d_in = d
        self.fc = nn.Sequential(*fc)
        self.head = nn.Linear(d_in, cfg.num_classes)
        self.flat_features = c_in * s * s

    def forward(self, x: Tensor) -> Tensor:
        for block in self.blocks:
            x = block(x)  # (B, C_b, H/2^b, W/2^b)
        return self.head(self.fc(x.flatten(1)))

    def filters(self) -> Tensor:
        return self.blocks[0][0].weight.detach()

    @torch.no_grad()
    def feature_maps(self, x: Tensor) -> list[tuple[str, Tensor]]:
        out = []
        for b, block in enumerate(self.blocks, start=1):
            for layer in block:
                x = layer(x)
                if isinstance(layer, nn.ReLU):
                    out.append((f"block {b} conv", x[0]))
            out.append((f"block {b} pool", x[0]))
        return out


__all__ = ["VGG", "VGGConfig"]
