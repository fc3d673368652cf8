"""``lmlab.load`` on an image classifier of every family: predict equals the classifier's probabilities and
``lmlab classify --image --json``, for files and for arrays of every layout; explain gives each stage's maps
(bounded) and the first layer's filters; bad images are one LmlabError line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import lmlab
from lmlab.cli.main import main
from lmlab.errors import LmlabError
from lmlab.vision.api import shrink
from lmlab.vision.data import load_image_data, read_image_file
from lmlab.vision.models import IMAGE_MODELS
from lmlab.vision.task import load_image_classifier
from tests.vision.conftest import write_mnist_like

#: every family, tiny. Without batch norm: its backward pass now and then never returns in this machine's PyTorch
#: (2.13, CPU) when a ResNet trains (and tests/vision/test_cli.py hangs there too)
TINY = {
    "mlp": ["--hidden", "16"],
    "lenet5": [],
    "alexnet": ["--channels", "4,4,4,4,4", "--fc", "16"],
    "vgg": ["--channels", "4,8", "--fc", "16"],
    "resnet": ["--channels", "4,8", "--blocks", "1,1", "--no-batch-norm"],
    "vit": ["--d-model", "16", "--n-head", "2", "--n-layer", "1", "--d-ff", "32", "--warmup-steps", "0"],
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("idx")
    write_mnist_like(folder, 60, 12)
    return folder


@pytest.fixture(scope="module")
def runs(data, tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for family, flags in TINY.items():
        args = ["train", "--task", "image", "--model", family, "--data", data, "--out", root / family, "--epochs", "1",
                "--batch-size", "32", "--device", "cpu", "--seed", "1", *flags]  # fmt: skip
        assert main([str(a) for a in args]) == 0
    return {family: lmlab.load(root / family) for family in TINY}


@pytest.fixture(scope="module")
def images(data):
    """Three test images of the run's own size, uint8 (3, 1, 28, 28)."""
    return load_image_data(str(data)).test.images[:3]


@pytest.fixture(scope="module")
def png(tmp_path_factory):
    """A 40 x 30 colour drawing of a vertical bar, dark on light, as a user would draw one."""
    a = np.full((30, 40, 3), 230, dtype=np.uint8)
    a[5:25, 18:22] = (20, 20, 120)
    path = tmp_path_factory.mktemp("png") / "bar.png"
    Image.fromarray(a).save(path)
    return path


def test_every_family_is_tested():
    assert set(TINY) == set(IMAGE_MODELS)


@pytest.mark.parametrize("family", list(TINY))
def test_predict_arrays_of_every_layout_equals_the_classifier(runs, images, family):
    m = runs[family]
    assert (m.task, m.family) == ("image", family)
    classifier, _ = load_image_classifier(m.path)
    expected = classifier.predict_proba(images)
    same = [
        [im for im in images],  # (C, H, W) uint8, as the dataset holds them
        [im[0] for im in images],  # (H, W)
        [im.transpose(1, 2, 0) for im in images],  # (H, W, C)
        [im.astype(np.float32) / 255 for im in images],  # floats in [0, 1]
    ]
    for inputs in same:
        predictions = m.predict(inputs)
        json.dumps(predictions)
        for pred, p in zip(predictions, expected):
            assert list(pred["probabilities"]) == classifier.classes and "image" not in pred
            assert list(pred["probabilities"].values()) == p.tolist()
            assert pred["label"] == classifier.classes[int(p.argmax())] and pred["probability"] == p.max()
            assert sum(pred["probabilities"].values()) == pytest.approx(1, abs=1e-12)
    # another size, or colour: made an image and prepared as a file is (MNIST's centring here)
    big = np.kron(images[0][0], np.ones((2, 2), dtype=np.uint8))  # (56, 56)
    colour = np.repeat(big[:, :, None], 3, axis=2)
    pil = Image.fromarray(big)
    from lmlab.vision.data import mnist_style

    p = classifier.predict_proba(mnist_style(pil)[None])[0]
    for image in (big, colour):
        assert list(m.predict([image])[0]["probabilities"].values()) == p.tolist()


