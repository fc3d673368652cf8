"""Bad flags and bad input files on the command line: one line naming the flag, its value and what is allowed,
exit status 2, no traceback, nothing written (issue 22, items 14 to 19 and 22).

Flags are checked while the command line is parsed, so most cases cost no model; the few that need a run use a
naive Bayes classifier (trained in a fraction of a second). A FIFO given as input would hang a reader that opens
it, so those cases run in a child process, whose generous timeout catches a hang.
"""

from __future__ import annotations

import io
import os
import struct
import sys
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from lmlab.errors import LmlabError
from tests.safety.test_read import lmlab, lmlab_child, one_line_error

BOM = "\ufeff"
TEXTS = ["great film", "awful film", "the film was fine"]


def refused(capsys, *args) -> str:
    """``lmlab ARGS`` refused while its flags are parsed: exit status 2 (returned, or argparse's SystemExit for a
    value that is not a number at all) and one line, which is returned."""
    from lmlab.cli.main import main

    try:
        rc = main([str(a) for a in args])
    except SystemExit as e:
        rc = e.code
    out, err = capsys.readouterr()
    assert out == "", out
    one_line_error(rc, err)
    return err.strip()


@pytest.fixture(scope="module")
def nb_run(tmp_path_factory) -> Path:
    """A naive Bayes sentiment classifier: 'great' and 'fine' are positive, 'awful' and 'bad' negative."""
    d = tmp_path_factory.mktemp("sentiment")
    for split, n in (("train", 60), ("valid", 10), ("test", 10)):
        rows = [("pos", f"the film was {w}") if k % 2 else ("neg", f"the film was {v}") for k, (w, v) in
                enumerate(zip(["great", "fine", "good"] * n, ["awful", "bad", "poor"] * n))][:n]  # fmt: skip
        (d / f"{split}.tsv").write_text("".join(f"{label}\t{text}\n" for label, text in rows), encoding="utf-8")
    run = d / "run"
    rc, _, err = lmlab("train", "--task", "classify", "--model", "nb", "--data", d, "--out", run)
    assert rc == 0, err
    return run


# ---- item 14: a UTF-8 byte-order mark does not change the first line's answer; only regular files are read
def test_classify_input_with_a_byte_order_mark_gives_the_same_answers(nb_run, tmp_path):
    plain, marked = tmp_path / "plain.txt", tmp_path / "marked.txt"
    plain.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    marked.write_text(BOM + "\n".join(TEXTS) + "\n", encoding="utf-8")  # as Windows Notepad saves it
    rc, expected, err = lmlab("classify", nb_run, "--input", plain)
    assert rc == 0 and expected.splitlines()[0].startswith("pos\t"), err
    rc, out, err = lmlab("classify", nb_run, "--input", marked, "--json")
    assert rc == 0, err
    assert out.splitlines()[0].startswith('{"text": "great film"')  # the mark is not part of the first text
    assert lmlab("classify", nb_run, "--input", marked)[1] == expected


def test_classify_reads_standard_input_with_a_byte_order_mark(nb_run, tmp_path, monkeypatch):
    plain = tmp_path / "plain.txt"
    plain.write_bytes(("\n".join(TEXTS) + "\n").encode())
    with open(plain, encoding="utf-8") as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        rc, expected, err = lmlab("classify", nb_run, "--input", "-")
    assert rc == 0 and len(expected.splitlines()) == 3, err
    marked = tmp_path / "marked.txt"
    marked.write_bytes(BOM.encode() + plain.read_bytes())
    with open(marked, encoding="utf-8") as stdin:
        monkeypatch.setattr(sys, "stdin", stdin)
        assert lmlab("classify", nb_run, "--input", "-")[1] == expected
    monkeypatch.setattr(sys, "stdin", io.StringIO(BOM + "\n".join(TEXTS) + "\n"))  # a text stream, no buffer
    assert lmlab("classify", nb_run, "--input", "-")[1] == expected


