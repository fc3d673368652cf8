"""Image datasets: MNIST from its IDX files, or a folder of images in class subfolders.

``--data`` is one of:

* ``mnist``: MNIST from the data directory, its files and sha256 sums in the registry (:mod:`lmlab.data.registry`),
  downloaded when missing. With the 60,000 training images present the official split is used: 55,000 to
  train, a stratified 5,000 of the training images held out for validation (seeded), the 10,000 test images to
  test. Without them (the shared data here holds only the test images and the training labels) lmlab splits the
  10,000 test images it has, by a seeded stratified shuffle, 8,000 / 1,000 / 1,000. Never by index: the first
  and the last 5,000 test images come from different groups of writers (Census Bureau employees and high-school
  students), and a model tested on one half after training on the other loses about 3 points.
* a folder of IDX files under MNIST's names (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
  ``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``): the same rules, no checksums;
* a folder of images in class subfolders, torchvision's ImageFolder layout: ``DATA/train/<class>/*.png`` and,
  optionally, ``DATA/valid/<class>/...`` (else a stratified 10% of train) and ``DATA/test/<class>/...`` (else
  another 10%); or just ``DATA/<class>/*.png``, split 80 / 10 / 10. Images of any size and colour are resized to
  ``--image-size`` (default: their own size, when they all share one) and made grey or colour (``--image-channels``;
  default: grey when every image is grey).

Images are kept as uint8 arrays (N, C, H, W); the task scales them to [0, 1] and normalises them.

References: LeCun, Cortes & Burges, "The MNIST database of handwritten digits" (the file format, the writers of
the test set, the 20x20 box and centre of mass of :func:`mnist_style`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lmlab.errors import LmlabError
from lmlab.runfiles import open_regular
from lmlab.vision.idx import read_idx

log = logging.getLogger(__name__)

MNIST_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
PARTIAL_FRACTIONS = (0.8, 0.1, 0.1)  # train / valid / test of the images present when there is no given split
FULL_VALID = 5000  # training images held out for validation when the official training set is present
HELD_OUT = 0.1  # of a folder's train images for valid (and test), when it has no such folder
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm")
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")
MNIST_BOX = 20  # MNIST's digits fit a 20x20 box ...
MNIST_SIZE = 28  # ... centred by their centre of mass in 28x28
MAX_IMAGE_SIZE = 1024


@dataclass
class ImageSplit:
    images: np.ndarray  # (N, C, H, W) uint8
    labels: np.ndarray  # (N,) int64, indices into ImageData.classes

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def sha256(self) -> str:
        h = hashlib.sha256()
        h.update(str(self.images.shape).encode())
        h.update(np.ascontiguousarray(self.images).tobytes())
        h.update(np.ascontiguousarray(self.labels, dtype=np.int64).tobytes())
        return h.hexdigest()

    def subset(self, index: np.ndarray) -> ImageSplit:
        return ImageSplit(self.images[index], self.labels[index])


@dataclass
class ImageData:
    train: ImageSplit
    valid: ImageSplit
    test: ImageSplit
    classes: list[str]
    source: str  # where the images were read from
    layout: str  # mnist-official, mnist-split-test, idx-official, idx-split-test, idx-split-train, folder
    preprocess: str  # how an image file given to `lmlab classify --image` is made like these: mnist or resize
    notes: list[str] = field(default_factory=list)

    def split(self, name: str) -> ImageSplit:
        if name not in ("train", "valid", "test"):
            raise LmlabError(f"unknown split {name!r}; choose train, valid or test")
        return getattr(self, name)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of every image."""
        return tuple(self.train.images.shape[1:])  # type: ignore[return-value]

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)}


def stratified_split(labels: np.ndarray, fractions: tuple[float, ...], seed: int) -> list[np.ndarray]:
    """Indices of each part, every class cut in the same proportions after a seeded shuffle; the part sizes are
    the fractions of the total, rounded, and each class's share is apportioned by largest remainders.

    >>> parts = stratified_split(np.repeat(np.arange(10), 1000), (0.8, 0.1, 0.1), seed=0)
    >>> [len(p) for p in parts], np.bincount(np.repeat(np.arange(10), 1000)[parts[2]]).tolist()
    ([8000, 1000, 1000], [100, 100, 100, 100, 100, 100, 100, 100, 100, 100])
    """
    labels = np.asarray(labels)
    n = labels.size
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    totals = _apportion(np.array(fractions) * n, n)  # the size of each part
    # each class's count in each part: proportional, rounded so that rows sum to the class and columns to the part
    share = np.zeros((classes.size, len(fractions)), dtype=np.int64)
    remaining = totals.copy()
    for ci, count in enumerate(counts):
        want = remaining / max(remaining.sum(), 1) * count
        share[ci] = _apportion(want, int(count))
        remaining = np.maximum(remaining - share[ci], 0)
    parts: list[list[np.ndarray]] = [[] for _ in fractions]
    for ci, c in enumerate(classes):
        members = rng.permutation(np.flatnonzero(labels == c))
        start = 0
        for pi in range(len(fractions)):
            parts[pi].append(members[start : start + share[ci, pi]])
            start += share[ci, pi]
    return [rng.permutation(np.concatenate(p)) if p else np.zeros(0, dtype=np.int64) for p in parts]


