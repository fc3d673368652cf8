"""Image classification as a task of the training engine: ``lmlab train --task image --model FAMILY``.

Each example is an image (C, H, W) of bytes and its class. A batch is the images scaled to [0, 1], randomly
shifted and rotated when augmentation is on (``--shift PIXELS``, ``--rotate DEGREES``), and normalised by the
training images' per-channel mean and standard deviation::

    x = (augment(images / 255) - mean_c) / std_c        (B, C, H, W)
    loss = -(1/B) sum_b ln softmax(net(x)_b)[y_b]

The images of an epoch come in an order fixed by (seed, epoch), and the augmentation by (seed, step), so a
resumed run trains on exactly what an uninterrupted one would. Validation reports loss, accuracy and macro-F1;
accuracy (higher is better) keeps the best weights and drives early stopping.

A run directory holds ``config.json`` (task ``image``, the family and its configuration, the class names, the
preprocessing: mode, channels, size, mean and std) and ``model.safetensors``; nothing is pickled.

References: LeCun et al. 1998 (MNIST, LeNet-5's training).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmlab.errors import LmlabError
from lmlab.metrics import ClassificationReport, evaluation_metrics, plot_confusion_matrix
from lmlab.nn.init import init_parameters
from lmlab.train.config import EngineConfig, check_engine_config
from lmlab.train.task import TrainingTask
from lmlab.vision.augment import augment
from lmlab.vision.data import ImageData, ImageSplit

PREDICT_BATCH = 500
MAX_SHIFT = 16.0
MAX_ROTATE = 90.0
MAX_NORMALISED_BYTES = 1 << 30  # training images kept as normalised floats up to this size


@dataclass(kw_only=True)
class ImageTrainConfig(EngineConfig):
    """How an image classifier is trained; each family's recipe (:data:`RECIPES`) changes some defaults."""

    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adam"
    lr: float = 1e-3
    clip: float | None = None  # convolutional networks train without clipping
    log_every: int = 50
    shift: float = 0.0  # augmentation: shift each training image by up to this many pixels (each axis)
    rotate: float = 0.0  # augmentation: rotate each training image by up to this many degrees


#: Each family's default recipe (applied before --config and flags).
#: A cosine decay of the rate to 0 settles each run at the end of its epochs, where a constant rate would wander.
RECIPES: dict[str, dict[str, Any]] = {
    "mlp": {"epochs": 20, "schedule": "cosine"},
    "lenet5": {"epochs": 20, "batch_size": 32, "schedule": "cosine"},
    "alexnet": {"epochs": 20, "schedule": "cosine"},
    "vgg": {"epochs": 15, "optimizer": "adamw", "weight_decay": 5e-4, "schedule": "cosine"},
    "resnet": {"epochs": 15, "optimizer": "adamw", "lr": 2e-3, "weight_decay": 5e-4, "schedule": "cosine"},
    "vit": {"epochs": 30, "optimizer": "adamw", "weight_decay": 0.05, "schedule": "cosine", "warmup_steps": 200},
}


def check_augmentation(cfg: Any) -> None:
    for name, top in (("shift", MAX_SHIFT), ("rotate", MAX_ROTATE)):
        v = getattr(cfg, name)
        if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 <= v <= top):
            raise LmlabError(f"--{name} must be a number from 0 to {top:g}, got {v!r}")


@functools.cache
def training_config_class(model_config: type) -> type:
    """One dataclass with the family's hyperparameters and the training recipe: every field a flag, a key of a
    --config file, and saved in the checkpoint."""

    @dataclass(kw_only=True)
    class Config(model_config, ImageTrainConfig):  # type: ignore[misc, valid-type]
        family: ClassVar[str] = model_config.family

        def __post_init__(self):
            model_config.__post_init__(self)
            check_engine_config(self)
            check_augmentation(self)

    Config.__name__ = Config.__qualname__ = f"{model_config.__name__.removesuffix('Config')}TrainConfig"
    return Config