def test_tag_input_with_a_byte_order_mark_gives_the_same_tags(tmp_path):
    words = {"the": "DET", "a": "DET", "cat": "NOUN", "dog": "NOUN", "runs": "VERB", "sleeps": "VERB", ".": "PUNCT"}
    sentences = [[d, n, v, "."] for d in ("the", "a") for n in ("cat", "dog") for v in ("runs", "sleeps")]
    data = tmp_path / "toy"
    data.mkdir()
    for split in ("train", "dev", "test"):
        rows = "".join(
            f"# sent_id = {i}\n" + "".join(f"{j}\t{w}\t{w}\t{words[w]}\t_\t_\t0\tdep\t_\t_\n" for j, w in
                                           enumerate(s, 1)) + "\n" for i, s in enumerate(sentences * 3))  # fmt: skip
        (data / f"toy-ud-{split}.conllu").write_text(rows, encoding="utf-8")
    rc, _, err = lmlab("train", "--task", "tag", "--model", "hmm", "--data", data, "--out", tmp_path / "run")
    assert rc == 0, err
    (tmp_path / "marked.txt").write_text(BOM + "the cat runs .\n", encoding="utf-8")
    rc, out, err = lmlab("tag", tmp_path / "run", "--input", tmp_path / "marked.txt")
    assert rc == 0 and out == "the/DET cat/NOUN runs/VERB ./PUNCT\n", err


def test_classify_input_that_is_a_fifo_is_refused_without_hanging(nb_run, tmp_path):
    os.mkfifo(tmp_path / "pipe")  # nobody writes to it: opening it would wait forever
    rc, out, err = lmlab_child("classify", nb_run, "--input", tmp_path / "pipe")
    one_line_error(rc, err, f"--input {tmp_path / 'pipe'} is a FIFO (named pipe)")
    assert out == ""


