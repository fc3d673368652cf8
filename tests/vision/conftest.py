"""Tiny synthetic image datasets, written as MNIST IDX files or as a folder of PNGs: three classes (a horizontal
bar, a vertical bar, a hollow square) at random places, easy enough that a few dozen updates learn them."""

from __future__ import annotations

import numpy as np
import pytest

from lmlab.vision.idx import write_idx

CLASSES = ("horizontal", "vertical", "square")


def shapes(n: int, seed: int, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """n images (n, size, size) uint8 and their labels 0 (horizontal bar), 1 (vertical bar), 2 (square)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 40, (n, size, size)).astype(np.uint8)  # a little background noise
    labels = np.arange(n) % 3
    rng.shuffle(labels)
    for img, label in zip(images, labels):
        r, c = rng.integers(4, size - 12, 2)
        if label == 0:
            img[r : r + 3, c : c + 10] = 255
        elif label == 1:
            img[r : r + 10, c : c + 3] = 255
        else:
            img[r : r + 9, c : c + 9] = 255
            img[r + 2 : r + 7, c + 2 : c + 7] = 0
    return images, labels.astype(np.uint8)


def write_mnist_like(folder, n_train: int | None, n_test: int, seed: int = 0, gz: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    if n_train:
        x, y = shapes(n_train, seed)
        write_idx(folder / f"train-images-idx3-ubyte{ext}", x)
        write_idx(folder / f"train-labels-idx1-ubyte{ext}", y)
    x, y = shapes(n_test, seed + 1)
    write_idx(folder / f"t10k-images-idx3-ubyte{ext}", x)
    write_idx(folder / f"t10k-labels-idx1-ubyte{ext}", y)


@pytest.fixture(scope="session")
def idx_full(tmp_path_factory):
    """An IDX folder with training and test files: 300 training images (30 held out to validate), 60 test."""
    folder = tmp_path_factory.mktemp("idx-full")
    write_mnist_like(folder, 300, 60)
    return folder


@pytest.fixture(scope="session")
def idx_test_only(tmp_path_factory):
    """Only the test files, as ../shared/data/mnist has: split 80/10/10."""
    folder = tmp_path_factory.mktemp("idx-test-only")
    write_mnist_like(folder, None, 200, gz=False)
    return folder
