"""Start-up without PyTorch (issue 26): the commands that train or load no network import no torch, and building
the command line (``lmlab --help``) imports not even NumPy. Each runs in a fresh interpreter."""

from __future__ import annotations

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
    r = subprocess.run([sys.executable, "-c", CHECK.format(argv=argv)], capture_output=True, text=True, cwd=cwd)
    assert r.returncode == 0, r.stderr[-2000:]
    code, heavy = r.stdout.strip().splitlines()[-1].split(" ", 1)
    return int(code), set() if heavy == "-" else set(heavy.split())


def test_the_command_line_and_help_import_neither_numpy_nor_torch(tmp_path):
    for argv in (["--help"], ["train", "--help"], ["tokenizer", "--help"], ["serve", "--help"]):
        assert _imports(argv, tmp_path) == (0, set()), argv


def test_commands_without_a_network_import_no_torch(tmp_path):
    (tmp_path / "c.txt").write_text("the cat sat on the mat\nthe dog sat on the log\n" * 20)
    commands = [
        ["tokenizer", "train", "--kind", "bpe", "--vocab-size", "40", "c.txt", "--out", "t.json"],
        ["tokenizer", "encode", "t.json", "c.txt", "--out", "ids.txt"],
        ["data", "list"],
        ["cnn-shapes", "28x28x1 conv3x3x8 pool2 flatten fc10"],
    ]
    for argv in commands:
        code, heavy = _imports(argv, tmp_path)
        assert code == 0 and "torch" not in heavy, (argv, code, heavy)