@pytest.mark.parametrize("family", ["lenet5", "vit"])
def test_predict_a_file_equals_the_command_line(runs, png, family, capsys):
    m = runs[family]
    classifier, _ = load_image_classifier(m.path)
    pre = classifier.preprocess
    p = classifier.predict_proba(read_image_file(png, pre.channels, pre.image_size, pre.mode)[None])[0]
    pred = m.predict([str(png)])[0]
    assert pred["image"] == str(png) and list(pred["probabilities"].values()) == p.tolist()
    assert m.predict([png])[0] == pred  # a Path as well as a str
    capsys.readouterr()
    assert main(["classify", str(m.path), "--image", str(png), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == pred


@pytest.mark.parametrize("family", list(TINY))
def test_explain_gives_bounded_feature_maps_and_filters(runs, images, family):
    m = runs[family]
    classifier, _ = load_image_classifier(m.path)
    e = m.explain(images[0], max_maps=3, max_filters=5)
    json.dumps(e)
    assert e["label"] == m.predict([images[0]])[0]["label"]
    assert np.array(e["input"]["pixels"]).shape == (1, 28, 28) == tuple(e["input"]["shape"])
    weights = classifier.net.filters()
    assert e["filters"]["shape"] == list(weights.shape) and e["filters"]["shown"] == min(5, weights.shape[0])
    shown = np.array(e["filters"]["weights"])
    assert shown.shape[:2] == (e["filters"]["shown"], weights.shape[1]) and max(shown.shape[2:]) <= 32
    if family == "mlp":  # no convolutions: no maps, and a note that says so
        assert e["feature_maps"] == [] and "no convolutions" in e["note"]
        return
    maps = classifier.feature_maps(images[0])
    assert [f["layer"] for f in e["feature_maps"]] == [name for name, _ in maps] and len(maps) > 0
    for f, (_, a) in zip(e["feature_maps"], maps):
        got = np.array(f["maps"])
        assert f["shape"] == list(a.shape) and f["shown"] == got.shape[0] == min(3, a.shape[0])
        assert got.shape[1:] == a.shape[1:]  # 28 x 28 at most: nothing to shrink
        assert np.allclose(got, a[:3].numpy(), atol=1e-6)
    assert ("attention" in e) == (family == "vit")
    if family == "vit":
        layers = np.array(e["attention"]["layers"])  # (n_layer, grid, grid): the [class] token's weights
        assert layers.shape == (1, 4, 4) and (layers >= 0).all() and (layers.sum(axis=(1, 2)) <= 1 + 1e-6).all()
    default = m.explain(images[0])
    assert all(f["shown"] == min(16, f["shape"][0]) for f in default["feature_maps"])


def test_shrink_averages_large_maps_down_to_32():
    a = np.random.default_rng(0).normal(size=(2, 64, 48))
    small = shrink(a)
    assert small.shape == (2, 32, 32)
    expected = torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(a)[None].float(), (32, 32))[0]
    assert np.allclose(small, expected.numpy(), atol=1e-6)
    assert small[0, 0, 0] == pytest.approx(a[0, :2, :2].mean(), abs=1e-6)  # 64 / 32 rows and 48 / 32 columns
    assert shrink(a[:, :20, :32]).shape == (2, 20, 32)  # small enough already


def test_describe(runs):
    for family, m in runs.items():
        d = m.describe()
        json.dumps(d)
        assert d["task"] == "image" and d["family"] == family and d["labels"] == ["0", "1", "2"]
        assert d["parameters"] == load_image_classifier(m.path)[0].num_parameters() > 0
        assert d["preprocess"]["mode"] == "mnist"


@pytest.mark.parametrize(
    "image, message",
    [
        (np.zeros((2, 28, 28), dtype=np.uint8), "an image array must be (H, W), (H, W, C) or (C, H, W)"),
        (np.zeros((1, 1, 28, 28), dtype=np.uint8), "got shape (1, 1, 28, 28)"),
        (np.zeros(28, dtype=np.uint8), "got shape (28,)"),
        (np.full((28, 28), 2.0), "a float image array must hold values from 0 to 1"),
        (np.full((28, 28), np.nan), "a float image array must hold values from 0 to 1"),
        (np.full((28, 28), 300), "must hold values from 0 to 255, got 300 to 300"),
        (np.zeros((28, 28), dtype=bool), "got dtype bool"),
        (np.zeros((0, 28)), "an image of 28 x 0 pixels cannot be used"),
        (5, "an image is a file path or a numpy array, got int"),
        ("/nonexistent/x.png", "/nonexistent/x.png: no such file"),
    ],
)
def test_bad_images_are_one_line(runs, image, message):
    m = runs["lenet5"]
    for call in (lambda: m.explain(image), lambda: m.predict([np.zeros((28, 28), np.uint8), image])):
        with pytest.raises(LmlabError) as e:
            call()
        assert message in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(LmlabError, match=r"^inputs\[1\]: "):
        m.predict([np.zeros((28, 28), np.uint8), image])


def test_bad_files_and_options_are_one_line(runs, tmp_path):
    m = runs["lenet5"]
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    truncated = tmp_path / "cut.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (40, 40), dtype=np.uint8)).save(tmp_path / "whole.png")
    truncated.write_bytes((tmp_path / "whole.png").read_bytes()[:400])  # the header, and part of the pixels
    for bad, message in [
        (text, "not an image"),
        (truncated, "not a readable image"),
        (tmp_path, "is a directory"),
    ]:
        with pytest.raises(LmlabError) as e:
            m.explain(bad)
        assert message in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(LmlabError, match="wrap a single one in a list"):
        m.predict(str(text))
    with pytest.raises(LmlabError, match="takes no options, got 'top_k'"):
        m.predict([np.zeros((28, 28), np.uint8)], top_k=2)
    with pytest.raises(LmlabError, match="max_maps must be an integer from 1 to"):
        m.explain(np.zeros((28, 28), np.uint8), max_maps=0)
