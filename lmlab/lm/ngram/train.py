"""Training an n-gram model: tokenize the training split, count, estimate, write the run directory."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from lmlab.data import Corpus
from lmlab.lm.ngram.model import NgramConfig, NgramLM
from lmlab.lm.run import RunInfo, save_run
from lmlab.rundir import claim_out
from lmlab.tokenizers import Tokenizer
from lmlab.train_options import TrainOptions


def train_ngram(cfg: NgramConfig, corpus: Corpus, tokenizer: Tokenizer, opts: TrainOptions, out: Path) -> NgramLM:
    # --out is locked and checked before counting, so a bad --out costs nothing and no other process writes there
    with claim_out(out, opts.command or None):
        t0 = time.perf_counter()
        encoded = tokenizer.encode_lines(corpus.train)
        model = NgramLM.fit(encoded.ids, tokenizer, cfg)
        seconds = time.perf_counter() - t0
        stats = {
            "train_seconds": round(seconds, 3),
            "train_tokens": int(encoded.ids.size),
            "ngram_counts": model.sizes(),
            "parameters": model.num_parameters(),
        }
        save_run(model, out, RunInfo(data=opts.data_info, command=opts.command, stats=stats))
    return model


def compare_args(family: str, cmp: Any) -> list[str]:
    """The n-gram family in ``lmlab compare``: modified Kneser-Ney, order 6 on characters, 3 on words (what a
    corpus of a million characters or words supports; higher orders gain nothing there)."""
    return ["--order", "6" if cmp.tokenizer == "char" else "3", "--smoothing", "modified-kneser-ney"]
