"""Tiny corpora and a CLI runner for the word2vec tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lmlab.cli.main import main

TOPICS = [
    ["cat", "dog", "pet", "fur", "paw", "bark", "meow"],
    ["car", "road", "wheel", "drive", "fuel", "engine", "brake"],
    ["king", "queen", "crown", "throne", "royal", "palace", "prince"],
    ["apple", "banana", "fruit", "sweet", "juice", "peel", "ripe"],
]
COMMON = ["the", "a", "of", "and", "is", "in", "to"]


def topic_sentences(n: int, seed: int = 0) -> list[str]:
    """Sentences of a few topic words among common words: words of one topic share contexts."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(n):
        topic = TOPICS[rng.integers(len(TOPICS))]
        length = int(rng.integers(4, 16))
        words = [topic[int(rng.integers(len(topic)))] if rng.random() < 0.6 else COMMON[int(rng.integers(7))]
                 for _ in range(length)]  # fmt: skip
        lines.append(" ".join(words))
    return lines


def write_corpus(path: Path, n: int = 300, seed: int = 0) -> Path:
    path.write_text("\n".join(topic_sentences(n, seed)) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("w2v") / "corpus.txt")


@pytest.fixture
def cli(capsys):
    def run(*args):
        rc = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return rc, out, err

    return run
