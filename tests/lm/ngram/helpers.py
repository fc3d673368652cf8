"""Small helpers shared by the n-gram tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lmlab.lm.ngram.model import NgramConfig, NgramLM
from lmlab.tokenizers import WordTokenizer

#: a small corpus with an empty line, shared by the model-file and eval tests
LINES = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "a cat and a dog",
    "",
    "the cat sat",
    "on the mat the dog slept",
]


def fit(lines: list[str], **cfg) -> NgramLM:
    tok = WordTokenizer.train(lines)
    return NgramLM.fit(tok.encode_lines(lines).ids, tok, NgramConfig(**cfg))


def read_arpa_entries(path: Path) -> dict[tuple[int, str], tuple[float, float]]:
    """{(order, "w1 w2"): (log10 p, log10 backoff)} of an ARPA file, parsed independently of lmlab."""
    entries: dict[tuple[int, str], tuple[float, float]] = {}
    order = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("\\") and line.endswith("-grams:"):
            order = int(line[1:].split("-")[0])
            continue
        if line == "\\end\\":
            break
        if order and line.strip():
            parts = line.split("\t")
            entries[(order, parts[1])] = (float(parts[0]), float(parts[2]) if len(parts) > 2 else 0.0)
    return entries


def model_entries(model: NgramLM) -> dict[tuple[int, str], tuple[float, float]]:
    """The same mapping for an lmlab model (every stored n-gram; <s> keeps only its backoff)."""
    tok, V = model.tokenizer, model.vocab_size
    out = {}
    words = np.arange(V).reshape(-1, 1)
    for k in range(1, model.order + 1):
        if k > 1:
            key = model.keys[k - 1]
            words = np.hstack([words[key // V], (key % V).reshape(-1, 1)])
        for ws, lp, b in zip(words.tolist(), model.logp[k - 1].tolist(), model.bow[k - 1].tolist()):
            if k == 1 and not np.isfinite(lp) and ws[0] != tok.bos_id:
                continue
            out[(k, " ".join(tok.id_to_token(w) for w in ws))] = (lp, b)
    return out


def spy_on(monkeypatch, module, name: str) -> list:
    """Replace ``module.name`` by a wrapper that records what it returned at each call (the list returned)."""
    calls: list = []
    real = getattr(module, name)

    def recorded(*args):
        calls.append(real(*args))
        return calls[-1]

    monkeypatch.setattr(module, name, recorded)
    return calls
