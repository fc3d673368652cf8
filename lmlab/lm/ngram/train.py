"""Training an n-gram model: tokenize the training split, count, estimate, write the run directory."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lmlab.data import Corpus
from lmlab.data.streamed import StreamedCorpus
from lmlab.lm.ngram.external import SpillDir
from lmlab.lm.ngram.model import NgramConfig, NgramLM
from lmlab.lm.ngram.prune import kept_vocabulary
from lmlab.lm.ngram.stream import estimate_streaming, split_blocks
from lmlab.lm.run import RunInfo, save_run
from lmlab.rundir import claim_out
from lmlab.tokenizers import Tokenizer
from lmlab.train_options import TrainOptions

#: Lines encoded at a time when estimating within --memory
ENCODE_LINES = 10_000


def train_ngram(
    cfg: NgramConfig, corpus: Corpus | StreamedCorpus, tokenizer: Tokenizer, opts: TrainOptions, out: Path
) -> NgramLM:
    # --out is locked and checked before counting, so a bad --out costs nothing and no other process writes there
    with claim_out(out, opts.command or None):
        if cfg.memory is not None:
            return _train_streaming(cfg, corpus, tokenizer, opts, out)
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
    # the run's file maps its tables and hash tables: no copy of either in memory from here on
    return _reloaded(out, model, stats)


def _reloaded(out: Path, model: NgramLM, stats: dict[str, Any]) -> NgramLM:
    """The model as its run's file maps it, knowing its parameter count (counting them again would read every page
    of the mapped file into the process's memory)."""
    loaded = NgramLM.load_weights(out, model.config_dict(), model.tokenizer)
    loaded.counted_parameters = stats["parameters"]
    return loaded


def _batches(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    it = iter(lines)
    while batch := list(itertools.islice(it, size)):
        yield batch


def fit_streaming(
    lines: Iterable[str], tokenizer: Tokenizer, cfg: NgramConfig, spill: SpillDir, *, progress: bool = True
) -> tuple[NgramLM, int]:
    """:meth:`NgramLM.fit` on the encoded lines within ``cfg.memory`` (see :mod:`lmlab.lm.ngram.stream`): the same
    model, whose tables of orders >= 2 are files in ``spill`` (which must outlive the model's use), and the number
    of tokens counted. ``lines`` is read once, in order: an open text file streams (one line a sentence, its
    ``\\n`` ignored), so that the corpus is never held whole."""
    memory = cfg.memory_bytes()
    pruning = cfg.pruning(tokenizer)  # the vocabulary file is read before counting
    encoded = (tokenizer.encode_lines([s.rstrip("\n") for s in batch]).ids for batch in _batches(lines, ENCODE_LINES))
    tables = estimate_streaming(
        split_blocks(encoded, tokenizer.eos_id, memory, cfg.order),
        order=cfg.order,
        vocab_size=tokenizer.vocab_size,
        bos_id=tokenizer.bos_id,
        eos_id=tokenizer.eos_id,
        spill=spill,
        memory=memory,
        modified=cfg.smoothing == "modified-kneser-ney",
        interpolate_unigrams=cfg.interpolate_unigrams,
        progress=progress,
        pruning=pruning,
    )
    if tables.dropped is not None and tables.dropped.any():
        tokenizer = kept_vocabulary(tokenizer, tables.dropped)[0]
    model = NgramLM(tokenizer, tables.keys, tables.logp, tables.bow, cfg, discounts=tables.discounts)
    return model, tables.tokens


def _train_streaming(
    cfg: NgramConfig, corpus: Corpus | StreamedCorpus, tokenizer: Tokenizer, opts: TrainOptions, out: Path
):
    t0 = time.perf_counter()
    with SpillDir(cfg.temp_dir) as spill:
        model, n_tokens = fit_streaming(corpus.train, tokenizer, cfg, spill)
        seconds = time.perf_counter() - t0
        stats = {
            "train_seconds": round(seconds, 3),
            "train_tokens": n_tokens,
            "ngram_counts": model.sizes(),
            "parameters": model.num_parameters(),
            "memory_bytes": cfg.memory_bytes(),
            "spilled_bytes": spill.written,
        }
        save_run(model, out, RunInfo(data=opts.data_info, command=opts.command, stats=stats))
    # the tables were in the removed folder: the model now maps the run's file
    return _reloaded(out, model, stats)


def compare_args(family: str, cmp: Any) -> list[str]:
    """The n-gram family in ``lmlab compare``: modified Kneser-Ney, order 6 on characters, 3 on words (what a
    corpus of a million characters or words supports; higher orders gain nothing there)."""
    return ["--order", "6" if cmp.tokenizer == "char" else "3", "--smoothing", "modified-kneser-ney"]
