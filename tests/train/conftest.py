"""A small generated corpus, and the CLI called in-process."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from lmlab.cli.main import main

WORDS = ["the", "a", "cat", "dog", "mat", "sat", "ran", "on", "in", "big", "small", "red", "house", "tree", "saw"]


def make_lines(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        k = rng.randint(3, 8)
        # a little structure to learn: "the" is usually followed by a noun
        words = [rng.choice(WORDS) for _ in range(k)]
        for i in range(k - 1):
            if words[i] == "the":
                words[i + 1] = rng.choice(["cat", "dog", "mat", "house"])
        lines.append(" ".join(words))
    return lines


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory) -> Path:
    """A folder corpus: train.txt (300 lines), valid.txt and test.txt (30 lines each)."""
    d = tmp_path_factory.mktemp("corpus")
    for name, n, seed in (("train", 300, 0), ("valid", 30, 1), ("test", 30, 2)):
        (d / f"{name}.txt").write_text("\n".join(make_lines(n, seed)) + "\n", encoding="utf-8")
    return d


@pytest.fixture
def cli(capsys):
    """``cli(*args) -> (exit status, stdout, stderr)`` of ``lmlab`` run in this process."""

    def run(*args) -> tuple[int, str, str]:
        rc = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return rc, out, err

    return run


#: Flags for a tiny, fast recurrent model.
TINY_RNN = ["--d-embed", "12", "--d-hidden", "12", "--n-layer", "2", "--batch-size", "4", "--seq-len", "8"]
TINY_MLP = ["--context-len", "3", "--d-embed", "6", "--d-hidden", "16", "--batch-size", "16"]
