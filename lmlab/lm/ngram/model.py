"""The n-gram language model: a backoff trie of log10 probabilities, honouring the common contract.

Scoring finds, for every position at once, the longest n-gram in the tables that ends there (one binary search
per order over sorted integer keys) and adds the backoff weights of the longer contexts it skipped:

    log p(w | w_{i-N+1} .. w_{i-1}) = log p_stored(w_{i-k+1} .. w_i) + sum_{j=k}^{N-1} log bow(w_{i-j} .. w_{i-1})

where k is the longest order found. Probabilities are kept in log10, as ARPA files store them, and returned
in natural logs, as the contract asks.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lmlab.errors import LmlabError
from lmlab.lm import LanguageModel
from lmlab.lm.ngram import fast
from lmlab.lm.ngram import smoothing as sm
from lmlab.lm.ngram.binary import (
    READ_ROWS,
    BinaryTables,
    hash_slots,
    map_binary,
    read_rows,
    slot_width,
    write_binary,
)
from lmlab.lm.ngram.counts import MAX_ORDER, check_order, count_ngrams, pad_stream
from lmlab.lm.ngram.external import parse_size
from lmlab.lm.ngram.modelfile import WEIGHTS_FILE, check_bos_unigram, check_model_file, lower_order_note
from lmlab.lm.ngram.modelfile import effective_order as effective_order_of_sizes
from lmlab.lm.ngram.prune import Pruning, check_thresholds, kept_ngrams, make_pruning, prune_tables
from lmlab.runfiles import annotation_field, check_fields, config_from_json, expect, read_bytes
from lmlab.tokenizers import Tokenizer

log = logging.getLogger(__name__)

LN10 = math.log(10.0)
#: The estimators ``--memory`` runs (lmlab/lm/ngram/stream.py).
STREAMING_SMOOTHINGS = ("modified-kneser-ney", "kneser-ney")
#: The run's model file is WEIGHTS_FILE (:mod:`lmlab.lm.ngram.binary`); runs written before it hold this.
LEGACY_WEIGHTS_FILE = "model.safetensors"
#: The smoothing name of a model read from an ARPA file: estimated elsewhere, so not re-estimable here.
IMPORTED = "imported"


@dataclass
class NgramConfig:
    """How to estimate an n-gram model. Every field is also a ``lmlab train --model ngram`` flag."""

    order: int = 5  # n, the longest n-gram: KenLM's usual 5 for word models; 3 is common for small corpora
    # mle, add-k, absolute-discount, witten-bell, katz, kneser-ney, stupid-backoff or modified-kneser-ney (the best of
    # Chen & Goodman's comparison)
    smoothing: str = "modified-kneser-ney"
    k: float = 1.0  # add-k: the added count (1 = Laplace)
    discount: float = 0.75  # absolute-discount: the discount D (Ney et al.'s usual value)
    alpha: float = 0.4  # stupid-backoff: the backoff factor (Brants et al.)
    interpolate_unigrams: bool = True  # mix unigrams with the uniform distribution, so no token gets p = 0
    # estimate within this much memory (e.g. 2G), streaming through sorted files (Kneser-Ney only); None: in memory
    memory: str | None = None
    temp_dir: str | None = None  # where --memory's sorted files go; None: the system's temporary folder
    # lmplz --prune: drop the n-grams of order k seen at most prune[k-1] times (e.g. 0,0,1: singletons of order 3
    # and above); the last value applies to the orders above it; Kneser-Ney only
    prune: list[int] | None = None
    # lmplz --limit_vocab_file: drop the n-grams holding a word not in this file (words separated by whitespace)
    limit_vocab_file: str | None = None

    def __post_init__(self):
        check_order(self.order)
        if self.smoothing not in sm.SMOOTHINGS and self.smoothing != IMPORTED:
            raise LmlabError(f"unknown smoothing {self.smoothing!r}; choose one of: {', '.join(sm.SMOOTHINGS)}")
        if self.prune is not None:
            self.prune = list(check_thresholds(self.prune, self.order) or [0] * self.order)
        prunes = (self.prune is not None and any(self.prune)) or self.limit_vocab_file
        if prunes and self.smoothing not in STREAMING_SMOOTHINGS:
            raise LmlabError(
                f"--prune and --limit-vocab-file prune {' and '.join(STREAMING_SMOOTHINGS)} models only (as "
                f"lmplz does), not --smoothing {self.smoothing}"
            )
        if self.memory is not None:
            parse_size(self.memory)
            if self.smoothing not in STREAMING_SMOOTHINGS:
                raise LmlabError(
                    f"--memory estimates {' and '.join(STREAMING_SMOOTHINGS)} only, not --smoothing {self.smoothing}"
                )

    def memory_bytes(self) -> int | None:
        return None if self.memory is None else parse_size(self.memory)

    def pruning(self, tokenizer: Tokenizer) -> Pruning | None:
        """What ``prune`` and ``limit_vocab_file`` drop, over ``tokenizer``'s ids (None: nothing); reads the file."""
        return make_pruning(self.prune, self.limit_vocab_file, tokenizer, self.order)


