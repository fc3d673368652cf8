"""Tiny translation networks, a padded batch, a toy parallel corpus, and the CLI called in-process."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from lmlab.cli.main import main
from lmlab.translate.models import get_translator

SRC_V, TGT_V, BOS, EOS = 11, 13, 1, 2
TINY = {
    "seq2seq": {"d_embed": 6, "d_hidden": 5, "n_layer": 2},
    "bahdanau": {"d_embed": 6, "d_hidden": 5, "d_attention": 4, "d_maxout": 3},
    "luong": {"d_embed": 6, "d_hidden": 5, "n_layer": 2},
    "transformer": {"d_model": 8, "n_head": 2, "d_ff": 12, "n_encoder_layer": 2, "n_decoder_layer": 2, "max_len": 32},
}
FAMILIES = tuple(TINY)


def make_net(family: str, dtype=torch.float64, seed: int = 0, **changes):
    """A tiny network of ``family`` in eval mode (no dropout), float64 unless asked."""
    torch.manual_seed(seed)
    entry = get_translator(family)
    sizes = {"src_vocab_size": SRC_V, "tgt_vocab_size": TGT_V, "bos_id": BOS, "eos_id": EOS}
    cfg = entry.config_class()(**{**sizes, **TINY[family], "dropout": 0.0, **changes})
    return entry.network_class()(cfg).to(dtype).eval()


def make_batch(lengths=(5, 3, 4), tgt_len: int = 6, seed: int = 0):
    """src (B, S) with padding after each length, its mask, and tgt_in (B, T) starting with <s>."""
    g = torch.Generator().manual_seed(seed)
    S = max(lengths)
    src = torch.randint(3, SRC_V, (len(lengths), S), generator=g)
    mask = torch.arange(S).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    src = src.masked_fill(~mask, 0)
    tgt_in = torch.randint(3, TGT_V, (len(lengths), tgt_len), generator=g)
    tgt_in[:, 0] = BOS
    return src, mask, tgt_in


WORDS = {
    "ein": "a", "hund": "dog", "katze": "cat", "läuft": "runs", "schläft": "sleeps", "rot": "red", "groß": "big",
    "mann": "man", "frau": "woman", "sieht": "sees",
}  # fmt: skip


def make_pairs(n: int, seed: int) -> list[tuple[str, str]]:
    """Word-for-word 'German' -> 'English' pairs: a task a tiny model learns in seconds."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        ws = [rng.choice(list(WORDS)) for _ in range(rng.randint(2, 6))]
        out.append((" ".join(ws) + " .", " ".join(WORDS[w] for w in ws) + " ."))
    return out


def write_corpus(d: Path, sizes=(("train", 600), ("valid", 40), ("test", 40)), names=None) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for k, (split, n) in enumerate(sizes):
        stem = (names or {}).get(split, split)
        pairs = make_pairs(n, k)
        (d / f"{stem}.de").write_text("".join(p[0] + "\n" for p in pairs), encoding="utf-8")
        (d / f"{stem}.en").write_text("".join(p[1] + "\n" for p in pairs), encoding="utf-8")
    return d


@pytest.fixture(scope="session")
def toy_dir(tmp_path_factory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("toy"))


@pytest.fixture
def cli(capsys):
    def run(*args):
        rc = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return rc, out, err

    return run
