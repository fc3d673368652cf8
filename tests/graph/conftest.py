"""A tiny synthetic graph in the LINQS format: three classes of nodes with noisy class words, linked mostly within
their class, with string ids, a citation to an unknown id, a self-citation and a repeated line."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

CLASSES = ("alpha", "beta", "gamma")
WORDS = 12


def write_graph(folder: Path, *, nodes_per_class: int = 25, seed: int = 0, name: str = "tiny") -> Path:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ids, lines = [], []
    for c, label in enumerate(CLASSES):
        for k in range(nodes_per_class):
            node = f"{label[:2]}{k:03d}x"
            ids.append((node, c))
            words = [1 if (w % len(CLASSES) == c and rng.random() < 0.5) or rng.random() < 0.1 else 0
                     for w in range(WORDS)]  # fmt: skip
            lines.append("\t".join([node, *map(str, words), label]))
    (folder / f"{name}.content").write_text("\n".join(lines) + "\n")
    cites = []
    for node, c in ids:
        for _ in range(3):
            same = rng.random() < 0.85
            other = rng.choice([n for n, d in ids if (d == c) == same and n != node])
            cites.append(f"{other}\t{node}")
    cites += [f"{ids[0][0]}\tnowhere99", f"{ids[1][0]}\t{ids[1][0]}", cites[0]]
    (folder / f"{name}.cites").write_text("\n".join(cites) + "\n")
    return folder


@pytest.fixture(scope="session")
def tiny_graph(tmp_path_factory) -> Path:
    return write_graph(tmp_path_factory.mktemp("graphs") / "tiny")
