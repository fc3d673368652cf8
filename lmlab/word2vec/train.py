"""Training word2vec: the vocabulary pass, then epochs of jobs handed to threads, the loss and speed reported.

The corpus streams from disk: once to count the words (:func:`lmlab.word2vec.corpus.scan_corpus`), then as jobs
of about ``batch_words`` words (:func:`lmlab.word2vec.corpus.iter_jobs`), the first epoch's ids written to disk
for the later epochs (:class:`lmlab.word2vec.corpus.JobCache`). The main thread reads
and turns words into ids while ``threads`` workers run jobs through the compiled trainer, which releases the GIL
(:mod:`lmlab.word2vec.fast`); all share the vectors without locks (Hogwild), as the C tool and gensim do. Memory
is the vocabulary, the vectors and a few jobs in flight, whatever the corpus's size.

The learning rate falls linearly from ``alpha`` to ``min_alpha`` over every word of the vocabulary in every epoch:
a job starting after k such words starts at ``alpha - (alpha - min_alpha) k / (epochs * words per epoch)`` and
lowers it word by word. The loss, -log p summed over every binary prediction, is accumulated in float64 (gensim's
float32 running sum stops growing at 2^24; gensim#2735) and reported per epoch as the mean per prediction of a
center word (a skip-gram pair or a CBOW window) in ``metrics.jsonl`` and the progress bar.

References: Mikolov et al. 2013a, 2013b; Recht et al. 2011 (Hogwild!); the word2vec C tool.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lmlab.errors import LmlabError
from lmlab.tempdirs import OwnedTempDir
from lmlab.word2vec import fast
from lmlab.word2vec.config import Word2VecConfig
from lmlab.word2vec.corpus import CorpusFiles, JobCache, iter_jobs
from lmlab.word2vec.huffman import huffman_tree
from lmlab.word2vec.sampling import alias_table, job_seed, noise_distribution
from lmlab.word2vec.updates import Settings, Tables, Weights, train_job_readable
from lmlab.word2vec.vocab import Vocabulary, keep_thresholds

log = logging.getLogger(__name__)

BACKENDS = ("auto", "fast", "readable")


def make_tables(vocab: Vocabulary, cfg: Word2VecConfig) -> Tables:
    """Subsampling thresholds, the noise alias table and (with ``hs``) the Huffman paths of a vocabulary."""
    prob, alias = alias_table(noise_distribution(vocab.counts))
    if cfg.hs:
        offsets, codes, points = huffman_tree(vocab.counts)
    else:
        offsets, codes, points = np.zeros(len(vocab) + 1, np.int64), np.zeros(0, np.uint8), np.zeros(0, np.int32)
    return Tables(keep_thresholds(vocab.counts, cfg.sample), prob, alias, offsets, codes, points)


def init_weights(vocab_size: int, cfg: Word2VecConfig, seed: int) -> Weights:
    """Word vectors uniform in [-1, 1) / dim, output vectors zero: gensim 4's start (the C tool's range is half as
    wide; on WikiText-2 the wider start trains to a slightly lower loss)."""
    rng = np.random.default_rng(seed)
    syn0 = (rng.random((vocab_size, cfg.dim), dtype=np.float32) * np.float32(2) - np.float32(1)) / np.float32(cfg.dim)
    syn1neg = np.zeros((vocab_size, cfg.dim) if cfg.negative else (0,), dtype=np.float32)
    syn1 = np.zeros((max(vocab_size - 1, 1), cfg.dim) if cfg.hs else (0,), dtype=np.float32)
    return Weights(np.ascontiguousarray(syn0), syn1neg, syn1)


def settings(cfg: Word2VecConfig, cbow: bool) -> Settings:
    return Settings(cfg.dim, cfg.window, cfg.negative, cfg.hs, cbow, cfg.sample > 0)


@dataclass
class EpochStats:
    """What the jobs of one epoch added up to."""

    loss: float = 0.0  # float64 sum of -log p
    predictions: int = 0
    kept: int = 0  # words left after subsampling
    words: int = 0  # corpus words read
    jobs_done: int = 0
    jobs: int | None = None  # known once the epoch has been read to its end
    finished_at: float = 0.0

    @property
    def mean_loss(self) -> float:
        return self.loss / self.predictions if self.predictions else float("nan")


@dataclass
class TrainResult:
    weights: Weights
    epochs: list[dict[str, Any]] = field(default_factory=list)  # the metrics.jsonl rows
    seconds: float = 0.0
    words: int = 0  # corpus words trained on, all epochs
    backend: str = "fast"

    @property
    def words_per_s(self) -> float:
        return self.words / self.seconds if self.seconds > 0 else 0.0


def train_vectors(
    cfg: Word2VecConfig,
    cbow: bool,
    files: CorpusFiles,
    vocab: Vocabulary,
    *,
    seed: int = 0,
    encoding_errors: str = "strict",
    progress: bool = True,
    on_epoch=None,
    backend: str = "auto",
    weights: Weights | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> TrainResult:
    """Train skip-gram (``cbow=False``) or CBOW vectors for ``vocab`` on the corpus ``files``.

    ``on_epoch(row)`` receives each epoch's metrics row as it completes. ``backend`` is ``"fast"`` (the compiled
    trainer), ``"readable"`` (:func:`lmlab.word2vec.updates.train_job_readable`, one thread) or ``"auto"`` (the
    compiled one when it was built). With more than one epoch, the first epoch's word ids are kept on disk in
    ``cache_dir`` (default: a temporary folder) for the others (:class:`lmlab.word2vec.corpus.JobCache`).
    """
    if backend not in BACKENDS:
        raise LmlabError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "auto":
        backend = "fast" if fast.available() else "readable"
        if backend == "readable":
            log.warning(
                "the compiled word2vec trainer is not built: training on the readable path, about a hundred "
                "times slower (%s)",
                fast.BUILD_HINT,
            )
    run_job = fast.train_job_fast if backend == "fast" else train_job_readable
    threads = cfg.threads if backend == "fast" else 1  # the readable path holds the GIL: one thread is as fast
    weights = weights if weights is not None else init_weights(len(vocab), cfg, seed)
    tables = make_tables(vocab, cfg)
    fast.check_tables(tables, len(vocab))
    s = settings(cfg, cbow)
    total = vocab.total * cfg.epochs  # words of the vocabulary the learning rate decays over
    step = (cfg.alpha - cfg.min_alpha) / total
    stats = [EpochStats() for _ in range(cfg.epochs)]
    lock = threading.Lock()
    failure: list[BaseException] = []
    jobs: queue.Queue = queue.Queue(maxsize=2 * threads)
    stop = threading.Event()

    def worker() -> None:
        while True:
            item = jobs.get()
            if item is None:
                return
            epoch, job, seed_j, alpha0 = item
            if stop.is_set():
                continue
            try:
                loss, predictions, kept = run_job(
                    weights,
                    tables,
                    s,
                    job.ids,
                    job.sentence_ends,
                    alpha0=alpha0,
                    alpha_step=step,
                    min_alpha=cfg.min_alpha,
                    seed=seed_j,
                )
            except BaseException as e:  # pragma: no cover - a bug; surfaced in the main thread
                failure.append(e)
                stop.set()
                continue
            with lock:
                st = stats[epoch]
                st.loss += loss
                st.predictions += predictions
                st.kept += kept
                st.words += job.words
                st.jobs_done += 1
                if st.jobs == st.jobs_done:
                    st.finished_at = time.perf_counter()

    workers = [threading.Thread(target=worker, name=f"word2vec-{i}", daemon=True) for i in range(threads)]
    bar = _progress_bar(vocab.corpus_words * cfg.epochs, progress)
    result = TrainResult(weights, backend=backend)
    t0 = time.perf_counter()
    epoch_started = [t0] * cfg.epochs
    reported = 0
    shown = 0

    def report() -> None:
        """Progress bar and finished epochs' rows; called by the main thread only."""
        nonlocal reported, shown
        with lock:
            done_words = sum(st.words for st in stats)
            current = stats[min(reported, cfg.epochs - 1)]
            loss = current.mean_loss
            finished = []
            while (
                reported < cfg.epochs
                and stats[reported].jobs is not None
                and (stats[reported].jobs_done == stats[reported].jobs)
            ):
                finished.append(reported)
                reported += 1
        if bar is not None:
            bar.update(done_words - shown)
            bar.set_postfix(epoch=f"{min(reported + 1, cfg.epochs)}/{cfg.epochs}", loss=f"{loss:.4f}", refresh=False)
        shown = done_words
        for e in finished:
            st = stats[e]
            begin = stats[e - 1].finished_at if e > 0 else t0
            seconds = max(st.finished_at - max(begin, epoch_started[e]), 1e-9)
            row = {
                "step": sum(x.words for x in stats[: e + 1]),
                "epoch": e + 1,
                "train_loss": st.mean_loss,
                "train_loss_sum": st.loss,
                "predictions": st.predictions,
                "words": st.words,
                "effective_words": st.kept,
                "words_per_s": st.words / seconds,
                "alpha": max(cfg.alpha - step * vocab.total * (e + 1), cfg.min_alpha),
                "elapsed_s": st.finished_at - t0,
            }
            result.epochs.append(row)
            if bar is not None:
                bar.write(
                    f"epoch {e + 1}/{cfg.epochs}: loss {row['train_loss']:.4f} per prediction, "
                    f"{row['words_per_s']:,.0f} words/s",
                    file=sys.stderr,
                )
            if on_epoch is not None:
                on_epoch(row)

    scratch = OwnedTempDir("lmlab-word2vec-") if cache_dir is None and cfg.epochs > 1 else None
    cache = JobCache(scratch.name if scratch is not None else cache_dir) if cfg.epochs > 1 else None
    for w in workers:
        w.start()
    try:
        queued = 0  # words of the vocabulary handed out so far
        for epoch in range(cfg.epochs):
            epoch_started[epoch] = time.perf_counter()
            n = 0
            if cache is not None and cache.complete:
                epoch_jobs = cache.replay()
            else:
                epoch_jobs = iter_jobs(
                    files,
                    vocab.index,
                    lowercase=cfg.lowercase,
                    encoding_errors=encoding_errors,
                    max_sentence_length=cfg.max_sentence_length,
                    batch_words=cfg.batch_words,
                )
                if cache is not None:
                    epoch_jobs = cache.record(epoch_jobs)
            for job in epoch_jobs:
                item = (epoch, job, job_seed(seed, epoch, n), cfg.alpha - step * queued)
                while True:
                    if failure:
                        raise failure[0]
                    try:
                        jobs.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        report()
                queued += job.in_vocab
                n += 1
            with lock:
                stats[epoch].jobs = n
                if stats[epoch].jobs_done == n:
                    stats[epoch].finished_at = time.perf_counter()
            report()
        for _ in workers:
            jobs.put(None)
        for w in workers:
            while w.is_alive():
                w.join(timeout=0.2)
                report()
        if failure:
            raise failure[0]
        report()
    except BaseException:
        stop.set()  # Ctrl-C, SIGTERM or an error: the workers drop what is queued and stop after their job
        while True:
            try:
                jobs.get_nowait()
            except queue.Empty:
                break
        for _ in workers:
            try:
                jobs.put_nowait(None)
            except queue.Full:  # pragma: no cover
                break
        for w in workers:
            w.join(timeout=5)
        raise
    finally:
        if bar is not None:
            bar.close()
        if cache is not None:
            cache.remove()
        if scratch is not None:
            scratch.cleanup()
    result.seconds = time.perf_counter() - t0
    result.words = sum(st.words for st in stats)
    return result


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="word", unit_scale=True, desc="word2vec", dynamic_ncols=True, disable=None)


__all__ = ["BACKENDS", "TrainResult", "init_weights", "make_tables", "settings", "train_vectors"]