def test_translate_input_that_is_a_fifo_is_refused_before_the_model_is_read(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    rc, out, err = lmlab_child("translate", tmp_path / "no-run", "--input", tmp_path / "pipe")
    one_line_error(rc, err, f"--input {tmp_path / 'pipe'} is a FIFO (named pipe)")


@pytest.mark.parametrize(
    "name, message",
    [("missing.txt", "--input {}: no such file"), ("folder", "--input {} is a directory")],
)
def test_classify_input_missing_or_a_folder(nb_run, tmp_path, name, message):
    (tmp_path / "folder").mkdir()
    path = tmp_path / name
    rc, out, err = lmlab("classify", nb_run, "--input", path)
    one_line_error(rc, err, message.format(path))
    assert out == ""


# ---- items 16, 18, 19: every size, seed and rate flag has a range, checked as the command line is parsed
@pytest.mark.parametrize(
    "args, message",
    [
        # item 18: seeds, in every task that takes one
        (["train", "--task", "classify", "--model", "nb", "--seed", "-1"], "--seed must be an integer "
         "from 0 to 2**63 - 1, got -1"),
        (["train", "--task", "image", "--model", "mlp", "--split-seed", "-1"], "--split-seed must be an "
         "integer from 0 to 2**63 - 1, got -1"),
        (["train", "--model", "lstm", "--seed", str(2**63)], "--seed must be an integer from 0"),
        (["translate", "RUN", "--sample", "--seed", "-5"], "--seed must be an integer from 0"),
        (["generate", "RUN", "--seed", "x"], "--seed must be an integer from 0 to 2**63 - 1, got x"),
        (["compare", "--data", "D", "--out", "R", "--seed", "-1"], "--seed must be an integer from 0"),
        (["approx", "--out", "f.png", "--seed", "-1"], "--seed must be an integer from 0"),
        # item 19: approx's numbers: finite, positive where they must be, bounded
        (["approx", "--out", "f.png", "--lr", "-1"], "--lr must be a number above 0 and at most 10, got -1"),
        (["approx", "--out", "f.png", "--lr", "nan"], "--lr must be a number above 0 and at most 10"),
        (["approx", "--out", "f.png", "--lr", "inf"], "--lr must be a number above 0 and at most 10"),
        (["approx", "--out", "f.png", "--steps", "0"], "--steps must be an integer from 1 to 1,000,000"),
        (["approx", "--out", "f.png", "--points", "10000000"], "--points must be an integer from 2 to "
         "100,000"),
        # item 16: the other verbs' sizes
        (["generate", "RUN", "--max-tokens", "1000000000"], "--max-tokens must be an integer from 1 to "
         "100,000, got 1000000000"),
        (["generate", "RUN", "--num-samples", "0"], "--num-samples must be an integer from 1 to 10,000"),
        (["generate", "RUN", "--temperature", "nan"], "--temperature must be a number from 0.001 to 1000"),
        (["generate", "RUN", "--top-p", "0"], "--top-p must be a number above 0 and at most 1"),
        (["generate", "RUN", "--top-k", "0"], "--top-k must be an integer from 1 to 1,000,000"),
        (["compare", "--data", "D", "--out", "R", "--steps", "0"], "--steps must be an integer from 1"),
        (["compare", "--data", "D", "--out", "R", "--budget-minutes", "inf"], "--budget-minutes must be "
         "a number above 0 and at most 10080"),
        (["tokenizer", "inspect", "TOK.json", "--top", "-3"], "--top must be an integer from 0"),
        (["translate", "RUN", "--beam", "many"], "argument --beam: invalid int value: 'many'"),
    ],
)  # fmt: skip
def test_a_flag_out_of_its_range_is_one_line_naming_flag_value_and_range(capsys, tmp_path, monkeypatch, args,
                                                                         message):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    err = refused(capsys, *args)
    assert message in err, err
    assert not list(tmp_path.iterdir())  # nothing written


def test_approx_range_and_lists_are_bounded(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args, message in [
        (["--range=nan,1"], "--range must be LO,HI with -1,000,000 <= LO < HI <= 1,000,000, got 'nan,1'"),
        (["--range=-1e308,1e308"], "--range must be LO,HI with -1,000,000"),
        (["--widths", ",".join(["2"] * 17)], "--widths gives 17 networks; at most 16"),
        (["--widths", "4", "--depth", "1,99"], "--depth must be integers from 1 to 16, got '1,99'"),
    ]:
        rc, out, err = lmlab("approx", "--out", "fit.png", "--steps", "1", *args)
        one_line_error(rc, err, message)
        assert not list(tmp_path.iterdir())


def test_conv_walkthrough_padding_and_stride_are_bounded():
    rc, _, err = lmlab("conv", "--image", "1", "--kernel", "1", "--padding", "100000000")
    one_line_error(rc, err, "--padding must be at most 64 on each side, got 100000000")
    rc, _, err = lmlab("conv", "--image", "1 2; 3 4", "--kernel", "1", "--stride", str(10**12))
    one_line_error(rc, err, "--stride must be an integer from 1 to 64")


# ---- item 17: images given on the command line: regular files, images, and not decompression bombs
def png_header(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` grey pixels and holds none: what PIL reads before decoding."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IEND", b"")
    )


MNIST_STYLE = SimpleNamespace(channels=1, image_size=28, mode="mnist")


@pytest.mark.parametrize(
    "width, height, message",
    [
        (9_000, 9_000, "9,000 x 9,000 = 81,000,000 pixels, more than the 67,108,864 lmlab decodes"),  # < PIL's limit
        (10_000, 10_000, "10,000 x 10,000 = 100,000,000 pixels"),  # PIL warns (DecompressionBombWarning)
        (100_000, 100_000, "hundreds of millions of pixels"),  # PIL refuses (DecompressionBombError)
    ],
)
def test_an_image_claiming_too_many_pixels_is_refused_before_decoding(tmp_path, width, height, message):
    from lmlab.cli.image_task import read_user_image

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header(width, height))
    with pytest.raises(LmlabError, match=f"--image {bomb}: {message}"):
        read_user_image(str(bomb), MNIST_STYLE)


def test_a_decompression_bomb_in_a_folder_of_images_is_one_line(tmp_path):
    from lmlab.vision.data import read_image_file, refuse_image_bombs

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header(10_000, 10_000))  # over PIL's limit: a warning, made an error
    with pytest.raises(LmlabError, match="an image is too large to decode"), refuse_image_bombs(str(tmp_path)):
        read_image_file(bomb, 1, 28, "mnist")


def test_an_image_that_is_not_one_is_one_line(tmp_path):
    from lmlab.cli.image_task import read_user_image

    (tmp_path / "notes.png").write_text("not a picture")
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(LmlabError, match="notes.png: not an image"):
        read_user_image(str(tmp_path / "notes.png"), MNIST_STYLE)
    with pytest.raises(LmlabError, match="--image .*folder.png is a directory"):
        read_user_image(str(tmp_path / "folder.png"), MNIST_STYLE)
    with pytest.raises(LmlabError, match="--image .*missing.png: no such file"):
        read_user_image(str(tmp_path / "missing.png"), MNIST_STYLE)


# ---- item 22: what a file argument is, said precisely
def test_file_arguments_say_what_is_wrong(nb_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    (tmp_path / "text.txt").write_text("the film was great\n")
    for args, message in [
        (["train", "--model", "ngram", "--data", "text.txt", "--out", "r", "--config", "folder"],
         "--config folder is a directory"),
        (["train", "--model", "ngram", "--data", "text.txt", "--out", "r", "--config", "missing.toml"],
         "--config missing.toml: no such file"),
        (["classify", nb_run.parent, "--text", "x"], "is not a run directory"),
        (["tokenizer", "train", "--vocab-size", "300", "--out", "tok.json", "folder"], "folder is a directory; give "
         "the text files in it (e.g. folder/*.txt)"),
        (["tokenizer", "train", "--vocab-size", "300", "--out", "folder", "text.txt"], "--out folder is a "
         "directory; give the name of the file to write"),
        (["approx", "--steps", "1", "--out", "folder"], "--out must end in .png"),
        (["activations", "--out", "folder.png"], None),
    ]:  # fmt: skip
        if message is None:  # a folder named like the file to write
            (tmp_path / "folder.png").mkdir()
            message = "--out folder.png is a directory; give the name of the file to write"
        rc, out, err = lmlab(*args)
        one_line_error(rc, err, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "folder.png", "text.txt"]  # nothing written


def test_classify_with_a_run_that_is_not_a_classifier(tmp_path):
    corpus = tmp_path / "text.txt"
    corpus.write_text("the cat sat on the mat\nthe dog sat on the log\n" * 20)
    rc, _, err = lmlab("train", "--model", "ngram", "--order", "2", "--data", corpus, "--out", tmp_path / "lm")
    assert rc == 0, err
    rc, out, err = lmlab("classify", tmp_path / "lm", "--text", "the cat")
    one_line_error(rc, err, f"{tmp_path / 'lm'} is a language-model run, not a classifier")


def test_a_folder_written_over_by_any_command_is_named(tmp_path):
    corpus = tmp_path / "text.txt"
    corpus.write_text("the cat sat\n")
    (tmp_path / "ids").mkdir()
    assert lmlab("tokenizer", "train", "--kind", "char", "--out", tmp_path / "tok.json", corpus)[0] == 0
    rc, out, err = lmlab("tokenizer", "encode", tmp_path / "tok.json", corpus, "--out", tmp_path / "ids")
    one_line_error(rc, err, f"{tmp_path / 'ids'} is a directory; give the name of a file to write")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left
