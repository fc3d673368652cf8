"""A small residual network for small images, the CIFAR design of He et al. (2016, Section 4.2)::

    x -> conv 3x3 (c_0) -> BN -> ReLU -> stage 1 -> stage 2 -> stage 3 -> global average pool -> linear -> K

Stage i has ``blocks[i]`` basic blocks of ``channels[i]`` maps; the first block of stages 2 and 3 halves the
image with stride 2. A basic block::

    y = ReLU( BN(conv3x3( ReLU(BN(conv3x3(x))) )) + shortcut(x) )

where the shortcut is x itself, or a 1x1 convolution with stride 2 and BN where the shape changes (the paper's
option B). With blocks (2, 2, 2) and channels (16, 32, 64) this is the paper's ResNet-14 (6n + 2 layers, n = 2),
about 175,000 weights. ``residual = False`` drops the shortcuts (the "plain" network the paper compares with) and
``batch_norm = False`` the normalisation, to see what each does.

References: He, Zhang, Ren & Sun 2016, "Deep residual learning for image recognition"; Ioffe & Szegedy 2015.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.nn.conv import Conv2d
from lmlab.train.config import check_positive
from lmlab.vision.models.base import ConvConfig, ImageNetwork, conv_out


@dataclass(kw_only=True)
class ResNetConfig(ConvConfig):
    family: ClassVar[str] = "resnet"

    channels: tuple[int, ...] = (16, 32, 64)  # maps of each stage (the paper's CIFAR widths)
    blocks: tuple[int, ...] = (2, 2, 2)  # basic blocks per stage (n = 2: ResNet-14)
    batch_norm: bool = True  # BatchNorm2d after each convolution (the paper)
    residual: bool = True  # False: the plain network without shortcuts

    def __post_init__(self):
        super().__post_init__()
        if not self.channels or len(self.channels) != len(self.blocks):
            raise LmlabError(
                f"--channels and --blocks must list the same stages, got {self.channels} and {self.blocks}"
            )
        for c in self.channels:
            check_positive(c, "channels")
        for b in self.blocks:
            check_positive(b, "blocks", 64)


def _norm(channels: int, on: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if on else nn.Identity()


class BasicBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, cfg: ResNetConfig):
        super().__init__()
        bias = not cfg.batch_norm  # a bias before BN is cancelled by BN's mean
        self.conv1 = Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=bias, impl=cfg.conv)
        self.bn1 = _norm(c_out, cfg.batch_norm)
        self.conv2 = Conv2d(c_out, c_out, 3, padding=1, bias=bias, impl=cfg.conv)
        self.bn2 = _norm(c_out, cfg.batch_norm)
        self.residual = cfg.residual
        self.shortcut: nn.Module = nn.Identity()
        if cfg.residual and (stride != 1 or c_in != c_out):
            self.shortcut = nn.Sequential(
                Conv2d(c_in, c_out, 1, stride=stride, bias=bias, impl=cfg.conv), _norm(c_out, cfg.batch_norm)
            )

    def forward(self, x: Tensor) -> Tensor:
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + self.shortcut(x) if self.residual else y)


class ResNet(ImageNetwork):
    def __init__(self, cfg: ResNetConfig):
        super().__init__()
        self.cfg = cfg
        c0 = cfg.channels[0]
        self.stem = nn.Sequential(
            Conv2d(cfg.in_channels, c0, 3, padding=1, bias=not cfg.batch_norm, impl=cfg.conv),
            _norm(c0, cfg.batch_norm),
            nn.ReLU(),
        )
        stages, c_in, s = [], c0, cfg.image_size
        for i, (c, n) in enumerate(zip(cfg.channels, cfg.blocks)):
            stride = 1 if i == 0 else 2
            s = conv_out("resnet", f"stage {i + 1}", s, 3, 1, stride)
            stages.append(nn.Sequential(*[BasicBlock(c_in if j == 0 else c, c, stride if j == 0 else 1, cfg)
                                          for j in range(n)]))  # fmt: skip
            c_in = c
        self.stages = nn.ModuleList(stages)
        self.head = nn.Linear(c_in, cfg.num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)  # (B, C_i, H/2^(i-1), W/2^(i-1))
        return self.head(x.mean(dim=(2, 3)))  # global average pooling -> (B, C) -> (B, K)

    def filters(self) -> Tensor:
        return self.stem[0].weight.detach()

    @torch.no_grad()
    def feature_maps(self, x: Tensor) -> list[tuple[str, Tensor]]:
        x = self.stem(x)
        out = [("stem", x[0])]
        for i, stage in enumerate(self.stages, start=1):
            for j, block in enumerate(stage, start=1):
                x = block(x)
                out.append((f"stage {i} block {j}", x[0]))
        return out


__all__ = ["BasicBlock", "ResNet", "ResNetConfig"]
