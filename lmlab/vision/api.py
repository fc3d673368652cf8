"""``lmlab.load`` for image classifiers (task ``image``): an image's class, and what the network makes of it.

::

    m = lmlab.load("runs/lenet5")
    m.predict(["seven.png", pixels])   # image files, or arrays: (H, W), (H, W, C) or (C, H, W), uint8 or float
    m.explain("seven.png")             # every stage's feature maps and the first layer's filters

An image file is read as ``lmlab classify RUN --image FILE`` reads it: made like the run's images (grey or colour,
their size; MNIST's centring for a run on MNIST-style digits). An array the size of the run's images (one of its
dataset's images) is used as it is; an array of another size or number of channels is first made an image and
prepared like a file. Bytes are 0-255; floats are 0-1 (rounded to the nearest byte, as a file's pixels are).

The maps are what ``lmlab plot RUN --feature-maps`` draws, bounded for a page: the first ``max_maps`` channels of
each stage, each averaged down to at most 32 x 32 values.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lmlab.api import TrainedRun, bounded_int, inputs_list, json_ready
from lmlab.errors import LmlabError
from lmlab.vision.data import MAX_IMAGE_PIXELS
from lmlab.vision.visualize import MAX_FILTERS, MAX_MAPS

MAX_SIDE = 32  # the largest map or filter side returned; larger ones are averaged down
LIMIT = 1024  # the most maps per stage or filters a caller may ask for


def shrink(a: np.ndarray, side: int = MAX_SIDE) -> np.ndarray:
    """Maps (K, H, W) averaged down to at most ``side`` x ``side`` (each output value the mean of its window,
    as adaptive average pooling computes it); smaller maps are returned as they are.

    >>> shrink(np.arange(16.0).reshape(1, 4, 4), 2).tolist()
    [[[2.5, 4.5], [10.5, 12.5]]]
    """
    _, H, W = a.shape  # (K, H, W)
    if max(H, W) <= side:
        return a
    import torch
    import torch.nn.functional as F

    pooled = F.adaptive_avg_pool2d(
        torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))[None], (min(H, side), min(W, side))
    )
    return pooled[0].double().numpy()


def array_layout(a: np.ndarray) -> np.ndarray:
    """An image array as (C, H, W): (H, W) is grey; (C, H, W) when the first axis is 1 or 3 and the last is not
    a channel count (1, 3 or 4); (H, W, C) otherwise when the last axis is 1, 3 or 4 (4: with transparency).

    >>> [array_layout(np.zeros(s)).shape for s in [(28, 28), (3, 32, 32), (32, 32, 3), (28, 28, 1)]]
    [(1, 28, 28), (3, 32, 32), (3, 32, 32), (1, 28, 28)]
    """
    if a.ndim == 2:
        return a[None]
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[2] not in (1, 3, 4):
        return a
    if a.ndim == 3 and a.shape[2] in (1, 3, 4):
        return a.transpose(2, 0, 1)
    raise LmlabError(
        f"an image array must be (H, W), (H, W, C) or (C, H, W) with C = 1 or 3 (4 for H, W, C with transparency), "
        f"got shape {a.shape}"
    )


def image_bytes(a: np.ndarray) -> np.ndarray:
    """An image array's values as bytes: integers must be 0-255, floats 0-1 (rounded to the nearest byte).

    >>> image_bytes(np.array([[0.0, 0.5, 1.0]])).tolist()
    [[0, 128, 255]]
    """
    if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise LmlabError(f"an image array must hold integers (0-255) or floats (0-1), got dtype {a.dtype}")
    if np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all() or a.min() < 0 or a.max() > 1:
            raise LmlabError("a float image array must hold values from 0 to 1 (give uint8 for 0-255)")
        return np.rint(a * 255.0).astype(np.uint8)
    if a.min() < 0 or a.max() > 255:
        raise LmlabError(f"an integer image array must hold values from 0 to 255, got {a.min()} to {a.max()}")
    return a.astype(np.uint8)


class ImageRun(TrainedRun):
    """A trained image classifier of any family (see the module docstring)."""

    task = "image"
    inputs = "image"

    def __init__(self, path: str | Path, config: dict[str, Any], classifier: Any):
        super().__init__(path, config)
        self.classifier = classifier
        self.classes = list(classifier.classes)

    # ---- inputs
    def image(self, image: Any) -> np.ndarray:
        """An image file path or an array as the network's input image, uint8 (C, H, W) (see the module
        docstring); anything else, an unreadable file or a wrong shape, is one LmlabError line."""
        if isinstance(image, (str, Path)):
            return self._read_file(Path(image))
        if not isinstance(image, np.ndarray):
            raise LmlabError(f"an image is a file path or a numpy array, got {type(image).__name__}")
        pre = self.classifier.preprocess
        a = array_layout(image)
        C, H, W = a.shape
        if H < 1 or W < 1 or H * W > MAX_IMAGE_PIXELS:
            raise LmlabError(f"an image of {W} x {H} pixels cannot be used")
        a = image_bytes(a)
        if a.shape == (pre.channels, pre.image_size, pre.image_size):
            return np.ascontiguousarray(a)  # already as the run's own images are
        from PIL import Image

        img = Image.fromarray(np.ascontiguousarray(a[0] if C == 1 else a.transpose(1, 2, 0)))  # L, RGB or RGBA
        return _prepare(img, pre)

    def _read_file(self, path: Path) -> np.ndarray:
        from lmlab.vision.data import read_one_image

        return read_one_image(path, self.classifier.preprocess)

    def _result(self, p: np.ndarray) -> dict[str, Any]:
        best = int(p.argmax())
        return {
            "label": self.classes[best],
            "probability": float(p[best]),
            "probabilities": {c: float(q) for c, q in zip(self.classes, p)},
        }

    # ---- the verbs
    def predict(self, inputs: Sequence[Any], **options: Any) -> list[dict[str, Any]]:
        """Per image: its ``label`` and that label's ``probability``, every class's ``probabilities``, and the
        ``image`` path for a file (what ``lmlab classify RUN --image FILE --json`` prints)."""
        if options:
            raise LmlabError(f"predict of an image classifier takes no options, got {', '.join(map(repr, options))}")
        items = inputs_list(inputs, "images (file paths or arrays)")
        images = []
        for i, item in enumerate(items):
            try:
                images.append(self.image(item))
            except LmlabError as e:
                raise LmlabError(f"inputs[{i}]: {e}") from None
        if not images:
            return []
        probs = self.classifier.predict_proba(np.stack(images))
        out = []
        for item, p in zip(items, probs):
            named = {"image": str(item)} if isinstance(item, (str, Path)) else {}
            out.append(named | self._result(p))
        return json_ready(out)

    def explain(self, one_input: Any, *, max_maps: int = MAX_MAPS, max_filters: int = MAX_FILTERS) -> dict[str, Any]:
        """The image's prediction; ``input``: the image as the network reads it (C, H, W, averaged down to at most
        32 x 32); ``feature_maps``: per stage its ``layer`` name, its ``shape`` (C, H, W) and the first
        ``max_maps`` ``maps`` (each at most 32 x 32); ``filters``: the first layer's (the first ``max_filters``);
        ``attention`` for a Vision Transformer (its [class] token's over the patches, per layer)."""
        max_maps = bounded_int(max_maps, "max_maps", 1, LIMIT)
        max_filters = bounded_int(max_filters, "max_filters", 1, LIMIT)
        image = self.image(one_input)
        out: dict[str, Any] = self._result(self.classifier.predict_proba(image[None])[0])
        out["input"] = {"shape": image.shape, "pixels": shrink(image.astype(np.float64))}
        try:
            maps = self.classifier.feature_maps(image)
        except LmlabError:  # a network without stages of maps (the MLP)
            maps = []
            out["note"] = (
                f"a {self.family} network has no convolutions, so no feature maps; its filters are its first "
                "layer's weights over the pixels"
            )
        out["feature_maps"] = [
            {
                "layer": name,
                "shape": list(m.shape),
                "shown": min(max_maps, m.shape[0]),
                "maps": shrink(m[:max_maps].double().numpy()),
            }
            for name, m in maps
        ]
        w = self.classifier.net.filters().float().cpu().numpy()  # (N, C, K_h, K_w)
        shown = w[:max_filters]
        N, C, kh, kw = shown.shape
        small = shrink(shown.reshape(N * C, kh, kw))  # (N C, h, w)
        out["filters"] = {
            "layer": "first layer",
            "shape": list(w.shape),
            "shown": N,
            "weights": small.reshape(N, C, *small.shape[1:]),
        }
        if hasattr(self.classifier.net, "attention_maps"):
            x = self.classifier.preprocess.normalise(
                self.classifier.preprocess.inputs(_tensor(image[None]), self.classifier.device)
            )
            out["attention"] = {
                "what": "the [class] token's attention over the patches, the mean over the heads",
                "layers": self.classifier.net.attention_maps(x).double().cpu().numpy(),  # (n_layer, grid, grid)
            }
        return json_ready(out)

    def num_parameters(self) -> int:
        return int(self.classifier.num_parameters())

    def describe(self) -> dict[str, Any]:
        return super().describe() | json_ready(
            {"labels": self.classes, "preprocess": self.classifier.preprocess.to_dict()}
        )


def _tensor(a: np.ndarray) -> Any:
    import torch

    return torch.from_numpy(np.ascontiguousarray(a))


def _prepare(img: Any, pre: Any) -> np.ndarray:
    """A PIL image made as the run's images are (what :func:`lmlab.vision.data.read_image_file` does to a file)."""
    from PIL import Image

    from lmlab.vision.data import MNIST_SIZE, mnist_style, to_array

    if pre.mode == "mnist":
        a = mnist_style(img)
        if (pre.channels, pre.image_size) == (1, MNIST_SIZE):
            return a
        return to_array(Image.fromarray(a[0], mode="L"), pre.channels, pre.image_size)
    return to_array(img, pre.channels, pre.image_size)


def load_run(path: str | Path) -> ImageRun:
    """The trained image classifier (any family) of the run at ``path``."""
    from lmlab.vision.task import load_image_classifier

    classifier, cfg = load_image_classifier(path)
    return ImageRun(path, cfg, classifier)


__all__ = ["ImageRun", "array_layout", "image_bytes", "load_run", "shrink"]