def _apportion(want: np.ndarray, total: int) -> np.ndarray:
    """Integers summing to ``total`` near ``want`` (largest remainders)."""
    base = np.floor(want).astype(np.int64)
    short = total - int(base.sum())
    if short > 0:
        order = np.argsort(-(want - base), kind="stable")
        base[order[:short]] += 1
    return base


# ---- MNIST and IDX folders
def _idx_file(folder: Path, stem: str) -> Path | None:
    # anything under the name counts (not only a regular file), so that read_idx refuses a FIFO or a device
    # in one line rather than the folder seeming to lack the file
    for name in (stem, stem + ".gz"):
        if (folder / name).exists() or (folder / name).is_symlink():
            return folder / name
    return None


def _labelled(images_path: Path, labels_path: Path) -> ImageSplit:
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise LmlabError(
            f"{images_path}: expected images N x H x W of unsigned bytes, got {images.shape} {images.dtype}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise LmlabError(f"{labels_path}: expected N labels of unsigned bytes, got {labels.shape} {labels.dtype}")
    if images.shape[0] != labels.shape[0]:
        raise LmlabError(
            f"{labels_path} holds {labels.shape[0]:,} labels but {images_path} holds {images.shape[0]:,} images"
        )
    return ImageSplit(images[:, None], labels.astype(np.int64))


def _idx_data(folder: Path, split_seed: int, source: str, prefix: str, notes: list[str]) -> ImageData:
    """The official split when the training images are there, else a stratified split of what is."""
    found = {key: _idx_file(folder, stem) for key, stem in MNIST_NAMES.items()}
    have_train = found["train_images"] is not None and found["train_labels"] is not None
    have_test = found["test_images"] is not None and found["test_labels"] is not None
    if have_train and have_test:
        train_all = _labelled(found["train_images"], found["train_labels"])
        test = _labelled(found["test_images"], found["test_labels"])
        n_valid = min(FULL_VALID, len(train_all) // 10)  # 5,000 of MNIST's 60,000
        frac = n_valid / len(train_all)
        train_i, valid_i = stratified_split(train_all.labels, (1 - frac, frac), split_seed)
        train, valid, layout = train_all.subset(train_i), train_all.subset(valid_i), f"{prefix}-official"
        notes.append(f"official split: {len(train):,} training images ({len(valid):,} more held out for "
                     f"validation, stratified, seed {split_seed}), {len(test):,} test images")  # fmt: skip
    elif have_test or have_train:
        which = "test" if have_test else "train"
        pool = _labelled(found[f"{which}_images"], found[f"{which}_labels"])
        parts = stratified_split(pool.labels, PARTIAL_FRACTIONS, split_seed)
        train, valid, test = (pool.subset(p) for p in parts)
        layout = f"{prefix}-split-{which}"
        missing = "training" if have_test else "test"
        notes.append(
            f"no {missing} images in {folder}: the {len(pool):,} {which} images are split by a stratified shuffle "
            f"(seed {split_seed}) into {len(train):,} / {len(valid):,} / {len(test):,}"
        )
    else:
        raise LmlabError(
            f"{folder}: no MNIST IDX files ({MNIST_NAMES['test_images']}[.gz] with {MNIST_NAMES['test_labels']}[.gz], "
            f"or the train- files)"
        )
    images_hw = {s.images.shape[2:] for s in (train, valid, test) if len(s)}
    if len(images_hw) > 1:
        raise LmlabError(f"{folder}: the IDX files hold images of different sizes: {sorted(images_hw)}")
    top = max(int(s.labels.max()) for s in (train, valid, test) if len(s))
    classes = [str(i) for i in range(top + 1)]
    return ImageData(train, valid, test, classes, source, layout, "mnist", notes)


def _mnist_named(split_seed: int) -> ImageData:
    from lmlab.data.download import check_file, fetch
    from lmlab.data.registry import DatasetInfo, data_dir, get_dataset

    info = get_dataset("mnist")
    root = data_dir()
    # the test images and labels are needed (downloaded when missing); the training images are used when present
    needed = tuple(f for f in info.files if not f.optional)
    fetch(DatasetInfo(info.name, info.description, info.kind, needed), progress=True)
    optional = [f for f in info.files if f.optional]
    for f in optional:
        dest = root / f.path
        if dest.exists() and (problem := check_file(f, dest, verify=False)) is not None:
            raise LmlabError(f"{dest} is corrupted: {problem}; run `lmlab data fetch mnist --force` or delete it")
    notes = []
    if any(not (root / f.path).exists() for f in optional):
        notes.append(
            "the 60,000 training images are not in the data directory (`lmlab data fetch mnist` downloads them)"
        )
    return _idx_data(root / "mnist", split_seed, "mnist", "mnist", notes)


# ---- image files
def _open_image(path: Path):
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(path)
        img.load()
    except UnidentifiedImageError:
        raise LmlabError(f"{path}: not an image (PIL cannot identify it; PNG, JPEG, BMP, GIF, TIFF, ...)") from None
    except (OSError, SyntaxError, ValueError) as e:  # truncated or damaged file
        raise LmlabError(f"{path}: not a readable image ({e})") from None
    if img.width < 1 or img.height < 1 or max(img.size) > 1 << 15:
        raise LmlabError(f"{path}: an image of {img.width}x{img.height} pixels cannot be used")
    return img


def _flatten_alpha(img, background: int = 255):
    """An image with transparency composited on a plain background (white: a drawing on a transparent canvas)."""
    from PIL import Image

    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (background,) * 3 + (255,))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    return img


def to_array(img, channels: int, size: int) -> np.ndarray:
    """A PIL image as uint8 (C, size, size): grey (C = 1) or RGB (C = 3), resized (antialiased)."""
    from PIL import Image

    img = _flatten_alpha(img)
    img = img.convert("L" if channels == 1 else "RGB")
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BILINEAR)
    a = np.asarray(img, dtype=np.uint8)
    return a[None] if channels == 1 else a.transpose(2, 0, 1)


