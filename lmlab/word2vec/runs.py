"""word2vec run directories: training one end to end, and reading one back.

A run holds ``config.json`` (``"task": "word2vec"``, the family, the hyperparameters, the corpus and its sha256,
the command, the training statistics), ``vocab.txt`` (``word<TAB>count`` per line, most frequent first),
``vectors.safetensors`` (``syn0``, the word vectors, and the output vectors ``syn1neg`` and/or ``syn1``) and
``metrics.jsonl`` (one row per epoch). It is built beside ``--out`` and swapped into place when complete
(:func:`lmlab.rundir.replace_run`): an interrupted or failed training leaves the previous run as it was.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lmlab import __version__
from lmlab.errors import LmlabError
from lmlab.io import atomic_open, write_json
from lmlab.runfiles import config_from_json, open_regular, read_bytes
from lmlab.train_options import TrainOptions
from lmlab.word2vec.config import Word2VecConfig, get_family
from lmlab.word2vec.corpus import resolve_corpus, scan_corpus
from lmlab.word2vec.train import TrainResult, train_vectors
from lmlab.word2vec.updates import Weights
from lmlab.word2vec.vectors import WordVectors
from lmlab.word2vec.vocab import Vocabulary, build_vocabulary

TASK = "word2vec"
VOCAB_FILE = "vocab.txt"
WEIGHTS_FILE = "vectors.safetensors"
METRICS_FILE = "metrics.jsonl"
MAX_VOCAB_FILE_BYTES = 1 << 30


@dataclass
class Word2VecRun:
    """A trained (or loaded) word2vec model: its family, configuration, vocabulary and arrays."""

    family: str
    config: Word2VecConfig
    vocab: Vocabulary
    weights: Weights
    stats: dict[str, Any]

    @property
    def vectors(self) -> WordVectors:
        return WordVectors(self.vocab.words, self.weights.syn0, self.vocab.counts)

    def num_parameters(self) -> int:
        w = self.weights
        return int(w.syn0.size + w.syn1neg.size + w.syn1.size)


def train_word2vec(
    cfg: Word2VecConfig,
    family: str,
    data: str,
    opts: TrainOptions,
    out: str | Path,
    *,
    encoding_errors: str = "strict",
    backend: str = "auto",
) -> Word2VecRun:
    """Count the corpus ``data``, train ``family`` (``skipgram`` or ``cbow``) and write the run ``out``."""
    from lmlab.rundir import replace_run
    from lmlab.train.metrics import MetricsLog

    entry = get_family(family)
    files = resolve_corpus(data)
    scan = scan_corpus(files, lowercase=cfg.lowercase, encoding_errors=encoding_errors)
    vocab = build_vocabulary(
        scan.counts, min_count=cfg.min_count, max_vocab=cfg.max_vocab, corpus_words=scan.words, where=files.source
    )
    del scan.counts  # the raw counts can be large; the vocabulary keeps what training needs
    data_info = {
        **opts.data_info,
        "spec": str(data),
        "source": files.source,
        "encoding_errors": encoding_errors,
        "sha256": scan.sha256,
        "bytes": scan.bytes,
        "corpus_words": scan.words,
        "lines": scan.lines,
    }
    with replace_run(out, opts.command or None) as tmp:
        with MetricsLog(tmp / METRICS_FILE) as metrics:
            result = train_vectors(
                cfg,
                entry.cbow,
                files,
                vocab,
                seed=opts.seed,
                encoding_errors=encoding_errors,
                progress=opts.progress,
                on_epoch=metrics.write,
                backend=backend,
                cache_dir=tmp,
            )
        stats = _stats(result, vocab)
        run = Word2VecRun(family, cfg, vocab, result.weights, stats)
        write_run_files(run, tmp, data_info, opts)
    return run


def _stats(result: TrainResult, vocab: Vocabulary) -> dict[str, Any]:
    last = result.epochs[-1] if result.epochs else {}
    return {
        "status": "done",
        "epochs": len(result.epochs),
        "train_seconds": result.seconds,
        "train_words": result.words,
        "words_per_s": result.words_per_s,
        "final_train_loss": last.get("train_loss"),
        "vocab_size": len(vocab),
        "backend": result.backend,
    }


def write_run_files(run: Word2VecRun, directory: Path, data_info: dict[str, Any], opts: TrainOptions) -> None:
    """``vocab.txt``, ``vectors.safetensors`` and, last, ``config.json`` into ``directory``."""
    from safetensors.numpy import save

    with atomic_open(directory / VOCAB_FILE, "w") as f:
        for word, count in zip(run.vocab.words, run.vocab.counts.tolist()):
            f.write(f"{word}\t{count}\n")
    arrays = _arrays(run.weights, run.config)
    data = save(arrays, metadata={"lmlab_sha256": _arrays_sha256(arrays)})
    with atomic_open(directory / WEIGHTS_FILE, "wb") as f:
        f.write(data)
    write_json(
        directory / "config.json",
        {
            "format": "lmlab-run",
            "version": 1,
            "task": TASK,
            "family": run.family,
            "model": asdict(run.config),
            "vocab": {"file": VOCAB_FILE, "size": len(run.vocab), "corpus_words": run.vocab.corpus_words},
            "data": data_info,
            "seed": opts.seed,
            "command": opts.command,
            "stats": run.stats,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "lmlab_version": __version__,
            "machine": platform.node(),
        },
    )


def _arrays(weights: Weights, cfg: Word2VecConfig) -> dict[str, np.ndarray]:
    arrays = {"syn0": weights.syn0}
    if cfg.negative:
        arrays["syn1neg"] = weights.syn1neg
    if cfg.hs:
        arrays["syn1"] = weights.syn1
    return arrays


def _arrays_sha256(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def read_vocab_file(path: Path) -> tuple[list[str], np.ndarray]:
    """The words and counts of ``vocab.txt``; a malformed line is an error naming it."""
    with open_regular(path, missing=f"{path} not found") as f:
        data = f.read(MAX_VOCAB_FILE_BYTES + 1)
    if len(data) > MAX_VOCAB_FILE_BYTES:
        raise LmlabError(f"{path} is larger than {MAX_VOCAB_FILE_BYTES:,} bytes; not an lmlab vocabulary")
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError as e:
        raise LmlabError(f"{path}: not valid UTF-8 at byte offset {e.start}") from None
    if lines and lines[-1] == "":
        lines.pop()
    words, counts = [], []
    for number, line in enumerate(lines, start=1):
        word, tab, count = line.partition("\t")
        if not tab or not word or not count.isdigit():
            raise LmlabError(f"{path}:{number}: expected 'word<TAB>count', found {line[:60]!r}")
        words.append(word)
        counts.append(int(count))
    return words, np.array(counts, dtype=np.int64)


def load_run(path: str | Path) -> Word2VecRun:
    """A word2vec run directory, every file checked (types, shapes, checksum) with one-line errors."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    from lmlab.run import read_run_config

    path = Path(path)
    if not path.is_dir():
        raise LmlabError(f"{path} is not a run directory")
    cfg_json = read_run_config(path)
    where = str(path / "config.json")
    if cfg_json.get("task") != TASK:
        raise LmlabError(f"{path} is a {cfg_json.get('task', 'lm')} run, not a word2vec run")
    family = cfg_json["family"]
    try:
        get_family(family)
    except LmlabError as e:
        raise LmlabError(f"{where}: field 'family': {e}") from None
    cfg = config_from_json(Word2VecConfig, cfg_json["model"], where, "model.")
    words, counts = read_vocab_file(path / VOCAB_FILE)
    weights_path = path / WEIGHTS_FILE
    data = read_bytes(weights_path, missing=f"{weights_path} not found")
    try:
        arrays = load(data)
        header = json.loads(data[8 : 8 + int.from_bytes(data[:8], "little")])
    except (SafetensorError, ValueError) as e:
        raise LmlabError(f"{weights_path}: corrupted or truncated safetensors file ({e})") from None
    if header.get("__metadata__", {}).get("lmlab_sha256") != _arrays_sha256(arrays):
        raise LmlabError(f"{weights_path}: corrupted file (its arrays do not match the checksum written with them)")
    expected = {"syn0": (len(words), cfg.dim)}
    if cfg.negative:
        expected["syn1neg"] = (len(words), cfg.dim)
    if cfg.hs:
        expected["syn1"] = (max(len(words) - 1, 1), cfg.dim)
    for name, shape in expected.items():
        found = arrays.get(name)
        if found is None or found.shape != shape or found.dtype != np.float32:
            raise LmlabError(
                f"{weights_path}: {name} should be float32 of shape {shape} ({len(words):,} words in {VOCAB_FILE}, "
                f"dimension {cfg.dim}), found {None if found is None else (found.dtype.name, found.shape)}"
            )
    vocab = Vocabulary(words, counts, corpus_words=int(cfg_json.get("vocab", {}).get("corpus_words", 0) or 0))
    weights = Weights(
        np.ascontiguousarray(arrays["syn0"]),
        arrays.get("syn1neg", np.zeros(0, np.float32)),
        arrays.get("syn1", np.zeros(0, np.float32)),
    )
    return Word2VecRun(family, cfg, vocab, weights, dict(cfg_json.get("stats", {})))


__all__ = ["Word2VecRun", "load_run", "read_vocab_file", "train_word2vec", "write_run_files"]
