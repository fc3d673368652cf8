"""The image classifier families and where to find each one.

``IMAGE_MODELS`` names every network ``lmlab train --task image --model`` accepts. Each entry points (lazily,
so that reading the table imports no PyTorch) at the family's config dataclass and its network class; the
networks honour :class:`lmlab.vision.models.base.ImageNetwork` (``forward(x) -> logits``, ``filters()``,
``feature_maps(x)``), so the task and the engine reach a family only through this table. One file per family,
named after its paper.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lmlab.families import NetworkFamily, get_entry

DATA_FIELDS = ("in_channels", "image_size", "num_classes")


@dataclass(frozen=True)
class ImageModel(NetworkFamily):
    """An image classifier family (see :class:`lmlab.families.NetworkFamily`)."""

    train_config: str = "lmlab.vision.task:training_config_class"
    recipes: str = "lmlab.vision.task:RECIPES"
    compare: str = "lmlab.vision.compare:compare_args"
    data_fields: tuple[str, ...] = DATA_FIELDS

    @staticmethod
    def data_values(in_channels: int, image_size: int, num_classes: int) -> dict[str, Any]:
        return {"in_channels": in_channels, "image_size": image_size, "num_classes": num_classes}


_M = "lmlab.vision.models."

IMAGE_MODELS: dict[str, ImageModel] = {
    "mlp": ImageModel(
        "mlp",
        "fully connected layers over the pixels: the baseline the lecture criticises (Rumelhart et al. 1986)",
        _M + "mlp:MLPConfig",
        _M + "mlp:MLP",
    ),
    "lenet5": ImageModel(
        "lenet5",
        "LeNet-5: C1-S2-C3-S4-C5-F6, trainable subsampling, the C3 connection table (LeCun et al. 1998)",
        _M + "lenet:LeNet5Config",
        _M + "lenet:LeNet5",
    ),
    "alexnet": ImageModel(
        "alexnet",
        "AlexNet's design at a quarter width for small images: ReLU, LRN, overlapping pooling, dropout "
        "(Krizhevsky et al. 2012)",
        _M + "alexnet:AlexNetConfig",
        _M + "alexnet:AlexNet",
    ),
    "vgg": ImageModel(
        "vgg",
        "the lecture's channel-growing network: 3x3 conv blocks 32-64-128 with max pooling, fc 1024-512, optional "
        "batch norm (Simonyan & Zisserman 2015)",
        _M + "vgg:VGGConfig",
        _M + "vgg:VGG",
    ),
    "resnet": ImageModel(
        "resnet",
        "a small residual network, ResNet-14 for small images, batch norm and shortcuts as options (He et al. 2016)",
        _M + "resnet:ResNetConfig",
        _M + "resnet:ResNet",
    ),
    "vit": ImageModel(
        "vit",
        "a small Vision Transformer: 7x7 patches as tokens, lmlab's encoder layers (Dosovitskiy et al. 2021)",
        _M + "vit:ViTConfig",
        _M + "vit:ViT",
    ),
}


def get_image_model(name: str) -> ImageModel:
    return get_entry(IMAGE_MODELS, name, "image model")


__all__ = ["DATA_FIELDS", "IMAGE_MODELS", "ImageModel", "get_image_model"]