def estimate(counts, cfg: NgramConfig, keep: list[np.ndarray] | None = None) -> sm.BackoffTables:
    """Dispatch to the smoothing function named by ``cfg.smoothing``; ``keep``: the n-grams pruning keeps."""
    s = cfg.smoothing
    if s == "modified-kneser-ney" or s == "kneser-ney":
        return sm.kneser_ney(
            counts, modified=s == "modified-kneser-ney", interpolate_unigrams=cfg.interpolate_unigrams, keep=keep
        )
    if s == "absolute-discount":
        return sm.absolute_discount(counts, discount=cfg.discount, interpolate_unigrams=cfg.interpolate_unigrams)
    if s == "witten-bell":
        return sm.witten_bell(counts, interpolate_unigrams=cfg.interpolate_unigrams)
    if s == "add-k":
        return sm.add_k(counts, k=cfg.k)
    if s == "katz":
        return sm.katz(counts)
    if s == "mle":
        return sm.mle(counts)
    if s == "stupid-backoff":
        return sm.stupid_backoff(counts, alpha=cfg.alpha)
    raise AssertionError(s)


@dataclass(frozen=True)
class BackoffStep:
    """How an n-gram model gave one token its probability (see :meth:`NgramLM.backoff_path`)::

        log10 p(token | history) = log10_p + sum(log10 bow of each back-off) + missing_contexts * missing_context_bow

    which is ``log10_prob``, the token's entry of :meth:`NgramLM.log10_stream`.
    """

    token: int
    order: int  # the order of the longest stored n-gram ending in the token (1: the unigram)
    ngram: tuple[int, ...]  # that n-gram, the token last
    log10_p: float  # its stored log10 probability (for an interpolated estimator, the interpolated value)
    backoffs: tuple[tuple[tuple[int, ...], float], ...]  # (context, log10 back-off weight) of each longer context
    missing_contexts: int  # contexts too long to have been seen (stupid backoff charges each its factor)
    log10_prob: float  # the model's log10 p of the token


def effective_order(keys: Sequence[np.ndarray]) -> int:
    """The highest order up to which every table holds n-grams: orders above the longest training line (with
    ``<s>`` and ``</s>``) stay empty, and the model then scores as a model of this order, as KenLM does.

    >>> effective_order([np.arange(4), np.array([5, 9]), np.array([22]), np.zeros(0, np.int64)])
    3
    """
    return effective_order_of_sizes([table.size for table in keys])