def mnist_style(img) -> np.ndarray:
    """Any picture of a digit made as MNIST's were: grey, white ink on black (a light background is inverted),
    cropped to the ink, scaled to fit a 20x20 box (aspect kept), and placed in 28x28 so that its centre of mass
    is at the centre. Returns uint8 (1, 28, 28)."""
    from PIL import Image

    a = np.asarray(_flatten_alpha(img).convert("L"), dtype=np.float64)
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    if np.median(border) > 127:  # dark ink on a light background: MNIST's ink is the bright part
        a = 255.0 - a
        border = 255.0 - border
    a = np.clip(a - np.median(border), 0, None)  # the background to 0
    out = np.zeros((MNIST_SIZE, MNIST_SIZE), dtype=np.float64)
    if a.max() <= 0:
        return out.astype(np.uint8)[None]
    a = a * (255.0 / a.max())
    ink = a > 0.1 * 255
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    a = a[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = a.shape
    scale = MNIST_BOX / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    box = Image.fromarray(a.astype(np.uint8), mode="L").resize((nw, nh), Image.Resampling.LANCZOS)
    b = np.asarray(box, dtype=np.float64)
    total = b.sum()
    cy = (b.sum(axis=1) @ np.arange(nh)) / total if total > 0 else (nh - 1) / 2
    cx = (b.sum(axis=0) @ np.arange(nw)) / total if total > 0 else (nw - 1) / 2
    # MNIST puts the centre of mass at pixel (14, 14) (its digits' centres average 14.0 to 14.4, not 13.5)
    top = int(np.clip(round(MNIST_SIZE / 2 - cy), 0, MNIST_SIZE - nh))
    left = int(np.clip(round(MNIST_SIZE / 2 - cx), 0, MNIST_SIZE - nw))
    out[top : top + nh, left : left + nw] = b
    return np.clip(out, 0, 255).astype(np.uint8)[None]


def read_image_file(path: str | os.PathLike, channels: int, size: int, preprocess: str) -> np.ndarray:
    """An image file as the run's images are: ``mnist`` (:func:`mnist_style`) or ``resize`` (:func:`to_array`)."""
    path = Path(path)
    if not path.is_file():
        raise LmlabError(f"--image {path}: no such file")
    img = _open_image(path)
    if preprocess == "mnist":
        from PIL import Image

        a = mnist_style(img)
        return a if (channels, size) == (1, MNIST_SIZE) else to_array(Image.fromarray(a[0], mode="L"), channels, size)
    return to_array(img, channels, size)


#: the most pixels an image given to a trained network (``lmlab classify --image``, ``lmlab.load(RUN).predict``)
#: may claim: a file of a few bytes can claim billions, so its header is read before its pixels
MAX_IMAGE_PIXELS = 64 * 2**20


@contextlib.contextmanager
def refuse_image_bombs(where: str) -> Iterator[None]:
    """PIL's decompression-bomb check (an image claiming more than 89 million pixels), warning included, as a
    one-line error instead of a traceback."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise LmlabError(f"{where}: an image is too large to decode ({e})") from None


def _claimed_size(path: Path, flag: str) -> tuple[int, int] | None:
    """The width and height the image file's header claims, read without decoding its pixels (None: more than
    twice PIL's own limit); one line for what is not a regular file or not an image."""
    from PIL import Image, UnidentifiedImageError

    where = f"{flag}{path}"
    try:
        f = open_regular(path, missing=f"{path}: no such file")
    except LmlabError as e:
        raise LmlabError(f"{flag}{e}") from None
    with f:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # judged by MAX_IMAGE_PIXELS
                with Image.open(f) as img:
                    return img.size
        except Image.DecompressionBombError:
            return None
        except UnidentifiedImageError:
            raise LmlabError(f"{where}: not an image (PNG, JPEG, BMP, GIF, TIFF, ...)") from None
        except (OSError, SyntaxError, ValueError) as e:  # a damaged header
            raise LmlabError(f"{where}: not a readable image ({e})") from None


def read_one_image(path: str | os.PathLike, pre: Any, flag: str = "") -> np.ndarray:
    """One image file given to a trained network, made as the run's images are (``pre``: the run's
    preprocessing, with ``channels``, ``image_size`` and ``mode``), or one line naming the file (after ``flag``,
    e.g. ``--image``): not a regular file (a FIFO is refused without being opened), not an image, or more than
    :data:`MAX_IMAGE_PIXELS` pixels by its header, before any pixel is decoded."""
    path = Path(path)
    flag = f"{flag} " if flag else ""
    where = f"{flag}{path}"
    size = _claimed_size(path, flag)
    if size is None or size[0] * size[1] > MAX_IMAGE_PIXELS:
        claimed = "hundreds of millions of" if size is None else f"{size[0]:,} x {size[1]:,} = {size[0] * size[1]:,}"
        raise LmlabError(
            f"{where}: {claimed} pixels, more than the {MAX_IMAGE_PIXELS:,} lmlab decodes; give a smaller image"
        )
    with refuse_image_bombs(where):
        return read_image_file(path, pre.channels, pre.image_size, pre.mode)


def _class_folders(folder: Path) -> dict[str, list[Path]]:
    out: dict[str, list[Path]] = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files = sorted(
            p
            for p in sub.rglob("*")
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
        )
        out[sub.name] = files
    return out


def _image_folder(folder: Path, split_seed: int, image_size: int | None, channels: int | None) -> ImageData:
    has_train = (folder / "train").is_dir()
    parts = {name: _class_folders(folder / name) for name in ("train", "valid", "test") if (folder / name).is_dir()}
    if not has_train:
        parts = {"all": _class_folders(folder)}
    base = parts["train" if has_train else "all"]
    classes = [c for c, files in base.items() if files]
    if len(classes) < 2:
        where = folder / "train" if has_train else folder
        raise LmlabError(
            f"{where}: needs at least 2 class subfolders holding images ({', '.join(IMAGE_SUFFIXES)}), found "
            f"{len(classes)}; the layout is DATA/train/<class>/*.png (torchvision's ImageFolder)"
        )
    for name, folders in parts.items():
        for c, files in folders.items():
            if files and c not in classes:
                raise LmlabError(f"{folder / name / c}: class {c!r} has no training images")
    # the images' own size and colour unless given
    listing = [(name, c, p) for name, folders in parts.items() for c, files in folders.items() for p in files]
    opened = [(name, c, p, _open_image(p)) for name, c, p in listing]
    if channels is None:
        channels = 1 if all(img.mode in GREY_MODES for *_, img in opened) else 3
    if image_size is None:
        sizes = {img.size for *_, img in opened}
        if len(sizes) != 1 or next(iter(sizes))[0] != next(iter(sizes))[1]:
            first = opened[0]
            other = next((o for o in opened if o[3].size != first[3].size), first)
            raise LmlabError(
                f"{folder}: the images are not all square and of one size ({first[2]} is {first[3].width}x"
                f"{first[3].height}, {other[2]} is {other[3].width}x{other[3].height}); give --image-size N to "
                "resize them all to N x N"
            )
        image_size = next(iter(sizes))[0]
    if not 1 <= image_size <= MAX_IMAGE_SIZE:
        raise LmlabError(f"--image-size must be from 1 to {MAX_IMAGE_SIZE}, got {image_size}")
    index = {c: i for i, c in enumerate(classes)}
    arrays: dict[str, list[np.ndarray]] = {}
    labels: dict[str, list[int]] = {}
    for name, c, _p, img in opened:
        arrays.setdefault(name, []).append(to_array(img, channels, image_size))
        labels.setdefault(name, []).append(index[c])

    def split_of(name: str) -> ImageSplit:
        if name not in arrays:
            return ImageSplit(np.zeros((0, channels, image_size, image_size), np.uint8), np.zeros(0, np.int64))
        return ImageSplit(np.stack(arrays[name]), np.array(labels[name], dtype=np.int64))

    notes: list[str] = []
    if has_train:
        train, valid, test = split_of("train"), split_of("valid"), split_of("test")
        missing = [n for n in ("valid", "test") if n not in arrays]
        if missing:
            fracs = (1 - HELD_OUT * len(missing), *([HELD_OUT] * len(missing)))
            cut = [train.subset(p) for p in stratified_split(train.labels, fracs, split_seed)]
            train = cut[0]
            for n, s in zip(missing, cut[1:]):
                if n == "valid":
                    valid = s
                else:
                    test = s
            notes.append(
                f"no {' or '.join(missing)} folder: a stratified {HELD_OUT:.0%} of train each (seed {split_seed})"
            )
    else:
        pool = split_of("all")
        train, valid, test = (pool.subset(p) for p in stratified_split(pool.labels, PARTIAL_FRACTIONS, split_seed))
        notes.append(f"no train/ folder: the images are split 80/10/10 by a stratified shuffle (seed {split_seed})")
    return ImageData(train, valid, test, classes, str(folder.resolve()), "folder", "resize", notes)


def load_image_data(
    spec: str, *, split_seed: int = 0, image_size: int | None = None, channels: int | None = None
) -> ImageData:
    """The dataset ``spec`` names (see the module docstring)."""
    if channels is not None and channels not in (1, 3):
        raise LmlabError(f"--image-channels must be 1 or 3, got {channels}")
    if spec == "mnist":
        if image_size is not None or channels is not None:
            raise LmlabError("--image-size and --image-channels are for folders of images; MNIST is 28x28, grey")
        return _mnist_named(split_seed)
    from lmlab.data.registry import DATASETS

    if spec in DATASETS:
        raise LmlabError(f"--data {spec} is a {DATASETS[spec].kind} dataset, not images; use mnist or a folder")
    folder = Path(spec)
    if not folder.exists():
        raise LmlabError(
            f"--data {spec}: no such dataset or folder; use mnist, a folder of MNIST IDX files, or a folder of "
            "images in class subfolders (DATA/train/<class>/*.png)"
        )
    if not folder.is_dir():
        raise LmlabError(f"--data {spec} is a file; give mnist or a folder (IDX files, or DATA/train/<class>/*.png)")
    if any(_idx_file(folder, stem) for stem in MNIST_NAMES.values()):
        if image_size is not None or channels is not None:
            raise LmlabError("--image-size and --image-channels are for folders of images, not IDX files")
        return _idx_data(folder, split_seed, str(folder.resolve()), "idx", [])
    return _image_folder(folder, split_seed, image_size, channels)


def data_info(
    spec: str, data: ImageData, split_seed: int, image_size: int | None, channels: int | None
) -> dict[str, Any]:
    """What a run records about its data (and what ``eval`` and ``--resume`` read back)."""
    from lmlab.data.fingerprint import data_spec

    return {
        "spec": data_spec(spec),  # a path made absolute: the run evaluates the same images from any folder
        "source": data.source,
        "layout": data.layout,
        "split_seed": split_seed,
        "image_size": image_size,
        "channels": channels,
        "sizes": data.sizes(),
        "sha256": {name: data.split(name).sha256() for name in ("train", "valid", "test")},
        "notes": list(data.notes),
    }


__all__ = [
    "ImageData",
    "ImageSplit",
    "data_info",
    "load_image_data",
    "mnist_style",
    "read_image_file",
    "stratified_split",
    "to_array",
]
