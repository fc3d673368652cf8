"""word2vec run directories: training one end to end, and reading one back.

A run holds ``config.json`` (``"task": "word2vec"``, the family, the hyperparameters, the corpus and its sha256,
the command, the training statistics), ``vocab.txt`` (``word<TAB>count`` per line, most frequent first),
``vectors.safetensors`` (``syn0``, the word vectors, and the output vectors ``syn1neg`` and/or ``syn1``) and
``metrics.jsonl`` (one row per epoch). It is built beside ``--out`` and swapped into place when complete
(:func:`lmlab.rundir.replace_run`): an interrupted or failed training leaves the previous run as it was.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lmlab.errors import LmlabError
from lmlab.io import atomic_open, write_json
from lmlab.runconfig import RunInfo, run_envelope
from lmlab.runfiles import (
    SafetensorsHeader,
    check_fields,
    check_safetensors_shapes,
    config_from_json,
    expect,
    open_regular,
    read_safetensors_arrays,
    read_safetensors_header,
)
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
#: Largest vocab.txt read, whatever its run records: 1 GiB is 20 times GoogleNews' 3 million words.
MAX_VOCAB_FILE_BYTES = 1 << 30
#: Bytes allowed per word of vocab.txt, on average: a word with its count, far above any real vocabulary's.
MAX_VOCAB_LINE_BYTES = 4096
#: Digits of a count: 18 fit an int64 whatever they are.
MAX_COUNT_DIGITS = 18
#: The fields of a word2vec run's config.json that load_run reads beyond those every run has.
CONFIG_SCHEMA = {
    "vocab": expect(dict),
    "vocab.file": expect(str),
    "vocab.size": expect(int),
    "vocab.corpus_words": expect(int),
}


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
    vocab = {"file": VOCAB_FILE, "size": len(run.vocab), "corpus_words": run.vocab.corpus_words}
    info = RunInfo(data=data_info, command=opts.command, stats=run.stats)
    write_json(
        directory / "config.json",
        run_envelope(TASK, run.family, asdict(run.config), info, vocab=vocab, seed=opts.seed),
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


def vocab_bytes_limit(n_words: int) -> int:
    """The most bytes a ``vocab.txt`` of ``n_words`` lines may hold, checked before it is read.

    >>> vocab_bytes_limit(3), vocab_bytes_limit(10**9) == MAX_VOCAB_FILE_BYTES
    (12288, True)
    """
    return min(MAX_VOCAB_FILE_BYTES, n_words * MAX_VOCAB_LINE_BYTES)


def _vocab_line(raw: bytes, path: Path, number: int) -> tuple[str, int]:
    """``(word, count)`` from one line of ``vocab.txt``.

    >>> _vocab_line(b"the\\t1061396\\n", Path("vocab.txt"), 1)
    ('the', 1061396)
    """
    try:
        line = raw.decode("utf-8").removesuffix("\n")
    except UnicodeDecodeError as e:
        raise LmlabError(f"{path}:{number}: not valid UTF-8 at byte {e.start} of the line") from None
    word, tab, count = line.partition("\t")
    # ASCII digits only (int() also reads '\u0663'), and few enough of them to fit an int64
    if not tab or not word or not (count.isascii() and count.isdigit() and len(count) <= MAX_COUNT_DIGITS):
        raise LmlabError(f"{path}:{number}: expected 'word<TAB>count', found {line[:60]!r}")
    return word, int(count)


def read_vocab_file(path: Path, n_words: int | None = None) -> tuple[list[str], np.ndarray]:
    """The words and counts of ``vocab.txt``; a malformed line is an error naming it.

    With ``n_words`` (what ``config.json`` records, or the rows of the weights, checked against their shapes),
    the file must hold exactly that many lines: its size is checked against :func:`vocab_bytes_limit` before
    anything is read, and reading stops at the first line too many, so a huge or endless file costs no more memory
    than a good one. Lines are parsed one at a time, never the whole text split at once.
    """
    limit = MAX_VOCAB_FILE_BYTES if n_words is None else vocab_bytes_limit(n_words)
    with open_regular(path, missing=f"{path} not found") as f:
        size = os.fstat(f.fileno()).st_size
        if size > limit:
            raise LmlabError(f"{path} is {size:,} bytes, more than the {limit:,} bytes allowed for {_words(n_words)}")
        words: list[str] = []
        counts: list[int] = []
        left = limit
        while raw := f.readline(left + 1):  # the file may have grown since the fstat: never read past the limit
            left -= len(raw)
            if left < 0:
                raise LmlabError(f"{path} is more than the {limit:,} bytes allowed for {_words(n_words)}")
            if n_words is not None and len(words) == n_words:
                raise LmlabError(f"{path} holds more than the {n_words:,} words its run records")
            word, count = _vocab_line(raw, path, len(words) + 1)
            words.append(word)
            counts.append(count)
    if n_words is not None and len(words) != n_words:
        raise LmlabError(f"{path} holds {len(words):,} words, its run records {n_words:,}")
    return words, np.array(counts, dtype=np.int64)


def _words(n_words: int | None) -> str:
    return "a vocabulary" if n_words is None else f"a vocabulary of {n_words:,} words"


def expected_shapes(cfg: Word2VecConfig, n_words: int) -> dict[str, tuple[int, ...]]:
    """The arrays of ``vectors.safetensors`` and their shapes, from the configuration and the vocabulary's size.

    >>> expected_shapes(Word2VecConfig(dim=4, negative=5, hs=True), 10)
    {'syn0': (10, 4), 'syn1neg': (10, 4), 'syn1': (9, 4)}
    """
    shapes = {"syn0": (n_words, cfg.dim)}
    if cfg.negative:
        shapes["syn1neg"] = (n_words, cfg.dim)
    if cfg.hs:
        shapes["syn1"] = (max(n_words - 1, 1), cfg.dim)  # one inner node per merge of the Huffman tree
    return shapes


def _recorded_vocab_size(cfg_json: dict[str, Any], header: SafetensorsHeader, where: str) -> int:
    """The vocabulary's size as ``config.json`` records it or, for a run that does not, as the weights' ``syn0``
    has it; either way checked against the weights file before ``vocab.txt`` is read."""
    size = cfg_json.get("vocab", {}).get("size")
    if size is None:
        shape = header.shapes().get("syn0")
        if shape is None or len(shape) != 2:
            raise LmlabError(f"{header.path}: no syn0 of shape (words, dimension), and {where} records no vocab.size")
        size = shape[0]
    if size < 1:
        raise LmlabError(f"{where}: field 'vocab.size' must be an integer >= 1, got {size}")
    return size


def load_run(path: str | Path) -> Word2VecRun:
    """A word2vec run directory, every file checked (types, shapes, checksum) with one-line errors.

    The order bounds what an untrusted run can make lmlab read: ``config.json`` (16 MiB at most) gives the
    arrays' shapes, which the weights' header must match, and only then are ``vocab.txt`` (as many lines as the
    shapes say) and the weights (exactly the bytes their header accounts for) read.
    """
    from lmlab.runconfig import read_run_config

    path = Path(path)
    if not path.is_dir():
        raise LmlabError(f"{path} is not a run directory")
    cfg_json = read_run_config(path)
    where = str(path / "config.json")
    if cfg_json.get("task") != TASK:
        raise LmlabError(f"{path} is a {cfg_json.get('task', 'lm')} run, not a word2vec run")
    check_fields(cfg_json, CONFIG_SCHEMA, where)
    family = cfg_json["family"]
    try:
        get_family(family)
    except LmlabError as e:
        raise LmlabError(f"{where}: field 'family': {e}") from None
    cfg = config_from_json(Word2VecConfig, cfg_json["model"], where, "model.")
    weights_path = path / WEIGHTS_FILE
    header = read_safetensors_header(weights_path)
    n_words = _recorded_vocab_size(cfg_json, header, where)
    expected = expected_shapes(cfg, n_words)
    check_safetensors_shapes(header, expected)
    words, counts = read_vocab_file(path / VOCAB_FILE, n_words)
    header, arrays = read_safetensors_arrays(weights_path, expected, dict.fromkeys(expected, "F32"))
    if header.metadata.get("lmlab_sha256") != _arrays_sha256(arrays):
        raise LmlabError(f"{weights_path}: corrupted file (its arrays do not match the checksum written with them)")
    vocab = Vocabulary(words, counts, corpus_words=cfg_json.get("vocab", {}).get("corpus_words", 0))
    weights = Weights(
        np.array(arrays["syn0"], dtype=np.float32),  # a writable copy in native byte order: training may go on
        np.array(arrays["syn1neg"], dtype=np.float32) if "syn1neg" in arrays else np.zeros(0, np.float32),
        np.array(arrays["syn1"], dtype=np.float32) if "syn1" in arrays else np.zeros(0, np.float32),
    )
    return Word2VecRun(family, cfg, vocab, weights, dict(cfg_json.get("stats", {})))


__all__ = [
    "Word2VecRun",
    "expected_shapes",
    "load_run",
    "read_vocab_file",
    "train_word2vec",
    "vocab_bytes_limit",
    "write_run_files",
]
