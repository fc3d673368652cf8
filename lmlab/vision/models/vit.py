"""A small Vision Transformer: the image cut into patches, each patch a token, a Transformer encoder over them.

    x (B, C, H, W) -> patches of P x P, each projected to d_model (a P x P convolution with stride P)
                   -> (B, N, d_model), N = (H/P)(W/P); a learned [class] token first -> (B, N + 1, d_model)
                   + learned position embeddings -> n_layer pre-LN encoder layers (lmlab.nn.transformer)
                   -> LayerNorm -> the [class] token's vector (or the mean of the patch tokens) -> linear -> K

On 28x28 digits with P = 7 that is 16 tokens of 49 pixels. The encoder layers are lmlab's own
(:class:`lmlab.nn.transformer.EncoderLayer`, checked against ``torch.nn.TransformerEncoderLayer``).

References: Dosovitskiy et al. 2021, "An image is worth 16x16 words: Transformers for image recognition at
scale"; Vaswani et al. 2017.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.nn.transformer import EncoderLayer, LayerConfig
from lmlab.train.config import check_positive, check_probability
from lmlab.vision.models.base import ImageModelConfig, ImageNetwork

POOLING = ("cls", "mean")


@dataclass(kw_only=True)
class ViTConfig(ImageModelConfig):
    family: ClassVar[str] = "vit"

    patch_size: int = 7  # P: 28x28 -> 4x4 patches
    d_model: int = 64  # D, the width of every patch token
    n_head: int = 4  # attention heads per layer
    n_layer: int = 4  # encoder layers
    d_ff: int = 128  # the feed-forward width
    dropout: float = 0.1  # after the embeddings and each sublayer
    pooling: str = "cls"  # cls: the [class] token (the paper); mean: the mean of the patch tokens

    def __post_init__(self):
        super().__post_init__()
        for name in ("patch_size", "d_model", "n_head", "n_layer", "d_ff"):
            check_positive(getattr(self, name), name)
        if self.image_size % self.patch_size:
            raise LmlabError(
                f"--patch-size {self.patch_size} must divide the image size {self.image_size} "
                f"({self.image_size} / {self.patch_size} = {self.image_size / self.patch_size:g} patches per row)"
            )
        if self.d_model % self.n_head:
            raise LmlabError(f"--d-model {self.d_model} must be a multiple of --n-head {self.n_head}")
        check_probability(self.dropout, "dropout")
        if self.pooling not in POOLING:
            raise LmlabError(f"--pooling must be one of {', '.join(POOLING)}, got {self.pooling!r}")


class ViT(ImageNetwork):
    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.cfg = cfg
        self.grid = cfg.image_size // cfg.patch_size
        n_tokens = self.grid**2 + 1
        # a P x P convolution with stride P is the patches flattened and multiplied by one matrix
        self.patch_embed = nn.Conv2d(cfg.in_channels, cfg.d_model, cfg.patch_size, stride=cfg.patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.d_model))
        self.pos_embed = nn.Parameter(torch.randn(1, n_tokens, cfg.d_model) * 0.02)
        self.dropout = nn.Dropout(cfg.dropout)
        layer = LayerConfig(cfg.d_model, cfg.n_head, cfg.d_ff, cfg.dropout, activation="gelu", norm_first=True)
        self.layers = nn.ModuleList(EncoderLayer(layer) for _ in range(cfg.n_layer))
        self.norm = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.num_classes)
        nn.init.normal_(self.cls_token, std=0.02)

    def tokens(self, x: Tensor) -> Tensor:
        patches = self.patch_embed(x).flatten(2).transpose(1, 2)  # (B, d, g, g) -> (B, N, d)
        cls = self.cls_token.expand(x.size(0), -1, -1)  # (B, 1, d)
        return self.dropout(torch.cat([cls, patches], dim=1) + self.pos_embed)  # (B, N + 1, d)

    def forward(self, x: Tensor) -> Tensor:
        h = self.tokens(x)
        for layer in self.layers:
            h, _, _ = layer(h)
        h = self.norm(h)
        pooled = h[:, 0] if self.cfg.pooling == "cls" else h[:, 1:].mean(dim=1)  # (B, d)
        return self.head(pooled)

    def filters(self) -> Tensor:
        return self.patch_embed.weight.detach()  # (d, C, P, P): what each embedding dimension looks for in a patch

    @torch.no_grad()
    def feature_maps(self, x: Tensor) -> list[tuple[str, Tensor]]:
        """The patch tokens after the embedding and after each layer, as (d_model, grid, grid) maps."""
        g = self.grid
        h = self.tokens(x)
        out = [("patch embedding", h[0, 1:].T.reshape(-1, g, g))]
        for i, layer in enumerate(self.layers, start=1):
            h, _, _ = layer(h)
            out.append((f"layer {i}", h[0, 1:].T.reshape(-1, g, g)))
        return out

    @torch.no_grad()
    def attention_maps(self, x: Tensor) -> Tensor:
        """The [class] token's attention over the patches in each layer, averaged over heads: (n_layer, g, g)."""
        h = self.tokens(x)
        maps = []
        for layer in self.layers:
            h, w, _ = layer(h, need_weights=True)
            maps.append(w[0, :, 0, 1:].mean(0).view(self.grid, self.grid))  # (h, T, T) -> class row -> (g, g)
        return torch.stack(maps)


def patch_count(image_size: int, patch_size: int) -> int:
    """Tokens a ViT makes of an image (the [class] token not counted).

    >>> patch_count(28, 7), patch_count(224, 16)
    (16, 196)
    """
    return int(math.pow(image_size // patch_size, 2))


__all__ = ["ViT", "ViTConfig", "patch_count"]