class NgramLM(LanguageModel):
    """A backoff n-gram model over a tokenizer's vocabulary.

    ``keys[k-1]`` is the sorted key table of order k (``index(prefix) * V + word``; order 1 is ``arange(V)``),
    ``logp[k-1]`` and ``bow[k-1]`` its log10 probabilities and backoff weights.
    """

    family = "ngram"

    def __init__(
        self,
        tokenizer: Tokenizer,
        keys: list[np.ndarray],
        logp: list[np.ndarray],
        bow: list[np.ndarray],
        config: NgramConfig,
        *,
        missing_context_bow: float = 0.0,
        discounts: list[tuple[float, ...]] | None = None,
        slots: list[np.ndarray] | None = None,
    ):
        super().__init__(tokenizer)
        V = tokenizer.vocab_size
        if keys[0].size != V:
            raise LmlabError(f"unigram table has {keys[0].size} entries for a vocabulary of {V}")
        self.keys, self.logp, self.bow = keys, logp, bow
        self.config = config
        self.order = len(keys)
        self.effective_order = effective_order(keys)
        if self.effective_order < self.order:
            log.warning("%s", lower_order_note(self.order, self.effective_order))
        self.missing_context_bow = missing_context_bow
        self.discounts = discounts
        self._slots = slots
        #: num_parameters() where it is known without counting (a run just trained: its model file holds the tables
        #: it was counted on, and counting the mapped file again would read all of its pages into memory)
        self.counted_parameters: int | None = None
        if logp[0][tokenizer.bos_id] != -np.inf:  # (a mapped model file is read-only and holds -inf there already)
            logp[0][tokenizer.bos_id] = -np.inf  # <s> is a context, never predicted

    @property
    def normalized(self) -> bool:  # type: ignore[override]
        return self.config.smoothing != "stupid-backoff"

    @classmethod
    def fit(cls, ids: np.ndarray, tokenizer: Tokenizer, config: NgramConfig) -> NgramLM:
        """Count the n-grams of an ``</s>``-terminated id stream and estimate the model (pruned as the configuration
        says: then its tokenizer holds only the words kept)."""
        pruning = config.pruning(tokenizer)
        counts = count_ngrams(ids, config.order, tokenizer.vocab_size, tokenizer.bos_id, tokenizer.eos_id)
        if pruning is None:
            tables = estimate(counts, config)
            keys, logp, bow = counts.keys, tables.logp, tables.bow
        else:
            dropped, keep = kept_ngrams(counts.keys, counts.counts, counts.vocab_size, pruning)
            tables = estimate(counts, config, keep)
            tokenizer, keys, logp, bow = prune_tables(tokenizer, counts.keys, tables.logp, tables.bow, keep, dropped)
        return cls(
            tokenizer,
            keys,
            logp,
            bow,
            config,
            missing_context_bow=tables.missing_context_bow,
            discounts=tables.discounts,
        )

    # ---- look-ups
    def _find(self, k: int, ctx: np.ndarray, words: np.ndarray) -> np.ndarray:
        """Index of n-gram (ctx, word) in the order-k table, or -1; ``ctx`` = -1 means no context."""
        table = self.keys[k - 1]
        if table.size == 0:
            return np.full(np.shape(words), -1, dtype=np.int64)
        q = np.where(ctx >= 0, ctx, 0) * self.vocab_size + words
        pos = np.searchsorted(table, q)
        pos_c = np.minimum(pos, table.size - 1)
        ok = (ctx >= 0) & (pos < table.size) & (table[pos_c] == q)
        return np.where(ok, pos_c, -1)

    def hash_tables(self) -> list[np.ndarray]:
        """The hash table of each order k = 2..N (:func:`lmlab.lm.ngram.binary.hash_slots`), which the compiled
        scorer looks n-grams up in; a model file stores them, a model in memory builds them once."""
        if self._slots is None:
            N = len(self.keys)
            self._slots = [
                hash_slots(self.keys[k - 1], self.logp[k - 1], self.bow[k - 1], slot_width(k, N))
                for k in range(2, N + 1)
            ]
        return self._slots

    def log10_stream(self, ids: np.ndarray) -> np.ndarray:
        """log10 p of every token of an id stream (``<s>`` not included): the compiled scorer where it was built,
        else :meth:`log10_stream_numpy`; both give the same numbers."""
        if fast.available():
            return fast.log10_stream(self, ids)
        return self.log10_stream_numpy(ids)

    def log10_stream_numpy(self, ids: np.ndarray) -> np.ndarray:
        """log10 p of every token of an id stream (``<s>`` not included), the backoff formula vectorised."""
        padded = pad_stream(np.asarray(ids, dtype=np.int64), self.tokenizer.bos_id, self.tokenizer.eos_id)
        tok = padded.tokens
        if tok.size and (tok.max() >= self.vocab_size or tok.min() < 0):
            raise LmlabError(f"token ids must be in [0, {self.vocab_size}), got {int(tok.max())}")
        lp = self.logp[0][tok]
        bows = np.zeros(tok.size)
        # Only positions whose (k-1)-word context exists can match at order k, so each order works on the
        # shrinking set `pos` of such positions; `ctx` holds the index of that context n-gram.
        pos = np.arange(1, tok.size)
        ctx = tok[:-1].copy()  # the unigram ending just before each position
        longest_ctx = np.zeros(tok.size, dtype=np.int64)  # longest context found, for stupid backoff below
        # orders above the effective order are empty: they would only add the backoffs of the top order's
        # n-grams, which a model of that order does not have (KenLM ignores them too)
        for k in range(2, self.effective_order + 1):
            longest_ctx[pos] = k - 1
            table = self.keys[k - 1]
            q = ctx * self.vocab_size + tok[pos]
            # binary search for sorted queries walks the table in order (cache-friendly): 2x faster overall
            order = np.argsort(q)
            at = np.empty_like(q)
            at[order] = np.minimum(np.searchsorted(table, q[order]), table.size - 1)
            found = table[at] == q
            hit, miss = pos[found], pos[~found]
            lp[hit] = self.logp[k - 1][at[found]]
            bows[hit] = 0.0
            bows[miss] += self.bow[k - 2][ctx[~found]]
            # next order: positions right after a hit, whose context is the n-gram just found
            nxt = hit + 1 < tok.size
            pos, ctx = hit[nxt] + 1, at[found][nxt]
        if self.missing_context_bow:  # stupid backoff: the factor also applies for contexts never seen
            available = np.minimum(padded.hist, self.effective_order - 1)
            bows += (available - longest_ctx) * self.missing_context_bow
        return (lp + bows)[~padded.is_bos]

    def score_stream(self, ids: np.ndarray) -> np.ndarray:
        return self.log10_stream(ids) * LN10

    def next_token_log10(self, context: Sequence[int]) -> np.ndarray:
        """log10 p(w | context) for every w, context starting at a line start."""
        n = self.effective_order
        hist = [self.tokenizer.bos_id, *context][-(n - 1) :] if n > 1 else []
        V = self.vocab_size
        dist = self.logp[0].copy()
        # walk contexts from shortest to longest: dist_j(w) = p(ctx_j w) if stored, else bow(ctx_j) + dist_{j-1}(w)
        for j in range(1, len(hist) + 1):
            idx = self._context_index(hist[len(hist) - j :])
            if idx < 0:
                dist += self.missing_context_bow
                continue
            dist += self.bow[j - 1][idx]
            table = self.keys[j]
            lo, hi = np.searchsorted(table, [idx * V, (idx + 1) * V])
            dist[table[lo:hi] - idx * V] = self.logp[j][lo:hi]
        dist[self.tokenizer.bos_id] = -np.inf
        return dist

    def backoff_path(self, ids: Sequence[int]) -> list[BackoffStep]:
        """How the model answers for each token of one line (its ids, ``</s>`` included; ``<s>`` is put in front):
        the scalar, one-token-at-a-time form of :meth:`log10_stream`, which it reproduces exactly.

        For each token the contexts of orders 2 .. N are looked up from the shortest: a context in the tables
        whose n-gram with the token is stored answers (the back-offs gathered so far are dropped), one whose
        n-gram is not stored adds its back-off weight; the token's log10 p is the longest stored n-gram's plus the
        back-offs of the longer contexts passed over (and, for stupid backoff, the factor for each context too long
        to have been seen).
        """
        tok = [self.tokenizer.bos_id, *(int(i) for i in ids)]
        if any(not 0 <= t < self.vocab_size for t in tok):
            raise LmlabError(f"token ids must be in [0, {self.vocab_size})")
        n = self.effective_order
        steps = []
        for i in range(1, len(tok)):
            word = tok[i]
            log10_p, order = float(self.logp[0][word]), 1
            backoffs: list[tuple[tuple[int, ...], float]] = []
            longest = 0  # longest context found in the tables
            for k in range(2, min(n, i + 1) + 1):
                context = tok[i - k + 1 : i]  # k - 1 words
                at_context = self._context_index(context)
                if at_context < 0:
                    continue
                longest = k - 1
                at = int(self._find(k, np.array([at_context]), np.array([word]))[0])
                if at >= 0:
                    log10_p, order, backoffs = float(self.logp[k - 1][at]), k, []
                else:
                    backoffs.append((tuple(context), float(self.bow[k - 2][at_context])))
            total = 0.0  # summed in log10_stream's order, so that the result is the same float
            for _, b in backoffs:
                total += b
            missing = 0
            if self.missing_context_bow:
                missing = min(i, n - 1) - longest
                total += missing * self.missing_context_bow
            ngram = tuple(tok[i - order + 1 : i + 1])
            steps.append(BackoffStep(word, order, ngram, log10_p, tuple(backoffs), missing, log10_p + total))
        return steps

    def _context_index(self, words: Sequence[int]) -> int:
        """Index of the n-gram ``words`` in its order's table, or -1."""
        idx = int(words[0])
        for j, w in enumerate(words[1:], start=2):
            idx = int(self._find(j, np.array([idx]), np.array([w]))[0])
            if idx < 0:
                return -1
        return idx

    def next_token_logprobs(self, context: Sequence[int]) -> np.ndarray:
        return self.next_token_log10(context) * LN10

    def write_arpa(self, path: str | Path) -> None:
        """Write the model as a standard ARPA file (KenLM and SRILM read it)."""
        from lmlab.lm.ngram.arpa import write_arpa

        write_arpa(self, path)

    # ---- contract: description and persistence
    def num_parameters(self) -> int:
        """The finite log-probabilities and the back-off weights other than 0 (log10 1), as an ARPA file lists them.

        Counted :data:`READ_ROWS` rows at a time, a memory-mapped table's with plain reads (:func:`read_rows`): at a
        hundred million words the tables are gigabytes, whose mapped pages would all count as the process's memory.
        """
        if self.counted_parameters is not None:
            return self.counted_parameters
        n = sum(_count_rows(lp, np.isfinite) for lp in self.logp)
        return n + sum(_count_rows(b, np.not_equal, 0) for b in self.bow[:-1])

    def sizes(self) -> list[int]:
        """Number of n-grams per order, as an ARPA header counts them."""
        return [int(np.isfinite(self.logp[0]).sum()) + 1] + [int(k.size) for k in self.keys[1:]]

    def config_dict(self) -> dict[str, Any]:
        d = asdict(self.config)
        del d["memory"], d["temp_dir"], d["limit_vocab_file"]  # how it was estimated, not what it is
        d["missing_context_bow"] = self.missing_context_bow
        if self.discounts is not None:
            d["discounts"] = [list(x) for x in self.discounts]
        return d

    def binary_tables(self) -> BinaryTables:
        """The model's tables as a model file holds them (see :mod:`lmlab.lm.ngram.binary`)."""
        return BinaryTables(self.vocab_size, self.keys, self.logp, self.bow, self._slots, self.missing_context_bow)

    def save_weights(self, run_dir: Path) -> None:
        """Write the tables as the run's memory-mapped model file, ``model.ngram``."""
        write_binary(self.binary_tables(), Path(run_dir) / WEIGHTS_FILE, memory=self.config.memory_bytes())

    @classmethod
    def load_weights(cls, run_dir: Path, config: dict[str, Any], tokenizer: Tokenizer) -> NgramLM:
        where = str(Path(run_dir) / "config.json")
        cfg = config_from_json(NgramConfig, config, where, "model.")
        check_fields({"model": config}, _SAVED_SCHEMA, where)
        discounts = config.get("discounts")
        extra = {"discounts": [tuple(d) for d in discounts] if discounts else None}
        path = Path(run_dir) / WEIGHTS_FILE
        if not path.exists() and (Path(run_dir) / LEGACY_WEIGHTS_FILE).exists():
            keys, logp, bow = _read_legacy_tables(Path(run_dir) / LEGACY_WEIGHTS_FILE, cfg.order)
            extra["missing_context_bow"] = float(config.get("missing_context_bow", 0.0))
            return cls(tokenizer, keys, logp, bow, cfg, **extra)
        tables = map_binary(path)
        check_model_file(path, len(tables.keys), tables.vocab_size, cfg.order, tokenizer.vocab_size)
        check_bos_unigram(path, float(tables.logp[0][tokenizer.bos_id]))
        model = cls(
            tokenizer,
            tables.keys,
            tables.logp,
            tables.bow,
            cfg,
            missing_context_bow=tables.missing_context_bow,
            slots=tables.slots,
            **extra,
        )
        model.source = str(path)
        model.source_version = tables.version  # the layout of its hash tables, for reading them with pread
        return model


