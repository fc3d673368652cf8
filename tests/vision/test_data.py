"""Image datasets: the stratified split, MNIST without its training images, the official split, IDX folders,
folders of images, the MNIST-style preprocessing of a new image, augmentation, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from lmlab.data import DataFile, DatasetInfo, fetch
from lmlab.errors import LmlabError
from lmlab.vision.augment import augment
from lmlab.vision.data import load_image_data, mnist_style, read_image_file, stratified_split
from tests.vision.conftest import CLASSES, shapes


@pytest.mark.parametrize("n,fractions", [(10_000, (0.8, 0.1, 0.1)), (1003, (0.8, 0.1, 0.1)), (57, (0.9, 0.1))])
def test_stratified_split_is_exact_disjoint_stratified_and_seeded(n, fractions):
    labels = np.random.default_rng(1).integers(0, 7, n)
    parts = stratified_split(labels, fractions, seed=3)
    assert sum(len(p) for p in parts) == n
    assert all(abs(len(p) - f * n) < 1 for p, f in zip(parts, fractions))  # each part its share, rounded
    everything = np.concatenate(parts)
    assert sorted(everything.tolist()) == list(range(n))  # every index once
    for part, f in zip(parts, fractions):
        share = np.bincount(labels[part], minlength=7)
        assert np.all(np.abs(share - f * np.bincount(labels, minlength=7)) <= 1.5)  # each class in proportion
    again = stratified_split(labels, fractions, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again))
    assert not np.array_equal(parts[-1], stratified_split(labels, fractions, seed=4)[-1])


def test_mnist_without_training_images_splits_the_test_set(shared_data, monkeypatch):
    monkeypatch.setenv("LMLAB_DATA_DIR", str(shared_data))
    data = load_image_data("mnist")
    assert data.sizes() == {"train": 8000, "valid": 1000, "test": 1000}
    assert data.layout == "mnist-split-test" and data.classes == [str(d) for d in range(10)]
    assert data.shape == (1, 28, 28) and data.preprocess == "mnist"
    assert any("stratified shuffle" in n for n in data.notes)
    assert any("lmlab data fetch mnist" in n for n in data.notes)
    # stratified: each class's share of the 1,000 test images is its share of the 10,000 (980 zeros -> 98)
    test_counts = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert all(abs(a - b / 10) <= 1 for a, b in zip(np.bincount(data.test.labels), test_counts))
    # not by index: the held-out images come from both halves of the test file (two groups of writers)
    from lmlab.vision.idx import read_idx

    all_images = read_idx(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz").reshape(10_000, -1)
    index = {row.tobytes(): i for i, row in enumerate(all_images)}
    positions = np.array([index[img.tobytes()] for img in data.test.images.reshape(1000, -1)])
    assert 400 < (positions < 5000).sum() < 600
    seen = {img.tobytes() for s in (data.train, data.valid, data.test) for img in s.images}
    assert len(seen) >= 9990  # no image in two splits (MNIST's test set has a few exact duplicates)


def test_official_split_when_the_training_images_are_present(idx_full):
    data = load_image_data(str(idx_full))
    assert data.layout == "idx-official"
    assert data.sizes() == {"train": 270, "valid": 30, "test": 60}  # a stratified tenth (at most 5,000) held out
    assert np.bincount(data.valid.labels).tolist() == [10, 10, 10]
    x, y = shapes(60, 1)  # the test images are the test file's, in order
    assert np.array_equal(data.test.images[:, 0], x) and np.array_equal(data.test.labels, y)
    assert data.classes == ["0", "1", "2"]


def test_idx_folder_with_only_test_files(idx_test_only):
    data = load_image_data(str(idx_test_only), split_seed=5)
    assert data.layout == "idx-split-test" and data.sizes() == {"train": 160, "valid": 20, "test": 20}
    other = load_image_data(str(idx_test_only), split_seed=6)
    assert not np.array_equal(other.test.images, data.test.images)  # the seed chooses the split


def test_mismatched_idx_files_are_named(tmp_path):
    from lmlab.vision.idx import write_idx

    x, y = shapes(10, 0)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", x)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", y[:9])
    with pytest.raises(LmlabError, match="holds 9 labels but .* holds 10 images"):
        load_image_data(str(tmp_path))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x0a\x01")
    with pytest.raises(LmlabError, match=r"t10k-labels-idx1-ubyte: truncated IDX file: .* needs 18 bytes, found 9"):
        load_image_data(str(tmp_path))


def _png_folder(root, sizes=(28,), mode="L", per_class=12, with_test=True):
    for split, n, seed in (("train", per_class, 0), ("test", 3, 1)):
        if split == "test" and not with_test:
            continue
        x, y = shapes(n * 3, seed)
        for i, (img, label) in enumerate(zip(x, y)):
            d = root / split / CLASSES[label]
            d.mkdir(parents=True, exist_ok=True)
            size = sizes[i % len(sizes)]
            Image.fromarray(img, mode="L").convert(mode).resize((size, size)).save(d / f"{i}.png")
    return root


def test_image_folder_layout(tmp_path):
    root = _png_folder(tmp_path / "shapes")
    data = load_image_data(str(root))
    assert data.classes == sorted(CLASSES) and data.layout == "folder" and data.preprocess == "resize"
    assert data.shape == (1, 28, 28)
    assert data.sizes() == {"train": 32, "valid": 4, "test": 9}  # no valid/ folder: 10% of train, stratified
    (root / "train" / "square" / "notes.txt").write_text("not an image, and not named like one: skipped")
    assert load_image_data(str(root)).sizes()["train"] == 32


def test_image_folder_colour_sizes_and_resizing(tmp_path):
    root = _png_folder(tmp_path / "mixed", sizes=(20, 36), mode="RGB", with_test=False)
    with pytest.raises(LmlabError, match="not all square and of one size .* give --image-size N"):
        load_image_data(str(root))
    data = load_image_data(str(root), image_size=16)
    assert data.shape == (3, 16, 16)  # colour files: three channels
    assert load_image_data(str(root), image_size=16, channels=1).shape == (1, 16, 16)
    assert data.sizes() == {"train": 29, "valid": 4, "test": 3}  # 28.8 / 3.6 / 3.6 by largest remainders


def test_image_folder_bad_input(tmp_path):
    root = _png_folder(tmp_path / "bad")
    (root / "train" / "square" / "broken.png").write_bytes(b"this is not a png")
    with pytest.raises(LmlabError, match=r"broken.png: not an image"):
        load_image_data(str(root))
    (root / "train" / "square" / "broken.png").unlink()
    (root / "test" / "circle").mkdir()
    Image.new("L", (28, 28)).save(root / "test" / "circle" / "a.png")
    with pytest.raises(LmlabError, match="class 'circle' has no training images"):
        load_image_data(str(root))
    one = tmp_path / "one" / "train" / "only"
    one.mkdir(parents=True)
    Image.new("L", (28, 28)).save(one / "a.png")
    with pytest.raises(LmlabError, match="needs at least 2 class subfolders"):
        load_image_data(str(tmp_path / "one"))
    with pytest.raises(LmlabError, match="no such dataset or folder"):
        load_image_data(str(tmp_path / "missing"))
    with pytest.raises(LmlabError, match="is a text dataset, not images"):
        load_image_data("ptb")
    with pytest.raises(LmlabError, match="--image-channels must be 1 or 3"):
        load_image_data(str(root), channels=2)


def test_mnist_style_makes_a_photo_of_a_digit_look_like_mnist(shared_data):
    from lmlab.vision.idx import read_idx

    digits = read_idx(shared_data / "mnist" / "t10k-images-idx3-ubyte.gz")[:50]
    rs = []
    for digit in digits:
        # dark ink on light paper, four times larger, off centre on a page that is not square, in colour
        page = np.full((150, 130), 250, dtype=np.uint8)
        page[20:132, 10:122] = 255 - np.asarray(Image.fromarray(digit).resize((112, 112)))
        out = mnist_style(Image.fromarray(page).convert("RGB"))
        assert out.shape == (1, 28, 28) and out.dtype == np.uint8
        rs.append(np.corrcoef(out.ravel().astype(float), digit.ravel().astype(float))[0, 1])
    assert np.median(rs) > 0.95 and min(rs) > 0.6  # back to MNIST's own picture, within a pixel's shift
    blank = mnist_style(Image.new("RGB", (40, 40), "white"))
    assert blank.max() == 0


def test_transparent_drawing_and_read_image_file(tmp_path):
    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))  # a transparent canvas ...
    for y in range(10, 54):
        for x in range(28, 36):
            rgba.putpixel((x, y), (0, 0, 0, 255))  # ... with a black stroke
    rgba.save(tmp_path / "one.png")
    a = read_image_file(tmp_path / "one.png", 1, 28, "mnist")
    assert a.shape == (1, 28, 28) and a.max() == 255
    cols = np.flatnonzero(a[0].max(axis=0) > 128)
    assert cols.min() >= 11 and cols.max() <= 16  # a bright vertical stroke near the middle
    assert read_image_file(tmp_path / "one.png", 3, 16, "resize").shape == (3, 16, 16)
    with pytest.raises(LmlabError, match="no such file"):
        read_image_file(tmp_path / "nothing.png", 1, 28, "mnist")


def test_augmentation_is_seeded_by_step_and_moves_the_image():
    x = torch.zeros(4, 1, 28, 28)
    x[:, :, 10:18, 12:16] = 1.0
    a = augment(x, 3, 15, seed=1, step=7)
    assert torch.equal(a, augment(x, 3, 15, seed=1, step=7))
    assert not torch.equal(a, augment(x, 3, 15, seed=1, step=8))
    assert torch.equal(augment(x, 0, 0, seed=1, step=7), x)
    grid = torch.arange(28.0)
    for img in augment(x, 3, 0, seed=2, step=0):  # a pure shift moves the centre of mass by at most 3 pixels
        m = img[0]
        cy = (m.sum(1) * grid).sum() / m.sum()
        cx = (m.sum(0) * grid).sum() / m.sum()
        assert abs(cy - 13.5) <= 3.01 and abs(cx - 13.5) <= 3.01
        assert abs(m.sum() - 32) < 3  # bilinear resampling keeps the ink


def test_optional_files_are_fetched_only_when_asked(tmp_path, monkeypatch):
    mirror, data = tmp_path / "mirror", tmp_path / "data"
    (mirror / "x").mkdir(parents=True)
    (mirror / "x" / "big.bin").write_bytes(b"0123456789")
    (mirror / "x" / "small.bin").write_bytes(b"ab")
    import hashlib

    sha = {n: hashlib.sha256((mirror / "x" / n).read_bytes()).hexdigest() for n in ("big.bin", "small.bin")}
    info = DatasetInfo(
        "x",
        "test",
        "images",
        (
            DataFile("x/small.bin", "https://example.invalid/small.bin", sha["small.bin"], 2),
            DataFile("x/big.bin", "https://example.invalid/big.bin", sha["big.bin"], 10, optional=True, note="big"),
        ),
    )
    monkeypatch.setenv("LMLAB_DATA_MIRROR", mirror.as_uri())
    fetch(info, data, progress=False)
    assert (data / "x" / "small.bin").exists() and not (data / "x" / "big.bin").exists()
    fetch(info, data, progress=False, optional=True)
    assert (data / "x" / "big.bin").read_bytes() == b"0123456789"


def test_augmenting_normalised_images_equals_normalising_augmented_ones(idx_test_only, tmp_path):
    from lmlab.vision.models import get_image_model
    from lmlab.vision.task import ImageClassificationTask

    data = load_image_data(str(idx_test_only))
    entry = get_image_model("mlp")
    cfg = entry.train_config_class()(hidden=(8,), shift=3.0, rotate=20.0, batch_size=16, **entry.data_values(1, 28, 3))
    task = ImageClassificationTask(cfg, data)
    task.prepare(tmp_path, seed=4)
    task.build_network()
    seen = []

    def forward(x):
        seen.append(x)
        return torch.zeros(x.size(0), 3, requires_grad=True)

    assert task.train_f is not None  # small enough to keep normalised
    task.train_step(forward, 5, None)
    task.train_f = None  # the other path: bytes, augmented, then normalised
    task.train_step(forward, 5, None)
    torch.testing.assert_close(seen[0], seen[1], rtol=1e-5, atol=1e-5)
    assert not torch.equal(seen[0], task.preprocess.normalise(task.train_x[task.batches.batch(5)].float() / 255))
