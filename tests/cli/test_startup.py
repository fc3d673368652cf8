"""Start-up without PyTorch (issue 26): the commands that train or load no network import no torch, and building
the command line (``lmlab --help``), the tokenizers on small inputs, ``data``, ``cnn-shapes`` and ``conv`` import
not even NumPy. Each runs in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys

CHECK = """
import sys
from lmlab.cli.main import main
try:
    code = main({argv!r})
except SystemExit as e:
    code = e.code
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & {{"torch", "numpy"}})
print(code, " ".join(heavy) or "-")
"""


def _imports(argv: list[str], cwd) -> tuple[int, set[str]]:
    env = {**os.environ, "LMLAB_DATA_DIR": str(cwd)}  # `data verify` checks no real corpus
    r = subprocess.run(
        [sys.executable, "-c", CHECK.format(argv=argv)], capture_output=True, text=True, cwd=cwd, env=env
    )
    assert r.returncode == 0, r.stderr[-2000:]
    code, heavy = r.stdout.strip().splitlines()[-1].split(" ", 1)
    return int(code), set() if heavy == "-" else set(heavy.split())


def test_the_command_line_and_help_import_neither_numpy_nor_torch(tmp_path):
    for argv in (["--help"], ["train", "--help"], ["tokenizer", "--help"], ["serve", "--help"]):
        assert _imports(argv, tmp_path) == (0, set()), argv


def test_commands_without_a_network_import_no_torch(tmp_path):
    """Every command that trains or loads no network (issue 26): no PyTorch; and those that need no arrays on a
    small input (tokenizers, the corpus registry, the convolution arithmetic) not even NumPy."""
    (tmp_path / "c.txt").write_text("the cat sat on the mat\nthe dog sat on the log\n" * 20)
    (tmp_path / "one.txt").write_text("the cat sat on the mat\n")
    without_numpy = [
        ["tokenizer", "train", "--kind", "bpe", "--vocab-size", "40", "one.txt", "--out", "one.json"],
        ["tokenizer", "train", "--kind", "bpe", "--vocab-size", "40", "c.txt", "--out", "t.json"],
        ["tokenizer", "train", "--kind", "bpe", "--vocab-size", "300", "--byte-level", "c.txt", "--out", "b.json"],
        ["tokenizer", "train", "--kind", "word", "c.txt", "--out", "w.json"],
        ["tokenizer", "train", "--kind", "char", "c.txt", "--out", "ch.json"],
        ["tokenizer", "encode", "t.json", "c.txt", "--out", "ids.txt"],
        ["tokenizer", "encode", "b.json", "--text", "the cat sat"],
        ["tokenizer", "encode", "w.json", "c.txt", "--out", "w_ids.txt"],
        ["tokenizer", "decode", "t.json", "ids.txt", "--out", "back.txt"],
        ["tokenizer", "inspect", "t.json", "--text", "the cat"],
        ["tokenizer", "export", "t.json", "--hf", "hf.json"],
        ["data", "list"],
        ["data", "verify"],
        ["cnn-shapes", "28x28x1 conv3x3x8 pool2 flatten fc10"],
        ["conv", "--image", "1 2 3; 4 5 6; 7 8 9", "--kernel", "1 2; 3 4", "--padding", "1,0,1,0", "--activation",
         "sigmoid(x) - abs(50-x)", "--pool", "2"],
    ]  # fmt: skip
    with_numpy = [  # an n-gram model is NumPy arrays
        ["train", "--model", "ngram", "--order", "3", "--data", "c.txt", "--out", "run"],
        ["train", "--model", "ngram", "--order", "2", "--tokenizer", "bpe", "--vocab-size", "40", "--data", "c.txt",
         "--out", "bpe_run"],
        ["eval", "bpe_run"],  # BPE has no compiled encoder: the general path
    ]  # fmt: skip
    # evaluating a run's model file reads it in C, exporting it as ARPA in Python (lmlab/lm/ngram/lean.py): not even
    # NumPy (issue 25)
    without_numpy_after_training = [
        ["eval", "run"],
        ["eval", "run", "--text", "one.txt", "--json"],
        ["export", "run", "--format", "arpa", "--out", "run.arpa"],
    ]
    for argv in without_numpy:
        assert _imports(argv, tmp_path) == (0, set()), argv
    for argv in with_numpy:
        code, heavy = _imports(argv, tmp_path)
        assert code == 0 and "torch" not in heavy, (argv, code, heavy)
    for argv in without_numpy_after_training:
        assert _imports(argv, tmp_path) == (0, set()), argv
    code, heavy = _imports(["eval", "run.arpa", "--data", "c.txt"], tmp_path)  # an ARPA file is read into arrays
    assert code == 0 and "torch" not in heavy


def test_argparse_help_width_without_shutil_is_argparses_own(monkeypatch):
    """OneLineParser measures the terminal as shutil does ($COLUMNS, else the terminal, else 80) without importing
    it: the same help text, wrapped at the same width, as a plain ArgumentParser's."""
    import argparse
    import shutil

    from lmlab.cli.parser import OneLineParser, terminal_columns

    def help_text(cls) -> str:
        p = cls(prog="lmlab", description="Train, evaluate, compare and sample language models on your own text. " * 3)
        p.add_argument("--split", choices=["train", "valid", "test"], help="the split to evaluate, a long help " * 4)
        p.add_argument("run", metavar="RUN", help="run directory or ARPA file")
        return p.format_help()

    for columns in ("40", "100", "250", "0", "abc", None):
        if columns is None:
            monkeypatch.delenv("COLUMNS", raising=False)
        else:
            monkeypatch.setenv("COLUMNS", columns)
        assert terminal_columns() == shutil.get_terminal_size().columns, columns
        assert help_text(OneLineParser) == help_text(argparse.ArgumentParser), columns


