"""The image classifier families and where to find each one.

``IMAGE_MODELS`` names every network ``lmlab train --task image --model`` accepts. Each entry points (lazily,
so that reading the table imports no PyTorch) at the family's config dataclass and its network class; the
networks honour :class:`lmlab.vision.models.base.ImageNetwork` (``forward(x) -> logits``, ``filters()``,
``feature_maps(x)``), so the task and the engine reach a family only through this table. One file per family,
named after its paper.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

DATA_FIELDS = ("in_channels", "image_size", "num_classes")


@dataclass(frozen=True)
class ImageModel:
    name: str
    summary: str
    config: str  # "module:Class", a dataclass whose fields are the family's hyperparameters (and CLI flags)
    network: str  # "module:Class", built from the config alone
    data_fields: tuple[str, ...] = DATA_FIELDS  # config fields set from the data (not flags)
    timed: bool = True  # trains for a share of a comparison's time budget

    def _load(self, ref: str) -> Any:
        module, _, attr = ref.partition(":")
        return getattr(importlib.import_module(module), attr)

    def config_class(self) -> type:
        return self._load(self.config)

    def network_class(self) -> type:
        return self._load(self.network)

    def train_config_class(self) -> type:
        from lmlab.vision.task import training_config_class

        return training_config_class(self.config_class())

    def compare_args(self, cmp: Any) -> list[str]:
        from lmlab.vision.compare import compare_args

        return compare_args(self.name, cmp)

    @property
    def recipe(self) -> dict[str, Any]:
        """The family's default training recipe (flags and --config override it)."""
        from lmlab.vision.task import RECIPES

        return dict(RECIPES.get(self.name, {}))

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
    from lmlab.errors import LmlabError

    if name not in IMAGE_MODELS:
        raise LmlabError(f"unknown image model {name!r}; choose one of: {', '.join(IMAGE_MODELS)}")
    return IMAGE_MODELS[name]


__all__ = ["DATA_FIELDS", "IMAGE_MODELS", "ImageModel", "get_image_model"]