def channel_stats(images: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of uint8 images (N, C, H, W), on the [0, 1] scale.

    >>> channel_stats(np.array([[[[0, 255]]], [[[255, 255]]]], dtype=np.uint8))
    ([0.75], [0.433])
    """
    x = images.astype(np.float64) / 255.0
    mean = x.mean(axis=(0, 2, 3))
    std = np.maximum(x.std(axis=(0, 2, 3)), 1e-3)  # a constant channel would divide by zero
    return [round(float(m), 4) for m in mean], [round(float(s), 4) for s in std]


class ShuffledBatches:
    """Every training image once per epoch, in an order fixed by (seed, epoch); the last batch may be smaller.

    >>> b = ShuffledBatches(10, 4, seed=0)
    >>> len(b), sorted(np.concatenate([b.batch(s) for s in range(3)]).tolist()) == list(range(10))
    (3, True)
    """

    def __init__(self, n: int, batch_size: int, seed: int):
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self._cache: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return max(1, -(-self.n // self.batch_size))

    def batch(self, step: int) -> np.ndarray:
        epoch, k = divmod(step, len(self))
        if self._cache is None or self._cache[0] != epoch:
            self._cache = (epoch, np.random.default_rng((self.seed, epoch)).permutation(self.n))
        return self._cache[1][k * self.batch_size : (k + 1) * self.batch_size]


class Preprocess:
    """Bytes to the network's input: /255, then (x - mean) / std per channel; and what a new image file needs
    (``mode`` mnist or resize, channels, size)."""

    def __init__(self, mode: str, channels: int, image_size: int, mean: Sequence[float], std: Sequence[float]):
        self.mode, self.channels, self.image_size = mode, channels, image_size
        self.mean, self.std = list(mean), list(std)
        self._tensors: dict[tuple[torch.device, torch.dtype], tuple[Tensor, Tensor]] = {}

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "channels": self.channels, "image_size": self.image_size, "mean": self.mean,
                "std": self.std}  # fmt: skip

    @classmethod
    def from_dict(cls, d: Any, where: str) -> Preprocess:
        ok = (
            isinstance(d, dict)
            and d.get("mode") in ("mnist", "resize")
            and isinstance(d.get("channels"), int)
            and d.get("channels") in (1, 3)
            and isinstance(d.get("image_size"), int)
            and 1 <= d["image_size"] <= 4096
            and all(isinstance(d.get(k), list) and len(d[k]) == d["channels"] for k in ("mean", "std"))
            and all(isinstance(v, (int, float)) and math.isfinite(v) for v in d["mean"] + d["std"])
            and all(v > 0 for v in d["std"])
        )
        if not ok:
            raise LmlabError(
                f"{where}: field 'preprocess' must be an object with mode (mnist or resize), channels (1 or 3), "
                "image_size, and mean and std lists of one number per channel"
            )
        return cls(d["mode"], d["channels"], d["image_size"], d["mean"], d["std"])

    def inputs(self, images: Tensor, device: torch.device) -> Tensor:
        """uint8 (B, C, H, W) -> float (B, C, H, W) on ``device``, scaled to [0, 1] (not yet normalised)."""
        return images.to(device, non_blocking=True).float().div_(255.0)

    def _mean_std(self, x: Tensor) -> tuple[Tensor, Tensor]:
        key = (x.device, x.dtype)
        if key not in self._tensors:  # made once per device, not at every batch
            mean = torch.tensor(self.mean, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
            std = torch.tensor(self.std, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
            self._tensors[key] = (mean, std)
        return self._tensors[key]

    def normalise(self, x: Tensor) -> Tensor:
        mean, std = self._mean_std(x)
        return (x - mean) / std

    def background(self, x: Tensor) -> Tensor:
        """What a 0 pixel becomes once normalised, (1, C, 1, 1): what augmentation moves in from outside."""
        mean, std = self._mean_std(x)
        return -mean / std


class ImageClassifier:
    """A trained network with its classes and preprocessing: what ``lmlab eval``, ``classify --image`` and
    ``plot --filters / --feature-maps`` use."""

    def __init__(self, net: nn.Module, classes: Sequence[str], cfg: Any, preprocess: Preprocess):
        self.net, self.classes, self.cfg, self.preprocess = net, list(classes), cfg, preprocess
        self.net.eval()

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    @torch.inference_mode()
    def logits(self, images: np.ndarray, batch_size: int = PREDICT_BATCH) -> np.ndarray:
        """Logits (N, K) of uint8 images (N, C, H, W)."""
        out = np.empty((images.shape[0], len(self.classes)), dtype=np.float64)
        x_all = torch.from_numpy(np.ascontiguousarray(images))
        for a in range(0, images.shape[0], batch_size):
            x = self.preprocess.normalise(self.preprocess.inputs(x_all[a : a + batch_size], self.device))
            out[a : a + batch_size] = self.net(x).double().cpu().numpy()
        return out

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        z = self.logits(images)
        return np.exp(z - np.logaddexp.reduce(z, axis=1, keepdims=True))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    def feature_maps(self, image: np.ndarray) -> list[tuple[str, Tensor]]:
        """Each stage's maps for one uint8 image (C, H, W)."""
        x = self.preprocess.normalise(self.preprocess.inputs(torch.from_numpy(image[None].copy()), self.device))
        with torch.no_grad():
            return [(name, m.float().cpu()) for name, m in self.net.feature_maps(x)]


class ImageClassificationTask(TrainingTask):
    name = "image"
    unit = "images"
    main_metric = "accuracy"
    higher_is_better = True

    def __init__(self, cfg: Any, data: ImageData):
        from lmlab.vision.models import get_image_model

        self.cfg, self.data = cfg, data
        self.family = cfg.family
        self.network_class = get_image_model(cfg.family).network_class()
        self.classes = list(data.classes)
        C, H, W = data.shape
        if H != W:
            raise LmlabError(f"the images are {H}x{W}; the networks take square images (give --image-size)")
        if (cfg.in_channels, cfg.image_size, cfg.num_classes) != (C, H, len(self.classes)):
            raise LmlabError(
                f"the configuration expects {cfg.in_channels}x{cfg.image_size}x{cfg.image_size} images in "
                f"{cfg.num_classes} classes, the data has {C}x{H}x{W} in {len(self.classes)}"
            )

    def prepare(self, scratch: Path, seed: int) -> None:
        train = self.data.train
        if len(train) == 0:
            raise LmlabError("the training split is empty")
        self.seed = seed
        self.train_x = torch.from_numpy(np.ascontiguousarray(train.images))
        self.train_y = torch.from_numpy(train.labels)
        mean, std = channel_stats(train.images)
        C, H, _ = self.data.shape
        self.preprocess = Preprocess(self.data.preprocess, C, H, mean, std)
        # scaled and normalised once, not at every batch, when that fits in memory (MNIST's 60,000: 188 MB)
        self.train_f: Tensor | None = None
        if self.train_x.numel() * 4 <= MAX_NORMALISED_BYTES:
            self.train_f = self.preprocess.normalise(self.train_x.float().div_(255.0))
        self.batches = ShuffledBatches(len(train), self.cfg.batch_size, seed)
        self.train_sha = train.sha256()

    @property
    def steps_per_epoch(self) -> int:
        return len(self.batches)

    @property
    def train_size(self) -> int:
        return len(self.data.train)

    @property
    def has_validation(self) -> bool:
        return len(self.data.valid) > 0

    def build_network(self) -> nn.Module:
        self.net = self.network_class(self.cfg)
        if self.cfg.init != "default":
            init_parameters(self.net, self.cfg.init, self.cfg.init_range)
        return self.net

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def train_step(self, forward: Callable, step: int, state: Any) -> tuple[Tensor, int, Any]:
        batch = self.batches.batch(step)
        index = torch.from_numpy(self.shard.rows(batch))  # this process's images of the batch
        rows = (self.shard.bounds(len(batch))[0], len(batch))  # their place in it: the same random transformations
        device = self.device
        if self.train_f is not None:
            x = self.train_f[index].to(device, non_blocking=True)  # (B, C, H, W), normalised
            if self.cfg.shift or self.cfg.rotate:
                # shifted so that the background is 0 while moving: the same as augmenting before normalising
                z = self.preprocess.background(x)
                x = augment(x - z, self.cfg.shift, self.cfg.rotate, self.seed, step, rows) + z
        else:
            x = self.preprocess.inputs(self.train_x[index], device)
            x = self.preprocess.normalise(augment(x, self.cfg.shift, self.cfg.rotate, self.seed, step, rows))
        y = self.train_y[index].to(device, non_blocking=True)
        logits = forward(x)
        return F.cross_entropy(logits.float(), y), len(index), None

    def classifier(self) -> ImageClassifier:
        return ImageClassifier(self.net, self.classes, self.cfg, self.preprocess)

    def _evaluate(self, split: ImageSplit) -> tuple[dict[str, float], ClassificationReport]:
        was_training = self.net.training
        logits = self.classifier().logits(split.images)  # puts the network in eval mode
        self.net.train(was_training)
        return evaluation_metrics(logits, split.labels, self.classes)

    def validate(self, subset: int | None = None) -> dict[str, float]:
        """Loss, accuracy and macro-F1 on the first ``subset`` validation images (all of them when None)."""
        split = self.data.valid
        if subset is not None and subset < len(split):
            split = ImageSplit(split.images[:subset], split.labels[:subset])
        return self._evaluate(split)[0]

    def validation_size(self) -> int:
        return len(self.data.valid)

    def fingerprint(self) -> dict[str, Any]:
        return {"train_sha256": self.train_sha, "labels": self.classes, "preprocess": self.preprocess.to_dict()}

    def check_resume(self, info: dict[str, Any], run: Path) -> None:
        if info.get("labels") != self.classes or info.get("train_sha256") != self.train_sha:
            raise LmlabError(
                f"--resume {run}: the training images are not those of the checkpoint (it was "
                f"{info.get('data', {}).get('spec')!r}); resume with the same --data"
            )

    def write_static_files(self, directory: Path) -> None:
        return None  # the classes and the preprocessing are in config.json

    def run_config(self, info: Any) -> dict[str, Any]:
        from lmlab.runconfig import run_envelope

        return run_envelope(
            self.name, self.family, self.cfg.to_dict(), info, labels=self.classes, preprocess=self.preprocess.to_dict()
        )

    def finish(self, directory: Path) -> None:
        if self.has_validation:
            report = self._evaluate(self.data.valid)[1]
            plot_confusion_matrix(report, directory / "confusion-valid.png", title=_title("validation", report))

    def result(self) -> ImageClassifier:
        return self.classifier()


def _title(split: str, report: ClassificationReport) -> str:
    return f"{split}: accuracy {report.accuracy:.2%}, macro-F1 {report.macro_f1:.3f} ({report.examples:,} images)"


def train_image_classifier(
    cfg: Any, data: ImageData, opts: Any, out: Path, *, callbacks: Sequence[Callable] = ()
) -> ImageClassifier:
    """Train an image classifier on the engine and leave a complete run directory at ``out``."""
    from lmlab.train.loop import train_task

    return train_task(ImageClassificationTask(cfg, data), opts, out, callbacks=callbacks)


def load_image_classifier(run_dir: str | Path) -> tuple[ImageClassifier, dict[str, Any]]:
    """The trained classifier of an image run and its config.json (every file read as untrusted input)."""
    from lmlab.nn.weights import load_network
    from lmlab.runconfig import read_run_config
    from lmlab.runfiles import config_from_json
    from lmlab.vision.models import get_image_model

    run_dir = Path(run_dir)
    run_cfg = read_run_config(run_dir)
    where = str(run_dir / "config.json")
    labels = run_cfg.get("labels")
    if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, str) for x in labels):
        raise LmlabError(f"{where}: field 'labels' must be a list of at least two strings")
    preprocess = Preprocess.from_dict(run_cfg.get("preprocess"), where)
    try:
        entry = get_image_model(run_cfg.get("family", ""))
    except LmlabError as e:
        raise LmlabError(f"{where}: field 'family': {e}") from None
    cfg = config_from_json(entry.train_config_class(), run_cfg["model"], where, "model.")
    if (cfg.num_classes, cfg.in_channels, cfg.image_size) != (len(labels), preprocess.channels, preprocess.image_size):
        raise LmlabError(f"{where}: the model's sizes do not match its labels and preprocessing")
    network_class = entry.network_class()
    net = load_network(run_dir / "model.safetensors", lambda: network_class(cfg))  # shapes checked first
    return ImageClassifier(net, labels, cfg, preprocess), run_cfg


def evaluate_image_run(
    classifier: ImageClassifier, split: ImageSplit, classes: Sequence[str], confusion: str | Path | None = None,
    name: str = "",
) -> dict[str, Any]:  # fmt: skip
    """Accuracy, macro-F1, per-class figures and the confusion matrix of a classifier on ``split`` (whose labels
    index ``classes``, which must be the classifier's)."""
    if len(split) == 0:
        raise LmlabError("the split to evaluate is empty")
    if list(classes) != classifier.classes:
        raise LmlabError(f"the data's classes {list(classes)} are not the model's {classifier.classes}")
    metrics, report = evaluation_metrics(classifier.logits(split.images), split.labels, classes)
    if confusion:
        plot_confusion_matrix(report, confusion, title=_title(name, report))
    return {**report.to_dict(), "loss": metrics["loss"]}


__all__ = [
    "RECIPES",
    "ImageClassificationTask",
    "ImageClassifier",
    "ImageTrainConfig",
    "Preprocess",
    "ShuffledBatches",
    "channel_stats",
    "evaluate_image_run",
    "evaluation_metrics",
    "load_image_classifier",
    "train_image_classifier",
    "training_config_class",
]
