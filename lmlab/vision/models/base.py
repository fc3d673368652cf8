"""What every image classifier shares: the config fields that come from the data, the network contract and the
shape arithmetic that names the layer where an image would shrink to nothing.

A network takes images x (B, C, H, W), already scaled and normalised by the task, and returns logits (B, K). For
the pictures of ``lmlab plot RUN --filters / --feature-maps`` it also gives its first layer's filters
(``filters() -> (N, C, K_h, K_w)``) and the maps each stage computes for one image
(``feature_maps(x) -> [(name, (C, H, W)), ...]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.nn.conv import IMPLEMENTATIONS, output_size, pool_output_size
from lmlab.train.config import check_positive, check_probability

MAX_IMAGE_SIZE = 4096
DATA_FIELDS = ("in_channels", "image_size", "num_classes")


@dataclass(kw_only=True)
class ImageModelConfig:
    """The input and output sizes, set from the data (not flags)."""

    family: ClassVar[str] = ""

    in_channels: int = 1  # C: 1 (grey) or 3 (colour)
    image_size: int = 28  # H = W, after the task's resizing
    num_classes: int = 10  # K

    def __post_init__(self):
        check_positive(self.in_channels, "in_channels", 64)
        check_positive(self.image_size, "image_size", MAX_IMAGE_SIZE)
        check_positive(self.num_classes, "num_classes")
        if self.num_classes < 2:
            raise LmlabError(f"an image classifier needs at least 2 classes, got {self.num_classes}")


@dataclass(kw_only=True)
class ConvConfig(ImageModelConfig):
    """Convolutional families also choose how their convolutions are computed."""

    conv: str = "fast"  # fast (F.conv2d), unfold (im2col + matmul) or sliding (the defining sum: slow, for teaching)

    def __post_init__(self):
        super().__post_init__()
        if self.conv not in IMPLEMENTATIONS:
            raise LmlabError(f"--conv must be one of {', '.join(IMPLEMENTATIONS)}, got {self.conv!r}")


def conv_out(family: str, layer: str, size: int, kernel: int, padding: int = 0, stride: int = 1) -> int:
    """The size after a convolution layer, or an LmlabError naming the family, the layer and the size it gets.

    >>> conv_out("lenet5", "C3", 14, 5)
    10
    >>> conv_out("lenet5", "C5", 3, 5)
    Traceback (most recent call last):
    ...
    lmlab.errors.LmlabError: lenet5: layer C5 (a 5x5 kernel, padding 0) gets a 3x3 map, which shrinks to nothing; \
use larger images (--image-size) or a smaller network
    """
    if size + 2 * padding < kernel:
        raise LmlabError(
            f"{family}: layer {layer} (a {kernel}x{kernel} kernel, padding {padding}) gets a {size}x{size} map, "
            f"which shrinks to nothing; use larger images (--image-size) or a smaller network"
        )
    return output_size(size, kernel, padding, stride, exact=False)


def pool_out(family: str, layer: str, size: int, kernel: int, stride: int | None = None) -> int:
    """The size after a pooling layer (floor mode), or an LmlabError naming the layer."""
    if size < kernel:
        raise LmlabError(
            f"{family}: layer {layer} (a {kernel}x{kernel} pooling window) gets a {size}x{size} map, which shrinks "
            f"to nothing; use larger images (--image-size) or a smaller network"
        )
    return pool_output_size(size, kernel, stride)


def check_dropout(value: float, name: str = "dropout") -> None:
    check_probability(value, name)


class ImageNetwork(nn.Module):
    """The contract of an image classifier network (see the module docstring)."""

    def forward(self, x: Tensor) -> Tensor:  # pragma: no cover - every family overrides it
        raise NotImplementedError

    def filters(self) -> Tensor:
        """The first layer's filters as images (N, C, K_h, K_w)."""
        raise NotImplementedError

    def feature_maps(self, x: Tensor) -> list[tuple[str, Tensor]]:
        """The maps of each stage for one image x (1, C, H, W): [(name, (channels, H', W')), ...]."""
        raise NotImplementedError


__all__ = ["ConvConfig", "DATA_FIELDS", "ImageModelConfig", "ImageNetwork", "conv_out", "pool_out"]