def test_eval_of_an_ngram_model_file_imports_no_shutil(tmp_path):
    """argparse imports shutil for the terminal's width at every argument it adds (lmlab's parser measures it
    itself); zlib, bz2 and lzma come with it: none is imported by ``lmlab eval RUN`` of a model file."""
    (tmp_path / "c.txt").write_text("the cat sat on the mat\nthe dog sat on the log\n" * 20)
    args = ["train", "--model", "ngram", "--order", "3", "--data", "c.txt", "--out", "run"]
    assert _imports(args, tmp_path)[0] == 0
    code = (
        "import sys\nfrom lmlab.cli.main import main\nassert main(['eval', 'run', '--text', 'c.txt']) == 0\n"
        "print(sorted(m for m in ('shutil', 'bz2', 'lzma') if m in sys.modules))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == "[]"


def test_logging_is_one_line_a_record_at_the_level_the_flags_ask(capsys):
    """Set up by every command but ``lmlab eval``'s lean path (which logs nothing and so imports no logging)."""
    import logging

    from lmlab.cli.main import setup_logging

    levels = {(False, False): logging.WARNING, (True, False): logging.INFO, (True, True): logging.ERROR}
    for (verbose, worker), level in levels.items():
        setup_logging(verbose, worker)
        assert logging.getLogger("lmlab").level == level and not logging.getLogger("lmlab").propagate
    setup_logging(False)
    logging.getLogger("lmlab.lm").info("not shown")
    logging.getLogger("lmlab.lm").warning("careful with %s", "x")
    assert capsys.readouterr().err == "lmlab: warning: careful with x\n"


QUICK_FORMS = [
    ["eval", "run"],
    ["eval", "run", "--text", "t.txt"],
    ["eval", "--text=t.txt", "run", "--json"],
    ["eval", "run", "--split", "valid", "--data", "ptb"],
    ["eval", "run", "--split=train", "--encoding-errors", "replace", "--json"],
    ["eval", "run", "--text", "a=b.txt"],
]
NOT_QUICK = [
    ["eval"],  # argparse says RUN is missing
    ["-v", "eval", "run"],  # lmlab's own options: argparse
    ["eval", "run", "-h"],
    ["eval", "run", "--help"],
    ["eval", "run", "--js"],  # an abbreviation argparse accepts
    ["eval", "run", "--json", "--json"],
    ["eval", "run", "--split", "dev"],  # not a choice: argparse names them
    ["eval", "run", "--text"],  # no value
    ["eval", "run", "--text", "-"],
    ["eval", "run", "--text", "--json"],
    ["eval", "run", "--text="],
    ["eval", "run", "--text=--x"],  # a value argparse reads, left to it all the same
    ["eval", "run", "other"],  # two runs
    ["eval", "run", "--", "x"],
    ["eval", "run", "--analogies", "q.txt"],  # a task's own flag (word vectors)
    ["eval", "run", "--confusion", "c.png"],
    ["eval", "-1"],
    ["train", "run"],
]


def test_quick_eval_arguments_are_argparses():
    """``lmlab eval`` reads a plain command line without argparse (its import and parser are a tenth of the lean
    path): every form it reads gives the values argparse gives, and every other form is left to argparse."""
    import argparse

    from lmlab.cli.eval_cmd import quick_args
    from lmlab.cli.parser import build_parser
    from lmlab.tasks import TASKS

    tasks_flags = argparse.ArgumentParser()
    for task in TASKS.values():
        if (add_flags := task.eval_flags_fn()) is not None:
            add_flags(tasks_flags)
    # what the quick reading leaves out: the command's function, and the flags of tasks whose runs it hands over
    left_out = {"func", "sets_up_logging"} | set(vars(tasks_flags.parse_args([]))) - {"help"}
    for argv in QUICK_FORMS:
        quick = vars(quick_args(argv))
        full = vars(build_parser(argv).parse_args(argv))
        assert quick == {k: full[k] for k in quick}, argv
        assert set(full) - set(quick) == left_out, argv
    for argv in NOT_QUICK:
        assert quick_args(argv) is None, argv


def test_the_program_ends_at_once_after_a_lean_eval_its_output_whole(tmp_path):
    """``lmlab`` (``entry``) ends the process without Python's clean-up after an eval served on the lean path (no exit
    handler runs), its output flushed first, whole, as ``main`` writes it; any other command exits as Python does."""
    (tmp_path / "c.txt").write_text("the cat sat on the mat\nthe dog sat on the log\n" * 20)
    assert _imports(["train", "--model", "ngram", "--order", "3", "--data", "c.txt", "--out", "run"], tmp_path)[0] == 0
    program = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('clean-up ran', file=sys.stderr))\n"
        "from lmlab.cli.main import entry\n"
        "sys.argv = ['lmlab', *sys.argv[1:]]\n"
        "entry()\n"
    )
    in_process = "import sys\nfrom lmlab.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"

    def run(code: str, *argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, cwd=tmp_path)

    for argv in (["eval", "run", "--text", "c.txt"], ["eval", "run", "--json"]):
        ended, expected = run(program, *argv), run(in_process, *argv)
        assert ended.returncode == expected.returncode == 0, ended.stderr
        assert ended.stdout == expected.stdout and "perplexity" in ended.stdout
        assert "clean-up ran" not in ended.stderr, argv
    for argv in (["eval", "run", "--text", "missing.txt"], ["data", "list"], ["eval", "run", "--split", "dev"]):
        r = run(program, *argv)
        assert r.returncode in (0, 2) and "clean-up ran" in r.stderr, (argv, r.stderr)
