"""The image task through the command line: train every family, eval, classify --image, plot, resume, compare;
the convolution commands and the fundamentals; and the bad inputs, each one line with exit status 2."""

from __future__ import annotations

import functools
import json
import signal

import numpy as np
import pytest
import torch
from PIL import Image

from lmlab.cli.main import main
from lmlab.nn import load_tensors
from lmlab.train.metrics import read_metrics
from lmlab.vision import task as image_task
from tests.vision.conftest import shapes

TINY = {
    "mlp": ["--hidden", "32"],
    "lenet5": [],
    "alexnet": ["--channels", "4,4,4,4,4", "--fc", "16"],
    "vgg": ["--channels", "4,8", "--fc", "16", "--batch-norm"],
    "resnet": ["--channels", "4,8", "--blocks", "1,1"],
    "vit": ["--d-model", "16", "--n-head", "2", "--n-layer", "1", "--d-ff", "32", "--warmup-steps", "0"],
}
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def cli(capsys):
    def run(*args):
        rc = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return rc, out, err

    return run


def _train(cli, data, out, model, *extra):
    return cli("train", "--task", "image", "--model", model, "--data", data, "--out", out, "--seed", "1",
               "--device", "cpu", *TINY[model], *extra)  # fmt: skip


@pytest.fixture(scope="module")
def lenet_run(idx_full, tmp_path_factory):
    """A LeNet-5 trained on the three shapes: a run the other tests read."""
    out = tmp_path_factory.mktemp("runs") / "lenet"
    rc = main(["train", "--task", "image", "--model", "lenet5", "--data", str(idx_full), "--out", str(out),
               "--epochs", "8", "--lr", "0.003", "--device", "cpu", "--seed", "0"])  # fmt: skip
    assert rc == 0
    return out


def test_lenet_learns_the_shapes_and_eval_reports_accuracy(cli, lenet_run):
    cfg = json.loads((lenet_run / "config.json").read_text())
    assert cfg["task"] == "image" and cfg["family"] == "lenet5" and cfg["labels"] == ["0", "1", "2"]
    assert cfg["preprocess"]["mode"] == "mnist" and len(cfg["preprocess"]["mean"]) == 1
    assert cfg["data"]["layout"] == "idx-official" and cfg["data"]["sizes"] == {"train": 270, "valid": 30, "test": 60}
    assert not list(lenet_run.glob("*.pkl")) and (lenet_run / "model.safetensors").is_file()
    assert (lenet_run / "confusion-valid.png").read_bytes()[:8] == PNG
    rc, out, err = cli("eval", lenet_run, "--split", "test", "--json")
    assert rc == 0, err
    r = json.loads(out)
    assert r["examples"] == 60 and r["accuracy"] >= 0.9  # three easy shapes
    assert set(r["per_class"]) == {"0", "1", "2"} and len(r["confusion_matrix"]["counts"]) == 3
    rc, out, _ = cli("eval", lenet_run, "--split", "valid", "--confusion", lenet_run.parent / "c.png")
    assert rc == 0 and out.startswith(f"{cfg['data']['spec']}:valid: accuracy")
    assert (lenet_run.parent / "c.png").read_bytes()[:8] == PNG
    rows = read_metrics(lenet_run / "metrics.jsonl")
    assert any("images_per_s" in row for row in rows) and any("val_accuracy" in row for row in rows)


def test_classify_an_image_file_of_any_size_and_colour(cli, lenet_run, tmp_path):
    from lmlab.vision.data import read_image_file
    from lmlab.vision.task import load_image_classifier

    classifier, _ = load_image_classifier(lenet_run)
    x, _ = shapes(4, 9)
    for i, img in enumerate(x):
        Image.fromarray(255 - img).resize((84, 60)).convert("RGB").save(tmp_path / f"{i}.png")  # dark on light
        rc, out, err = cli("classify", lenet_run, "--image", tmp_path / f"{i}.png")
        assert rc == 0, err
        predicted, probability = out.rstrip("\n").split("\t")
        p = classifier.predict_proba(read_image_file(tmp_path / f"{i}.png", 1, 28, "mnist")[None])[0]
        assert predicted == classifier.classes[int(p.argmax())] and float(probability) == pytest.approx(p.max(), 1e-4)
    rc, out, _ = cli("classify", lenet_run, "--image", tmp_path / "0.png", "--json")
    probs = json.loads(out)["probabilities"]
    assert set(probs) == {"0", "1", "2"} and abs(sum(probs.values()) - 1) < 1e-6