def _count_rows(table: np.ndarray, test, *args) -> int:
    """How many rows of ``table`` pass ``test(rows, *args)``, read :data:`READ_ROWS` at a time.

    >>> _count_rows(np.array([0.0, -np.inf, -1.5]), np.isfinite), _count_rows(np.array([0.0, 2.0]), np.not_equal, 0)
    (2, 1)
    """
    n = 0
    for start in range(0, table.size, READ_ROWS):
        n += int(np.count_nonzero(test(read_rows(table, start, min(start + READ_ROWS, table.size)), *args)))
    return n


def _read_legacy_tables(path: Path, order: int) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """The tables of a run written before model files (``model.safetensors``), read whole."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    try:
        t = load(read_bytes(path, missing=f"{path} not found"))
    except (SafetensorError, ValueError) as e:
        raise LmlabError(f"{path}: cannot read the n-gram tables ({e})") from None
    try:
        keys = [t[f"keys.{k}"] for k in range(1, order + 1)]
        logp = [t[f"logp.{k}"] for k in range(1, order + 1)]
        bow = [t[f"bow.{k}"] for k in range(1, order + 1)]
    except KeyError as e:
        raise LmlabError(f"{path}: missing table {e} for an order-{order} model") from None
    for k, (kk, lp, bw) in enumerate(zip(keys, logp, bow), start=1):
        ok = kk.ndim == lp.ndim == bw.ndim == 1 and kk.shape == lp.shape == bw.shape
        ok = ok and kk.dtype.kind in "iu" and lp.dtype.kind == "f" and bw.dtype.kind == "f"
        if not ok:
            raise LmlabError(f"{path}: the order-{k} tables are not matching 1-D key, logp and bow arrays")
    return keys, logp, bow


#: The saved fields of an n-gram model's configuration that are not NgramConfig fields.
_SAVED_SCHEMA = {
    "model.missing_context_bow": expect(float),
    "model.discounts": annotation_field(list[list[float]] | None),
}


__all__ = ["MAX_ORDER", "BackoffStep", "NgramConfig", "NgramLM", "effective_order", "estimate"]
