"""(Modified) Kneser-Ney estimated within a memory budget: counts and every later pass stream through sorted files.

The in-memory estimator (:func:`lmlab.lm.ngram.smoothing.kneser_ney` on :func:`~lmlab.lm.ngram.counts.count_ngrams`)
holds the token stream and every order's tables at once, about 160 bytes per token. This one holds at most a
budget's worth of records (``--memory``), the rest in a temporary folder (``--temp-dir``), in the passes lmplz makes
(Heafield et al. 2013), each over files sorted by the n-grams' words:

1. **count**: the corpus in blocks of whole lines; each block's n-grams of orders 2..N are counted (4-byte counts)
   and added to a :class:`~lmlab.lm.ngram.external.Sorter` per order, which spills sorted runs and merges them in
   one k-way pass (compiled), adding up equal n-grams as they meet;
2. **adjust**: Kneser-Ney's adjusted count of a k-gram (k < N) is the number of distinct (k+1)-grams it ends:
   the (k+1)-grams' suffixes are sorted and counted, then joined with the k-grams;
3. **discount**: counts of counts of the adjusted counts give each order's D1, D2, D3+;
4. **estimate**: in sorted order the k-grams sharing a context are adjacent, so a pass computes alpha and the
   context's gamma (its back-off weight) chunk by chunk; the k-grams are then sorted by their suffix to be joined
   with the lower order's interpolated probability, ``p(h w) = alpha(h w) + gamma(h) p(h' w)``, and sorted back;
5. **write**: each order's keys (its prefix's row in the order below, times V, plus its last word), log10
   probabilities and back-off weights, into files the model maps.

Every sum runs over the same values in the same order as the in-memory estimator's (a context's n-grams are never
split between chunks), so the two give the same model bit for bit. Held in memory besides the budget: the vocabulary
and dense tables over it (unigram counts and probabilities). Saving the run writes the model file's hash tables a
region of slots at a time within a sixth of the budget (:func:`lmlab.lm.ngram.binary.write_hash_slots`).

Passes that do not depend on each other run two at a time, each within half the budget (:mod:`workers
<lmlab.lm.ngram.workers>`): the orders' adjusting and merging, counting as a pipeline (a block read and sorted while
the one before it is added to the sorters), the estimate pass as a pipeline (order k + 1 weighed while order k is
joined; the lower orders' tables written beside the highest order's join); the model is the same bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from lmlab.errors import LmlabError
from lmlab.lm.ngram import external, workers
from lmlab.lm.ngram import smoothing as sm
from lmlab.lm.ngram.counts import check_order, check_vocab_size, pad_stream
from lmlab.lm.ngram.external import (
    SortedReader,
    Sorter,
    SpillDir,
    chunks,
    combine_sorted,
    group_starts,
    prefix_counts,
    read,
    search_sorted,
    sort_records,
)
from lmlab.lm.ngram.prune import Pruning

#: Bytes a block holds per token while it is counted, for each order 2..N: its k-gram records (4k + 4 bytes), their
#: sort order (8) and the sorted copy, with room for numpy's temporaries.
BLOCK_BYTES_PER_TOKEN_AND_ORDER = 96

#: An n-gram's count while counting: 4 bytes (a count above 2^32 - 1 is refused, see external.MAX_COUNT).
COUNT = ("c", "<u4")


@dataclass
class StreamedTables:
    """Per-order tables as the model takes them (memory-mapped files in the spill folder for orders >= 2)."""

    keys: list[np.ndarray]
    logp: list[np.ndarray]
    bow: list[np.ndarray]
    discounts: list[tuple[float, ...]]
    tokens: int  # ids counted, one </s> per line included
    dropped: np.ndarray | None = None  # (V,) bool, the words pruning dropped (the tables leave them out)


def words(k: int, prefix: str = "w") -> list[str]:
    return [f"{prefix}{j}" for j in range(k)]


def _dtype(k: int, *extra: tuple[str, str]) -> np.dtype:
    return np.dtype([(w, "<i4") for w in words(k)] + list(extra))


#: Records a pass reads and computes on at a time: enough for numpy to run at full speed; more would only raise the
#: peak memory (the sorters' buffers take the budget instead, which saves merges).
CHUNK_ROWS = 1 << 21


def _chunk_rows(memory: int, record_bytes: int, tasks: int = 1) -> int:
    """Records a pass computes on at a time, ``tasks`` passes at once: each a share of :data:`CHUNK_ROWS`."""
    return min(_rows(memory, record_bytes), CHUNK_ROWS // tasks)


def _rows(memory: int, record_bytes: int) -> int:
    """Records per chunk and per sort buffer in the passes after counting: a pass holds a chunk, the records it
    makes, two sorters' buffers and one buffer's sort (a copy), about ten times a chunk; a sixteenth of the budget
    each, so that the peak stays well inside it (more, smaller runs cost little: they are merged in one pass)."""
    return max(memory // 16 // record_bytes, 1)


def block_tokens(memory: int, order: int) -> int:
    """Tokens counted per block within ``memory`` bytes: a quarter of the budget (the sorters' buffers take a
    twelfth, the merges after them the same).

    >>> block_tokens(2**30, 5)
    699050
    """
    return max(memory // 4 // (BLOCK_BYTES_PER_TOKEN_AND_ORDER * max(order - 1, 1)), 1)


def split_blocks(encoded: Iterable[np.ndarray], eos_id: int, memory: int, order: int) -> Iterator[np.ndarray]:
    """Join ``</s>``-terminated id streams into blocks of whole lines, as long as :func:`block_tokens` allows (a few
    large blocks: each is sorted once and spilled as one run); a line longer than a block means a budget too small
    to hold one block."""
    max_tokens = block_tokens(memory, order)
    pending: list[np.ndarray] = []
    held = 0
    for ids in encoded:
        pending.append(ids)
        held += ids.size
        if held < max_tokens:
            continue
        ids = np.concatenate(pending)
        while ids.size >= max_tokens:
            ends = np.flatnonzero(ids[:max_tokens] == eos_id)
            if not ends.size:
                eos = np.flatnonzero(ids == eos_id)
                longest = int(eos[0]) + 1 if eos.size else int(ids.size)
                needed = 4 * longest * BLOCK_BYTES_PER_TOKEN_AND_ORDER * max(order - 1, 1)
                raise LmlabError(
                    f"--memory {memory:,} bytes is too small to hold one block: a training line of {longest:,} tokens "
                    f"needs about {needed:,} bytes at order {order}; give a larger --memory"
                )
            yield ids[: ends[-1] + 1]
            ids = ids[ends[-1] + 1 :]
        pending, held = [ids], ids.size
    if held:
        yield np.concatenate(pending)


def _bar(desc: str, total: int | None, unit: str, progress: bool):
    from tqdm.auto import tqdm

    return tqdm(
        total=total, desc=desc, unit=unit, unit_scale=True, dynamic_ncols=True, disable=None if progress else True
    )


def _spilled(spill: SpillDir) -> str:
    return f"spilled {spill.written / 2**20:,.0f} MiB"


def _advance(bar, n: int, spill: SpillDir) -> None:
    """Move a pass's bar on by ``n`` (its rate) and show the bytes spilled so far; a task run beside a failed one
    stops here (:func:`lmlab.lm.ngram.workers.check`)."""
    workers.check()
    bar.update(n)
    bar.set_postfix_str(_spilled(spill), refresh=False)


def windows(tokens: np.ndarray, eos_id: int, order: int, sentinel: int) -> np.ndarray:
    """The window of ``order`` words starting at each position of a padded id stream, with count 1; the places past
    its line's end hold ``sentinel`` (above every word id, so that a window cut short sorts after the longer ones
    it begins). Sorted, they give the sorted n-grams of every order (:func:`~lmlab.lm.ngram.external.prefix_counts`).

    >>> windows(np.array([1, 5, 2, 1, 2]), eos_id=2, order=3, sentinel=9).tolist()
    [(1, 5, 2, 1), (5, 2, 9, 1), (2, 9, 9, 1), (1, 2, 9, 1), (2, 9, 9, 1)]
    """
    P = tokens.size
    line_end = np.flatnonzero(tokens == eos_id)
    # words of its line after each position: its line's </s> less the position
    after = (line_end[np.searchsorted(line_end, np.arange(P))] if line_end.size else np.full(P, P - 1)) - np.arange(P)
    rec = np.empty(P, dtype=_dtype(order, COUNT))
    for j in range(order):
        w = rec[f"w{j}"]
        w[: P - j] = tokens[j:]
        w[P - j :] = sentinel
        w[after < j] = sentinel
    rec["c"] = 1
    return rec


def line_count(ids: np.ndarray, eos_id: int) -> int:
    """Lines in an id stream: its ``</s>`` tokens, and a last line without one.

    >>> line_count(np.array([5, 2, 6]), 2), line_count(np.array([5, 2, 2]), 2), line_count(np.array([]), 2)
    (2, 2, 0)
    """
    return int(np.count_nonzero(ids[:-1] == eos_id)) + 1 if ids.size else 0


def padded_windows(
    ids: np.ndarray,
    bos_id: int,
    eos_id: int,
    order: int,
    sentinel: int,
    *,
    lines: int | None = None,
    compiled: bool = True,
):
    """:func:`windows` of an ``</s>``-terminated id stream with ``<s>`` put before every line
    (:func:`~lmlab.lm.ngram.counts.pad_stream`): in one compiled pass where the extension is built (the numpy path
    makes a dozen temporaries the size of the block), else with numpy; the same records either way. ``lines``: the
    stream's :func:`line_count`, where the caller has it.

    >>> padded_windows(np.array([5, 2, 6, 2]), bos_id=1, eos_id=2, order=2, sentinel=9).tolist()
    [(1, 5, 1), (5, 2, 1), (2, 9, 1), (1, 6, 1), (6, 2, 1), (2, 9, 1)]
    """
    if compiled and external._count is not None and ids.dtype in (np.int32, np.int64):
        out = np.empty(ids.size + (line_count(ids, eos_id) if lines is None else lines), dtype=_dtype(order, COUNT))
        external._count.pad_windows(np.ascontiguousarray(ids), bos_id, eos_id, order, sentinel, out)
        return out
    return windows(pad_stream(ids, bos_id, eos_id).tokens, eos_id, order, sentinel)


def _count(blocks, order, V, bos, eos, spill, memory, progress):
    """Pass 1: unigram counts (dense) and the sorted, counted n-grams of orders 2..N. A block's windows of N words
    are sorted once (N radix passes) and give every order's sorted counts, its prefixes."""
    c1 = np.zeros(V, dtype=np.int64)
    n_tokens = 0
    per_order = memory // 2 // max(order - 1, 1)
    sorters = {
        k: Sorter(spill, _dtype(k, COUNT), words(k), budget_rows=per_order // (6 * (4 * k + 4)), combine="c")
        for k in range(2, order + 1)
    }
    bar = _bar("count n-grams", None, "token", progress)
    ks = list(range(order, 1, -1))  # the largest first
    blocks = iter(blocks)

    def next_block():
        """The next block's unigram counts taken, its windows of N words sorted and counted (None: no block left)."""
        ids = next(blocks, None)
        if ids is None:
            return None
        if ids.size and int(ids.max()) >= V:
            raise LmlabError(f"token id {int(ids.max())} is outside the vocabulary of {V}")
        c1[:] += np.bincount(ids, minlength=V)
        lines = line_count(ids, eos)
        c1[bos] += lines  # the <s> before each line
        if order == 1:
            return int(ids.size), None
        win = padded_windows(ids, bos, eos, order, sentinel=V, lines=lines)
        return int(ids.size), combine_sorted(sort_records(win, words(order)), words(order), "c")

    def add(win):
        """A block's counts of every order, each added to its order's sorter (which merges and spills)."""
        for k in ks:
            sorters[k].add(prefix_counts(win, order, k, V), presorted=True)

    # a pipeline on two threads: a block is read and sorted while the one before it is added to the sorters
    block = next_block()
    while block is not None:
        size, win = block
        tasks = [next_block] + ([lambda win=win: add(win)] if win is not None else [])
        block = workers.each(lambda task: task(), tasks)[0]
        del win
        _advance(bar, size, spill)
        n_tokens += size
    bar.close()
    # each order's runs merged into one file, two orders at a time
    return c1, dict(zip(ks, workers.each(lambda k: sorters[k].result(), ks))), n_tokens


def _largest_first(tables, ks) -> list[int]:
    """Orders by the size of their tables, largest first: two at a time, the work is shared most evenly."""
    return sorted(ks, key=lambda k: -int(tables[k].size))


def _pruned(chunk, k, raw, dropped, pruning):
    """Which records of a chunk of k-grams pruning drops: seen at most its threshold, or holding a dropped word."""
    out = raw <= pruning.threshold(k)
    for w in words(k):
        out |= dropped[chunk[w]]
    return out


def _adjust(c1, counted, order, V, bos, spill, memory, progress, pruning=None, dropped=None):
    """Pass 2: adjusted counts; order k < N takes the number of distinct (k+1)-grams ending in each k-gram. A k-gram
    that pruning drops keeps its adjusted count negated (as lmplz marks it with the count's top bit). Also each
    order's counts of counts of its adjusted counts, for the discounts (pruned n-grams count too, as in lmplz)."""
    if order == 1:
        adj1 = c1
    else:  # a unigram's left extensions: the distinct bigrams ending in it
        left1 = np.zeros(V, dtype=np.int64)
        for _, chunk in chunks(counted[2], _chunk_rows(memory, 16)):
            left1 += np.bincount(chunk["w1"], minlength=V)
        adj1 = np.where(np.arange(V) == bos, c1, left1)
    # every k-gram is read once, and every (k+1)-gram once more for the k-grams' suffixes
    total = sum(int(counted[k].size) for k in range(2, order + 1)) + sum(
        int(counted[k].size) for k in range(3, order + 1)
    )
    bar = _bar("adjust counts", total, "n-gram", progress)
    n_workers = workers.workers()
    share = memory // n_workers  # the orders are adjusted n_workers at a time, each within its share

    def adjust(k):
        table = counted[k]
        out = spill.new_file(f"adjusted{k}")
        rows, chunk_rows = _rows(share, 4 * k + 4), _chunk_rows(share, 4 * k + 8, n_workers)
        t = np.zeros(5, dtype=np.int64)
        reader = None
        if k < order:
            suffixes = Sorter(spill, _dtype(k, ("n", "<u4")), words(k), budget_rows=rows, combine="n")
            for _, chunk in chunks(counted[k + 1], chunk_rows):
                rec = np.empty(chunk.size, dtype=_dtype(k, ("n", "<u4")))
                for j in range(k):
                    rec[f"w{j}"] = chunk[f"w{j + 1}"]
                rec["n"] = 1
                suffixes.add(combine_sorted(sort_records(rec, words(k)), words(k), "n"), presorted=True)
                _advance(bar, chunk.size, spill)
            reader = SortedReader(suffixes.result(once=True), words(k), chunk_rows)
        for _, chunk in chunks(table, chunk_rows):
            rec = np.empty(chunk.size, dtype=_dtype(k, ("a", "<i8")))
            for w in words(k):
                rec[w] = chunk[w]
            if reader is None:  # the highest order keeps its counts
                rec["a"] = chunk["c"]
            else:
                _, ext = reader.upto(chunk[-1:])
                left = np.zeros(chunk.size, dtype=np.int64)
                left[search_sorted(chunk, ext, words(k))] = ext["n"]
                rec["a"] = np.where(chunk["w0"] == bos, chunk["c"], left)
            t += sm.counts_of_counts(rec["a"])
            if pruning is not None:
                rec["a"][_pruned(chunk, k, chunk["c"], dropped, pruning)] *= -1
            spill.append(out, rec)
            _advance(bar, chunk.size, spill)
        return read(out, _dtype(k, ("a", "<i8"))), t

    ks = _largest_first(counted, range(2, order + 1))
    done = dict(zip(ks, workers.each(adjust, ks, n_workers)))
    adjusted = {k: done[k][0] for k in range(2, order + 1)}
    counts_of_counts = {k: done[k][1] for k in range(2, order + 1)}
    bar.close()
    return adj1, adjusted, counts_of_counts


def _discounts(adj1, counts_of_counts, order, bos, modified):
    """Pass 3: each order's discounts from the counts of counts of its adjusted counts."""
    discounts = [
        sm.kn_discounts_of_order(
            sm.counts_of_counts(np.where(np.arange(adj1.size) == bos, 0, adj1)), 1, modified=modified
        )
    ]
    for k in range(2, order + 1):
        discounts.append(sm.kn_discounts_of_order(counts_of_counts[k], k, modified=modified))
    return discounts


def _log10(x):
    with np.errstate(divide="ignore"):
        return np.log10(x)


def _estimate(
    adj1, adjusted, order, V, bos, discounts, interpolate_unigrams, spill, memory, progress, dropped=None, beside=None
):
    """Pass 4: interpolated probabilities of every order (sorted by words) and the back-off weights of contexts;
    with ``dropped`` (the words pruning drops), only the n-grams kept, and lmplz's weights for a pruned model.
    ``beside(p1, probs, contexts)``: a task run beside the highest order's join (order >= 3), every lower order's
    probabilities and back-off weights known."""
    alpha_gamma = sm.kn_alpha_gamma(discounts)
    c1 = adj1.astype(np.float64).copy()
    c1[bos] = 0.0
    keep1 = () if dropped is None else (~dropped,)
    if interpolate_unigrams:
        alpha1, gamma0 = alpha_gamma(1, np.zeros(V, dtype=np.int64), c1, 1, *keep1)
        p1 = alpha1 + gamma0[0] / ((V if dropped is None else int((~dropped).sum())) - 1)
    else:
        p1 = c1 / c1.sum()
    p1[bos] = 0.0
    # each order's k-grams pass once, and once more (those kept) to be joined with the order below from order 3 on
    total = None if dropped is not None else sum((1 + (k > 2)) * int(adjusted[k].size) for k in range(2, order + 1))
    bar = _bar("estimate probabilities", total, "n-gram", progress)
    probs: dict[int, np.ndarray] = {}  # order >= 2: records (w0..w{k-1}, p) sorted by words
    contexts: dict[int, np.ndarray] = {}  # order k: records (w0..w{k-1}, bow) of the k-grams that have children
    n_workers = workers.workers()
    share = memory // n_workers  # two tasks at once (below), each within its share

    def weigh(k):
        """An order's alpha and gamma, its contexts' back-off weights; its k-grams rotated for the join (k > 2),
        or their probabilities (k = 2: the order below is the unigrams, in memory)."""
        rows, chunk_rows = _rows(share, 4 * k + 32), _chunk_rows(share, 4 * k + 32, n_workers)
        ctx_file = spill.new_file(f"contexts{k - 1}")
        p_file = spill.new_file(f"probs{k}")
        # the k-grams come sorted by w0 w1 .. w{k-1}: rotated, a stable sort by their first k - 1 words orders them
        rotated = Sorter(
            spill, _dtype(k, ("alpha", "<f8"), ("gamma", "<f8")), words(k), budget_rows=rows, sort_key=words(k - 1)
        )
        for _, chunk in chunks(adjusted[k], chunk_rows, group=words(k - 1)):
            starts = group_starts(chunk, words(k - 1))
            n_ctx = starts.size
            parent = np.repeat(np.arange(n_ctx), np.diff(np.append(starts, chunk.size)))
            ctx = np.empty(n_ctx, dtype=_dtype(k - 1, ("bow", "<f8")))
            for w in words(k - 1):
                ctx[w] = chunk[w][starts]
            if dropped is None:
                alpha, gamma = alpha_gamma(k, parent, chunk["a"].astype(np.float64), n_ctx)
            else:  # a pruned n-gram's count is negated; only contexts left with a child keep a back-off weight
                keep = chunk["a"] > 0
                alpha, gamma = alpha_gamma(k, parent, np.abs(chunk["a"]).astype(np.float64), n_ctx, keep)
                with_child = np.bincount(parent[keep], minlength=n_ctx) > 0
                chunk, alpha, parent = chunk[keep], alpha[keep], parent[keep]
            ctx["bow"] = _log10(gamma)
            spill.append(ctx_file, ctx if dropped is None else ctx[with_child])
            if k == 2:
                out = np.empty(chunk.size, dtype=_dtype(k, ("p", "<f8")))
                for w in words(k):
                    out[w] = chunk[w]
                out["p"] = alpha + gamma[parent] * p1[chunk["w1"]]
                spill.append(p_file, out)
            else:  # rotated: the suffix w1..w{k-1} first, then w0, to be joined with the order below
                rec = rotated.reserve(chunk.size)
                for j in range(k):
                    rec[f"w{j}"] = chunk[f"w{(j + 1) % k}"]
                rec["alpha"], rec["gamma"] = alpha, gamma[parent]
            _advance(bar, chunk.size, spill)
        contexts[k - 1] = read(ctx_file, _dtype(k - 1, ("bow", "<f8")))
        return read(p_file, _dtype(k, ("p", "<f8"))) if k == 2 else rotated.result(once=True)

    def join(k, rotated):
        """An order's interpolated probabilities, ``p(h w) = alpha(h w) + gamma(h) p(h' w)``: its rotated k-grams
        joined with the order below (sorted by the suffix h' w), and sorted back by their words."""
        rows, chunk_rows = _rows(share, 4 * k + 32), _chunk_rows(share, 4 * k + 32, n_workers)
        # and come back sorted by w1 .. w{k-1} w0: a stable sort by w0 alone orders them by their words
        back = Sorter(spill, _dtype(k, ("p", "<f8")), words(k), budget_rows=rows, sort_key=["w0"])
        lower = SortedReader(probs[k - 1], words(k - 1), chunk_rows)
        # grouped by suffix, so that no suffix is split between chunks (the reader moves past each one once)
        for _, chunk in chunks(rotated, chunk_rows, group=words(k - 1)):
            _, below = lower.upto(chunk[-1:])
            at = search_sorted(below, chunk, words(k - 1))
            rec = back.reserve(chunk.size)
            for j in range(k):
                rec[f"w{(j + 1) % k}"] = chunk[f"w{j}"]
            rec["p"] = chunk["alpha"] + chunk["gamma"] * below["p"][at]
            _advance(bar, chunk.size, spill)
        return back.result()

    # a pipeline on two threads: order k + 1 is weighed while order k is joined with the order below it
    weighed = dict(zip((2, 3), workers.each(weigh, range(2, min(order, 3) + 1))))
    if order > 1:
        probs[2] = weighed.pop(2)
    for k in range(3, order + 1):
        tasks = [lambda k=k: join(k, weighed.pop(k))]
        if k < order:
            tasks.append(lambda k=k: weigh(k + 1))
        elif beside is not None:  # the highest order's join: nothing left to weigh, the caller's task instead
            tasks.append(lambda: beside(p1, probs, contexts))
        done = workers.each(lambda task: task(), tasks)
        probs[k] = done[0]
        if k < order:
            weighed[k + 1] = done[1]
    bar.close()
    return p1, probs, contexts


class _TableWriter:
    """Pass 5: per-order keys, log10 probabilities and back-off weights, as the model holds them; with ``dropped``
    (the words pruning drops), over the vocabulary of the words kept. An order is written once its probabilities,
    the order below's and its contexts' back-off weights are known: the orders below the highest while the
    highest is still joined (:func:`_estimate`'s ``beside``)."""

    def __init__(self, p1, probs, contexts, order, V, spill, memory, progress, dropped=None, total=None):
        bow1 = np.zeros(V)
        if order > 1:
            ctx1 = contexts[1][: contexts[1].size]  # at most V records
            bow1[ctx1["w0"]] = ctx1["bow"]
        kept = np.ones(V, dtype=bool) if dropped is None else ~dropped
        self.new_id = np.cumsum(kept) - 1  # a kept word's id in the vocabulary of the words kept
        self.V_out = int(kept.sum())
        self.tables = {1: (np.arange(self.V_out, dtype=np.int64), _log10(p1)[kept], bow1[kept])}
        self.probs, self.contexts, self.order, self.spill = probs, contexts, order, spill
        self.n_workers = workers.workers()
        self.share = memory // self.n_workers  # written beside another task, each within its share
        self.bar = _bar("write tables", total, "n-gram", progress)

    def write(self, k: int) -> None:
        probs, contexts, spill, new_id = self.probs, self.contexts, self.spill, self.new_id
        paths = {name: spill.new_file(f"{name}{k}") for name in ("keys", "logp", "bow")}
        rows = _chunk_rows(self.share, 4 * k + 40, self.n_workers)
        parents = SortedReader(probs[k - 1], words(k - 1), rows) if k > 2 else None
        children = SortedReader(contexts[k], words(k), rows) if k < self.order else None
        for _, chunk in chunks(probs[k], rows, group=words(k - 1)):
            if parents is None:
                parent = new_id[chunk["w0"]]
            else:  # the prefix's row in the order below
                first, above = parents.upto(chunk[-1:])
                parent = first + search_sorted(above, chunk, words(k - 1))
            b = np.zeros(chunk.size)
            if children is not None:
                _, ctx = children.upto(chunk[-1:])
                b[search_sorted(chunk, ctx, words(k))] = ctx["bow"]
            spill.append(paths["keys"], parent * self.V_out + new_id[chunk[f"w{k - 1}"]])
            spill.append(paths["logp"], _log10(chunk["p"]))
            spill.append(paths["bow"], b)
            _advance(self.bar, chunk.size, spill)
        # mapped read-only: the model file is written from these, one pass per order
        out = []
        for name, dtype in (("keys", np.int64), ("logp", np.float64), ("bow", np.float64)):
            exists = paths[name].exists() and paths[name].stat().st_size
            out.append(np.memmap(paths[name], dtype=dtype, mode="r") if exists else np.zeros(0, dtype))
        self.tables[k] = tuple(out)

    def result(self):
        """Every order's keys, log10 probabilities and back-off weights, once every order is written."""
        self.bar.close()
        return tuple([self.tables[k][j] for k in range(1, self.order + 1)] for j in range(3))


def estimate_streaming(
    blocks: Iterable[np.ndarray],
    *,
    order: int,
    vocab_size: int,
    bos_id: int,
    eos_id: int,
    spill: SpillDir,
    memory: int,
    modified: bool = True,
    interpolate_unigrams: bool = True,
    progress: bool = True,
    pruning: Pruning | None = None,
) -> StreamedTables:
    """Estimate interpolated (modified) Kneser-Ney from blocks of an ``</s>``-terminated id stream within about
    ``memory`` bytes; the tables of orders >= 2 are files in ``spill``, which must outlive their use. With
    ``pruning``, the n-grams it keeps, over the vocabulary of the words kept (``StreamedTables.dropped``)."""
    check_order(order)
    check_vocab_size(vocab_size, order)
    V = vocab_size
    c1, counted, n_tokens = _count(blocks, order, V, bos_id, eos_id, spill, memory, progress)
    dropped = None if pruning is None else pruning.dropped_words(c1)
    adj1, adjusted, counts_of_counts = _adjust(c1, counted, order, V, bos_id, spill, memory, progress, pruning, dropped)
    _remove(spill, counted)
    discounts = _discounts(adj1, counts_of_counts, order, bos_id, modified)
    total = None if dropped is not None else sum(int(adjusted[k].size) for k in range(2, order + 1))
    writer = None

    def write_lower_orders(p1, probs, contexts):
        nonlocal writer
        writer = _TableWriter(p1, probs, contexts, order, V, spill, memory, progress, dropped, total)
        for k in range(2, order):
            writer.write(k)

    p1, probs, contexts = _estimate(
        adj1,
        adjusted,
        order,
        V,
        bos_id,
        discounts,
        interpolate_unigrams,
        spill,
        memory,
        progress,
        dropped,
        beside=write_lower_orders,
    )
    if writer is None:  # order 1 or 2: nothing was written beside the estimate
        write_lower_orders(p1, probs, contexts)
    if order > 1:
        writer.write(order)
    keys, logp, bow = writer.result()
    _remove(spill, adjusted, probs, contexts)
    return StreamedTables(keys, logp, bow, discounts, n_tokens, dropped)


def _remove(spill: SpillDir, *tables: dict) -> None:
    """Remove the files of passes done with, in the background (:meth:`SpillDir.unlink`): the folder holds only the
    final tables when it is removed, which would otherwise take a second or more at a hundred million words."""
    for by_order in tables:
        for table in by_order.values():
            if isinstance(table, external.RecordFile):
                spill.unlink(table.path)


__all__ = ["StreamedTables", "block_tokens", "estimate_streaming", "split_blocks"]