def test_plot_filters_feature_maps_and_curves(cli, lenet_run, tmp_path):
    Image.fromarray(shapes(1, 3)[0][0]).save(tmp_path / "x.png")
    rc, out, err = cli("plot", lenet_run, "--filters", "--out", tmp_path / "f.png")
    assert rc == 0 and "6 filters of 5x5" in out, err
    rc, out, err = cli("plot", lenet_run, "--feature-maps", "--image", tmp_path / "x.png", "--out", tmp_path / "m.png")
    assert rc == 0 and "5 stages" in out, err
    rc, out, err = cli("plot", lenet_run, "--out", tmp_path / "c.png")
    assert rc == 0, err
    for name in ("f.png", "m.png", "c.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG


@pytest.mark.parametrize("model", ["mlp", "alexnet", "vgg", "resnet", "vit"])
def test_every_family_trains_through_the_command_line(cli, idx_test_only, tmp_path, model):
    rc, out, err = _train(cli, idx_test_only, tmp_path / model, model, "--max-steps", "6", "--batch-size", "16")
    assert rc == 0, err
    assert f"trained {model} (" in out and "160 training images" in out
    rc, out, err = cli("eval", tmp_path / model, "--json")
    assert rc == 0 and json.loads(out)["examples"] == 20


def _timeless(rows):
    return [{k: v for k, v in r.items() if k not in ("elapsed_s", "images_per_s")} for r in rows]


def test_ctrl_c_then_resume_equals_uninterrupted_with_augmentation(cli, idx_test_only, tmp_path, monkeypatch):
    args = ["--epochs", "2", "--eval-every", "4", "--log-every", "2", "--batch-size", "32", "--shift", "2",
            "--rotate", "10"]  # fmt: skip
    assert _train(cli, idx_test_only, tmp_path / "whole", "mlp", *args)[0] == 0

    def ctrl_c(step, trainer):
        if step == 6:
            signal.raise_signal(signal.SIGINT)

    patched = functools.partial(image_task.train_image_classifier, callbacks=[ctrl_c])
    monkeypatch.setattr(image_task, "train_image_classifier", patched)
    run = tmp_path / "stopped"
    rc, _, err = _train(cli, idx_test_only, run, "mlp", *args)
    assert rc == 130 and "--resume" in err
    monkeypatch.undo()
    rc, _, err = cli("train", "--resume", run)
    assert rc == 0, err
    a, b = tmp_path / "whole", run
    assert _timeless(read_metrics(a / "metrics.jsonl")) == _timeless(read_metrics(b / "metrics.jsonl"))
    wa, wb = load_tensors(a / "model.safetensors"), load_tensors(b / "model.safetensors")
    for k in wa:
        torch.testing.assert_close(wa[k], wb[k], atol=1e-6, rtol=1e-6)


def test_mnist_trains_and_reads_a_photographed_digit(cli, shared_data, monkeypatch, tmp_path):
    from lmlab.vision.data import load_image_data

    monkeypatch.setenv("LMLAB_DATA_DIR", str(shared_data))
    rc, out, err = cli("train", "--task", "image", "--model", "mlp", "--hidden", "64", "--data", "mnist", "--out",
                       tmp_path / "m", "--max-steps", "250", "--device", "cpu")  # fmt: skip
    assert rc == 0 and "8,000 training images" in out, err
    test = load_image_data("mnist").test  # held out from training
    right = 0
    for i in range(20):
        digit, label = test.images[i, 0], test.labels[i]
        page = np.full((160, 140), 245, dtype=np.uint8)  # dark ink on paper, larger, off centre, in colour
        page[30:142, 5:117] = 255 - np.asarray(Image.fromarray(digit).resize((112, 112)))
        Image.fromarray(page).convert("RGB").save(tmp_path / "digit.png")
        rc, out, err = cli("classify", tmp_path / "m", "--image", tmp_path / "digit.png")
        assert rc == 0, err
        right += out.split("\t")[0] == str(label)
    assert right >= 16


@pytest.mark.slow
def test_compare(cli, idx_test_only, tmp_path):
    rc, out, err = cli("compare", "--task", "image", "--data", idx_test_only, "--models", "lenet5", "--steps",
                       "4", "--device", "cpu", "--out", tmp_path / "report")  # fmt: skip
    assert rc == 0, err
    results = json.loads((tmp_path / "report" / "results.json").read_text())
    rows = {r["family"]: r for r in results["rows"]}
    assert set(rows) == {"lenet5"} and rows["lenet5"]["status"] == "done"
    assert rows["lenet5"]["parameters"] == 61_155 and rows["lenet5"]["metrics"]["test_examples"] == 20
    assert 0 <= rows["lenet5"]["metrics"]["accuracy"] <= 1 and rows["lenet5"]["speed"] > 0
    assert (tmp_path / "report" / "report.md").is_file()


# ---- the arithmetic commands
def test_conv_prints_the_lecture_example_corrected(cli):
    rc, out, err = cli("conv", "--image", "1 2 3; 4 5 6; 7 8 9", "--kernel", "1 2; 3 4", "--padding", "1,0,1,0",
                       "--activation", "abs(50-x)", "--pool", "2")  # fmt: skip
    assert rc == 0, err
    assert "out[0,1]: window [0 0; 1 2] -> 0*1 + 0*2 + 1*3 + 2*4 = 11" in out
    assert "feature map (3x3):\n  [ 4 11 18]\n  [18 37 47]\n  [36 67 77]" in out
    assert "pool[0,1] = max(32, -inf, 3, -inf) = 32" in out
    assert out.rstrip().endswith("pooled (2x2):\n  [46 32]\n  [17 27]")
    rc, out, _ = cli("conv", "--image", "1 2 3 4; 5 6 7 8; 9 10 11 12; 13 14 15 16", "--kernel", "1 0; 0 1",
                     "--stride", "2")  # fmt: skip
    assert rc == 0 and out.rstrip().endswith("[ 7 11]\n  [23 27]")


def test_cnn_shapes_prints_every_layer_and_the_total(cli):
    rc, out, err = cli("cnn-shapes", "128x128x3 conv3x3x32 pool2 conv3x3x64 pool2 conv3x3x128 pool2 flatten fc1024 "
                       "fc512 fc1000")  # fmt: skip
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("convolutions: same padding, P = (K - 1)/2, unless pP is given; pooling: ceil mode")
    # the lecture's walk-through: same padding keeps 128, each pooling halves it
    assert [line.split()[1] for line in lines[3:10]] == ["128x128x32", "64x64x32", "64x64x64", "32x32x64",
                                                        "32x32x128", "16x16x128", "32768"]  # fmt: skip
    assert lines[3].split()[:3] == ["conv3x3x32", "128x128x32", "896"]  # (3*3*3 + 1)*32
    assert lines[-1].split() == ["total", "34,686,504"]


def test_cnn_shapes_padding_and_pooling_conventions(cli):
    rc, out, err = cli("cnn-shapes", "5x5x1 conv3x3x1p0 pool2 flatten")  # no padding: 3x3, then ceil(1/2) + 1 = 2
    assert rc == 0, err
    assert [line.split()[1] for line in out.splitlines()[3:6]] == ["3x3x1", "2x2x1", "4"]
    assert "ceil: the last window hangs over the edge and is padded with -inf" in out
    rc, out, err = cli("cnn-shapes", "5x5x1 avgpool2")
    assert rc == 0 and "averages the pixels it covers" in out, err


@pytest.mark.parametrize(
    "args,message",
    [
        (["conv", "--image", "1 2; 3 4", "--kernel", "1 2 3; 4 5 6; 7 8 9"], "--kernel is 3x3, larger than the "
         "padded image (2x2)"),
        (["conv", "--image", "1 2 3; 4 5 6; 7 8 9", "--kernel", "1 2; 3 4", "--stride", "2"],
         "output size (W - K + 2P)/S + 1 = (3 - 2 + 2*0)/2 + 1 = 1.5 is not an integer"),
        (["conv", "--image", "1 2; 3", "--kernel", "1"], "--image: every row needs the same number of values"),
        (["conv", "--image", "1 2; 3 4", "--kernel", "1", "--activation", "exec(x)"], "unknown function 'exec'"),
        (["cnn-shapes", "28x28x1 conv5x5x6p0 pool2 conv5x5x16p0 pool2 conv5x5x32p0"],
         "layer 5 (conv5x5x32p0): a 5x5 kernel on a 4x4x16 input with padding 0 shrinks it to nothing"),
        (["cnn-shapes", "28x28x1 conv3x3x8s2"], "layer 1 (conv3x3x8s2): output size (W - K + 2P)/S + 1 = "
         "(28 - 3 + 2*1)/2 + 1 = 14.5 is not an integer"),
        (["cnn-shapes", "28x28x1 conv4x4x8"], "layer 1 (conv4x4x8): a kernel of 4 has no same padding"),
        (["cnn-shapes", "28x28x1 fc10"], "layer 1 (fc10) needs a flat input; put flatten before it"),
        (["cnn-shapes", "conv3x3x8"], "must start with the input HxWxC"),
        (["cnn-shapes", "28x28 lstm"], "layer 1 (lstm): unknown layer"),
    ],
)  # fmt: skip
def test_arithmetic_bad_input_is_one_line(cli, args, message):
    rc, out, err = cli(*args)
    assert rc == 2 and out == "" and err.count("\n") == 1 and message in err, err


# ---- fundamentals
def test_approx_draws_fits_and_shows_the_polynomial_limit(cli, tmp_path):
    rc, out, err = cli("approx", "--target", "sin", "--widths", "2,16", "--steps", "300", "--out", tmp_path / "r.png")
    assert rc == 0, err
    rows = [line.split() for line in out.splitlines()[2:4]]
    assert [r[0] for r in rows] == ["2", "16"] and float(rows[1][2]) < float(rows[0][2])
    assert (tmp_path / "r.png").read_bytes()[:8] == PNG
    rc, out, err = cli("approx", "--target", "x**3 - x", "--range=-2,2", "--widths", "4,32", "--activation", "poly2",
                       "--steps", "300", "--out", tmp_path / "p.png")  # fmt: skip
    assert rc == 0, err
    assert "best polynomial of degree 2 (depth 1): mse" in out
    rc, out, err = cli("approx", "--target", "abs", "--widths", "4", "--depth", "1,2", "--activation", "poly2",
                       "--steps", "200", "--out", tmp_path / "d.png")  # fmt: skip
    assert rc == 0 and "best polynomial of degree 4 (depth 2)" in out, err


def test_activations_plot(cli, tmp_path):
    rc, out, err = cli("activations", "--out", tmp_path / "a.png")
    assert rc == 0 and (tmp_path / "a.png").read_bytes()[:8] == PNG, err


@pytest.mark.parametrize(
    "args,message",
    [
        (["approx", "--target", "import os", "--out", "x.png"], "is not a formula"),
        (["approx", "--target", "log(x)", "--out", "x.png"], "is not finite everywhere"),
        (["approx", "--widths", "0", "--out", "x.png"], "widths must be integers from 1"),
        (["approx", "--out", "x.jpg"], "--out must end in .png"),
        (["approx", "--widths", "2,4", "--depth", "1,2", "--out", "x.png"], "--depth sweeps depth at one width"),
        (["activations", "--only", "relu,swish", "--out", "a.png"], "--only must be one of"),
    ],
)
def test_fundamentals_bad_input_is_one_line(cli, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, out, err = cli(*args)
    assert rc == 2 and err.count("\n") == 1 and message in err, err
    assert not list(tmp_path.iterdir())  # nothing written


# ---- the image task's bad input
def test_image_task_bad_input_is_one_line_and_writes_nothing(cli, tmp_path, lenet_run, idx_full):
    bad = tmp_path / "bad"
    bad.mkdir()
    header = b"\x00\x00\x08\x03" + b"".join(n.to_bytes(4, "big") for n in (5, 28, 28))
    (bad / "t10k-images-idx3-ubyte").write_bytes(header + bytes(100))  # 5 images need 3,920 bytes
    (bad / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01" + (5).to_bytes(4, "big") + bytes(5))
    cases = [
        (["train", "--task", "image", "--model", "mlp", "--data", bad, "--out", tmp_path / "r"],
         "t10k-images-idx3-ubyte: truncated IDX file: its header (5 x 28 x 28 unsigned bytes) needs 3,936 bytes, "
         "found 116"),
        (["train", "--task", "image", "--model", "lenet5", "--data", idx_full, "--tokenizer", "word", "--out",
          tmp_path / "r"], "image models read pixels"),
        (["train", "--task", "image", "--model", "vit", "--patch-size", "5", "--data", idx_full, "--out",
          tmp_path / "r"], "--patch-size 5 must divide the image size 28"),
        (["train", "--task", "image", "--model", "mlp", "--shift", "99", "--data", idx_full, "--out", tmp_path / "r"],
         "--shift must be a number from 0 to 16"),
        (["train", "--task", "image", "--model", "lenet5", "--data", idx_full, "--image-size", "32", "--out",
          tmp_path / "r"], "--image-size and --image-channels are for folders of images"),
        (["train", "--task", "image", "--model", "resnet50", "--data", idx_full, "--out", tmp_path / "r"],
         "unknown image model 'resnet50'"),
        (["classify", lenet_run, "--image", tmp_path / "not.png"], "no such file"),
        (["classify", lenet_run, "--text", "a text"], "classifies images; give --image FILE"),
        (["eval", lenet_run, "--text", tmp_path / "x.txt"], "--text is for text models"),
        (["plot", lenet_run, "--feature-maps"], "--feature-maps needs --image FILE.png"),
        (["attention", lenet_run, "--text", "x", "--out", tmp_path / "a.png"], "is an image classifier"),
    ]  # fmt: skip
    (tmp_path / "fake.png").write_text("not a picture")
    cases.append((["classify", lenet_run, "--image", tmp_path / "fake.png"], "fake.png: not an image"))
    for args, message in cases:
        rc, out, err = cli(*args)
        assert rc == 2 and err.count("\n") == 1 and message in err, (args, err)
        assert not (tmp_path / "r").exists()


def test_classify_and_plot_refuse_image_bombs_fifos_and_folders(cli, lenet_run, tmp_path):
    import os

    from tests.safety.test_cli_bounds import png_header
    from tests.safety.test_read import lmlab_child, one_line_error

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header(100_000, 100_000))  # a few bytes claiming 10 billion pixels
    (tmp_path / "folder.png").mkdir()
    maps = tmp_path / "maps.png"
    for image, message in [(bomb, "pixels, more than the 67,108,864 lmlab decodes"),
                           (tmp_path / "folder.png", "is a directory")]:  # fmt: skip
        for args in (["classify", lenet_run], ["plot", lenet_run, "--feature-maps", "--out", maps]):
            rc, out, err = cli(*args, "--image", image)
            assert rc == 2 and err.count("\n") == 1 and f"--image {image}" in err and message in err, err
    assert not maps.exists()
    os.mkfifo(tmp_path / "pipe.png")  # nobody writes to it: a reader that opened it would wait forever
    rc, _, err = lmlab_child("classify", lenet_run, "--image", tmp_path / "pipe.png")
    one_line_error(rc, err, f"--image {tmp_path / 'pipe.png'} is a FIFO (named pipe)")


def test_idx_with_wrong_magic_through_the_cli(cli, tmp_path):
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"GIF89a" + bytes(30))
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01" + (1).to_bytes(4, "big") + b"\x01")
    rc, _, err = cli("train", "--task", "image", "--model", "mlp", "--data", tmp_path, "--out", tmp_path / "r")
    assert rc == 2 and "t10k-images-idx3-ubyte: not an IDX file (magic number 47494638" in err
    assert not (tmp_path / "r").exists()
