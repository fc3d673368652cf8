"""Byte Pair Encoding on integer symbol ids: pair statistics, merges, training and encoding.

Notation (Sennrich et al. 2016). The training corpus is a multiset of words ``w`` with frequencies ``f(w)``;
each word is a sequence of symbols ``w = x_1 x_2 ... x_n``, at first its characters (or bytes). The frequency of
an adjacent pair is

    c(x, y) = sum_w f(w) * #{i : x_i = x, x_{i+1} = y}

(overlapping occurrences counted: ``aaa`` holds ``(a, a)`` twice). One training step merges the pair with the
largest ``c`` into the new symbol ``xy`` in every word, left to right; among equally frequent pairs it takes the
smallest ``(str(x), str(y))``, comparing symbol strings as UTF-8 bytes (which orders text by code point). A
merge whose result spells a symbol that already exists reuses that symbol's id, so one string is one token.
Encoding a word replays the learned merges by rank: repeatedly merge the adjacent pair whose merge was learned
earliest (the leftmost one if it occurs twice) until no learned pair is left.

Symbols are integer ids and a pair ``(x, y)`` is the integer ``x << 32 | y`` in the fast paths, because hashing
one int is cheaper than hashing a tuple. Each fast function has a readable counterpart here that tests prove
equal to it: :func:`learn_merges_naive` (recount everything after each merge) beside :func:`learn_merges`
(incremental counts, an index of the words holding each pair, a heap), and :func:`encode_word` (rescan the
pairs after each merge) beside :func:`encode_word_heap` (long words) and :func:`encode_words` (many words at
once, with numpy). NumPy is imported only where it is used, and only for inputs large enough to repay its import
(about 0.1 s): training on a small file imports none.

References: Sennrich, Haddow and Birch (2016), "Neural Machine Translation of Rare Words with Subword Units";
Gage (1994), "A New Algorithm for Data Compression".
"""

from __future__ import annotations

import contextlib
import gc
import heapq
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from itertools import chain
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import numpy as np

SHIFT = 32  # a pair (x, y) is x << SHIFT | y; symbol ids stay far below 2**32
MASK = (1 << SHIFT) - 1
NO_MERGE = 1 << 62  # the rank of a pair that was never merged: larger than every real rank
LONG_WORD = 64  # words longer than this are encoded with a heap instead of rescanning their pairs
BATCH_MIN = 64  # encode_words hands smaller batches to encode_word one by one
# _initial_pairs counts in Python below this many symbols: 0.7 us a symbol against NumPy's 0.47, so NumPy's import
# (about 0.1 s) is repaid from about 400,000 symbols on
NUMPY_MIN_SYMBOLS = 400_000


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a block.

    Training and encoding allocate millions of small lists and tuples, none of them in reference cycles; every
    collection the allocations trigger would walk all of them, 10-30% of the run time on WikiText-2.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Merge(NamedTuple):
    """One learned merge: symbols ``a`` and ``b`` became ``new``; ``count`` was ``c(a, b)`` when it was made."""

    a: int
    b: int
    new: int
    count: int


def pair_counts(words: Sequence[Sequence[int]], freqs: Sequence[int]) -> Counter[tuple[int, int]]:
    """``c(x, y)``: every adjacent pair of symbols, weighted by the frequency of its word.

    >>> pair_counts([[1, 2, 3], [1, 2]], [5, 2])
    Counter({(1, 2): 7, (2, 3): 5})
    >>> pair_counts([[7, 7, 7]], [1])  # overlapping occurrences both count
    Counter({(7, 7): 2})
    """
    counts: Counter[tuple[int, int]] = Counter()
    for word, f in zip(words, freqs):
        for pair in zip(word, word[1:]):
            counts[pair] += f
    return counts


def merge_pair(ids: Sequence[int], pair: tuple[int, int], new: int) -> list[int]:
    """Replace every occurrence of ``pair`` in ``ids`` by ``new``, left to right.

    >>> merge_pair([1, 2, 3, 1, 2], (1, 2), 4)
    [4, 3, 4]
    >>> merge_pair([7, 7, 7], (7, 7), 8)  # left to right: the first two merge, the third is left
    [8, 7]
    """
    out = []
    i = 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def learn_merges_naive(
    words: list[list[int]],
    freqs: Sequence[int],
    symbols: list[bytes],
    max_symbols: int,
    *,
    min_frequency: int = 2,
    frozen: frozenset[int] = frozenset(),
    forbidden: frozenset[bytes] = frozenset(),
) -> list[Merge]:
    """The textbook algorithm: recount every pair after every merge. Slow; the reference for tests.

    ``words`` (lists of symbol ids) are merged in place and ``symbols`` (the byte string of each id) grows; see
    :func:`learn_merges` for the arguments. The lecture example, with symbols for ``a b c d``:

    >>> symbols = [b"a", b"b", b"c", b"d"]
    >>> words = [[0, 0, 0, 1, 3, 0, 0, 0, 1, 0, 2]]  # "aaabdaaabac"
    >>> [(symbols[m.a], symbols[m.b], m.count) for m in learn_merges_naive(words, [1], symbols, 100)]
    [(b'a', b'a', 4), (b'a', b'b', 2), (b'aa', b'ab', 2)]
    >>> words, symbols[4:]
    ([[6, 3, 6, 0, 2]], [b'aa', b'ab', b'aaab'])
    """
    index = {s: i for i, s in enumerate(symbols)}
    merges: list[Merge] = []
    banned: set[tuple[int, int]] = set()
    while len(symbols) < max_symbols:
        counts = pair_counts(words, freqs)
        candidates = [(c, p) for p, c in counts.items() if p not in banned]
        if not candidates:
            break
        # Largest count first; among equal counts the smallest (str(x), str(y)).
        count, (x, y) = min(candidates, key=lambda cp: (-cp[0], symbols[cp[1][0]], symbols[cp[1][1]]))
        if count < min_frequency:
            break
        text = symbols[x] + symbols[y]
        if x in frozen or y in frozen or text in forbidden:
            banned.add((x, y))
            continue
        new = index.get(text)
        if new is None:
            new = index[text] = len(symbols)
            symbols.append(text)
        merges.append(Merge(x, y, new, count))
        words[:] = [merge_pair(w, (x, y), new) for w in words]
    return merges


def learn_merges(
    words: list[list[int]],
    freqs: Sequence[int],
    symbols: list[bytes],
    max_symbols: int,
    *,
    min_frequency: int = 2,
    frozen: frozenset[int] = frozenset(),
    forbidden: frozenset[bytes] = frozenset(),
    tie_keys: list[int] | None = None,
    progress: bool | None = None,
) -> list[Merge]:
    """Learn merges until there are ``max_symbols`` symbols or no pair occurs ``min_frequency`` times.

    ``words`` are the distinct words as lists of symbol ids, ``freqs`` their frequencies, ``symbols`` the byte
    string of every id (specials included, so that a merge spelling one reuses its id); ``words`` are merged in
    place and ``symbols`` grows. Pairs containing a ``frozen`` id, and pairs whose merge would spell a
    ``forbidden`` string, are never merged. ``tie_keys`` (one int per symbol; new symbols rank after all old
    ones, in creation order) replaces the string order among equally frequent pairs: with the ids in the order
    HuggingFace's ``BpeTrainer`` gives them, this reproduces its merges (checked on WikiText-2). ``progress``:
    a tqdm bar (``None``: only on a terminal, after a second).

    Same result as :func:`learn_merges_naive`, in time proportional to the symbols a merge touches rather than
    to the corpus: ``c(x, y)`` is kept up to date by the local changes each merge makes, an index records which
    words hold each pair, and a max-heap of ``(c, str(x), str(y))`` gives the next pair, its stale entries
    (counts that have since fallen) corrected when they reach the top. A merge of ``(a, b)`` into ``n`` only
    lowers the counts of pairs without ``n`` and only raises pairs with ``n``, so after each merge only the
    pairs holding ``n`` need new heap entries.

    >>> symbols = [b"a", b"b", b"c", b"d"]
    >>> words = [[0, 0, 0, 1, 3, 0, 0, 0, 1, 0, 2]]  # "aaabdaaabac"
    >>> [(m.a, m.b, m.new, m.count) for m in learn_merges(words, [1], symbols, 100)]
    [(0, 0, 4, 4), (0, 1, 5, 2), (4, 5, 6, 2)]
    """
    index = {s: i for i, s in enumerate(symbols)}
    keys: list = list(symbols) if tie_keys is None else list(tie_keys)
    next_key = 0 if tie_keys is None else max(tie_keys, default=-1) + 1

    # c(x, y), and for each pair the words that hold it: a list with repeats, and words that have since lost
    # the pair stay in it (cheaper to skip them when visited than to keep the index exact).
    counts, where = _initial_pairs(words, freqs)
    heap = [(-c, keys[k >> SHIFT], keys[k & MASK], k) for k, c in counts.items()]
    heapq.heapify(heap)

    merges: list[Merge] = []
    show = _stderr_is_tty() if progress is None else progress
    bar = None
    if show:  # tqdm is imported only to draw a bar
        from tqdm import tqdm

        bar = tqdm(
            total=max(max_symbols - len(symbols), 0),
            desc="BPE merges",
            unit="merge",
            delay=1.0 if progress is None else 0.0,  # automatic bars only for trainings longer than a second
            leave=False,
        )
    heappop, heapreplace = heapq.heappop, heapq.heapreplace
    while len(symbols) < max_symbols and heap:
        neg, ka, kb, k = heap[0]
        c = counts.get(k, 0)
        if c != -neg:  # stale: the count fell since this entry was pushed
            if c > 0:
                heapreplace(heap, (-c, ka, kb, k))
            else:
                heappop(heap)
            continue
        if c < min_frequency:
            break
        heappop(heap)
        a, b = k >> SHIFT, k & MASK
        text = symbols[a] + symbols[b]
        if a in frozen or b in frozen or text in forbidden:
            continue  # dropped from the heap; back only if a later merge raises its count
        new = index.get(text)
        if new is None:
            new = index[text] = len(symbols)
            symbols.append(text)
            keys.append(text if tie_keys is None else next_key + len(merges))
            if bar is not None:
                bar.update()
        merges.append(Merge(a, b, new, c))
        _merge_everywhere(words, freqs, set(where.pop(k)), a, b, new, counts, where, heap, keys)
        del counts[k]
    if bar is not None:
        bar.close()
    return merges


def _initial_pairs(
    words: Sequence[Sequence[int]], freqs: Sequence[int]
) -> tuple[defaultdict[int, int], defaultdict[int, list[int]]]:
    """``c(x, y)`` of every pair (keyed ``x << 32 | y``) and the words holding it (one entry an occurrence, in
    word order): :func:`_initial_pairs_python` below ``NUMPY_MIN_SYMBOLS`` symbols, else
    :func:`_initial_pairs_numpy`; the same result.

    >>> counts, where = _initial_pairs([[1, 2, 3], [1, 2]], [5, 2])
    >>> dict(counts) == {1 << 32 | 2: 7, 2 << 32 | 3: 5}, dict(where) == {1 << 32 | 2: [0, 1], 2 << 32 | 3: [0]}
    (True, True)
    """
    if sum(map(len, words)) < NUMPY_MIN_SYMBOLS:
        return _initial_pairs_python(words, freqs)
    return _initial_pairs_numpy(words, freqs)


def _initial_pairs_python(
    words: Sequence[Sequence[int]], freqs: Sequence[int]
) -> tuple[defaultdict[int, int], defaultdict[int, list[int]]]:
    """:func:`_initial_pairs`, one pair at a time.

    >>> counts, where = _initial_pairs_python([[7, 7, 7]], [3])
    >>> dict(counts) == {7 << 32 | 7: 6}, dict(where) == {7 << 32 | 7: [0, 0]}
    (True, True)
    """
    counts: defaultdict[int, int] = defaultdict(int)
    where: defaultdict[int, list[int]] = defaultdict(list)
    for w, (word, f) in enumerate(zip(words, freqs)):
        for x, y in zip(word, word[1:]):
            k = x << SHIFT | y
            counts[k] += f
            where[k].append(w)
    return counts, where


def _initial_pairs_numpy(
    words: Sequence[Sequence[int]], freqs: Sequence[int]
) -> tuple[defaultdict[int, int], defaultdict[int, list[int]]]:
    """:func:`_initial_pairs` with numpy: every pair of the corpus at once, grouped by ``np.unique``.

    >>> counts, where = _initial_pairs_numpy([[7, 7, 7]], [3])
    >>> dict(counts) == {7 << 32 | 7: 6}, dict(where) == {7 << 32 | 7: [0, 0]}
    (True, True)
    """
    import numpy as np

    n = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    sym = np.fromiter(chain.from_iterable(words), dtype=np.int64, count=int(n.sum()))  # (N,)
    word = np.repeat(np.arange(len(words)), n)  # (N,)
    inner = np.flatnonzero(word[:-1] == word[1:])  # (P,) pair positions
    pair_word = word[inner]
    keys, pair = np.unique(sym[inner] << SHIFT | sym[inner + 1], return_inverse=True)
    weight = np.asarray(freqs, dtype=np.int64)[pair_word]
    total = np.zeros(len(keys), dtype=np.int64)
    np.add.at(total, pair, weight)
    counts: defaultdict[int, int] = defaultdict(int, zip(keys.tolist(), total.tolist()))
    holders = pair_word[np.argsort(pair, kind="stable")].tolist()
    ends = np.cumsum(np.bincount(pair, minlength=len(keys))).tolist()
    where: defaultdict[int, list[int]] = defaultdict(list)
    for k, start, end in zip(keys.tolist(), [0, *ends], ends):
        where[k] = holders[start:end]
    return counts, where


def _merge_everywhere(
    words: list[list[int]],
    freqs: Sequence[int],
    holders: set[int],
    a: int,
    b: int,
    new: int,
    counts: dict[int, int],
    where: dict[int, list[int]],
    heap: list,
    keys: list,
) -> None:
    """Merge ``(a, b)`` into ``new`` in the words ``holders`` (a superset of those holding the pair), update
    ``counts`` and ``where``, and push the pairs whose count rose (all of them hold ``new``) onto ``heap``.

    Each occurrence ``... p a b q ...  ->  ... p new q ...`` lowers ``c(p, a)`` and ``c(b, q)`` and raises
    ``c(p, new)`` and ``c(new, q)`` by the word's frequency; ``c(a, b)`` itself is deleted by the caller.
    """
    raised: defaultdict[int, list[int]] = defaultdict(list)  # pair -> words where its count rose
    b_hi, new_hi = b << SHIFT, new << SHIFT
    for w in holders:
        word = words[w]
        n_a = word.count(a)  # occurrences of a still to look at; 0 when the word has lost the pair
        start = 0
        while n_a:
            j = word.index(a, start)
            n_a -= 1
            start = j + 1
            if j + 1 < len(word) and word[j + 1] == b:
                f = freqs[w]
                if j:
                    p_hi = word[j - 1] << SHIFT  # may be `new`, made by the previous occurrence
                    counts[p_hi | a] -= f
                    kn = p_hi | new
                    counts[kn] += f
                    raised[kn].append(w)
                if j + 2 < len(word):
                    q = word[j + 2]
                    counts[b_hi | q] -= f
                    kn = new_hi | q
                    counts[kn] += f
                    raised[kn].append(w)
                word[j : j + 2] = [new]
                if a == b:
                    n_a -= 1  # the b just merged was an a too
    for kn, holders_of_kn in raised.items():
        where[kn] += holders_of_kn
        c = counts[kn]
        if c > 0:
            heapq.heappush(heap, (-c, keys[kn >> SHIFT], keys[kn & MASK], kn))


def _stderr_is_tty() -> bool:
    import sys

    return hasattr(sys.stderr, "isatty") and sys.stderr.isatty()


def merge_ranks(merges: Sequence[tuple[int, int, int]]) -> tuple[dict[int, int], list[int]]:
    """The encoder's tables: ``ranks[x << 32 | y]`` is the index of the merge of ``(x, y)``, ``new[rank]`` its
    result. A pair merged twice (possible when two merges spell the same token) keeps its later rank, as in
    HuggingFace tokenizers.

    >>> ranks, new = merge_ranks([(0, 0, 4), (0, 1, 5)])
    >>> ranks == {0 << 32 | 0: 0, 0 << 32 | 1: 1}, new
    (True, [4, 5])
    """
    ranks = {a << SHIFT | b: r for r, (a, b, _) in enumerate(merges)}
    return ranks, [n for _, _, n in merges]


def encode_word(ids: list[int], ranks: dict[int, int], new: Sequence[int]) -> list[int]:
    """Apply merges by rank to one word: merge the learned-earliest adjacent pair (leftmost on a tie) until none.

    With the merges of "aaabdaaabac" (``a=0, b=1``: ``(a, a) -> 4``, ``(a, b) -> 5``, ``(aa, ab) -> 6``):

    >>> ranks, new = merge_ranks([(0, 0, 4), (0, 1, 5), (4, 5, 6)])
    >>> encode_word([0, 0, 0, 1, 3], ranks, new), encode_word([0, 0, 0, 0, 0], ranks, new)
    ([6, 3], [4, 4, 0])

    Words longer than ``LONG_WORD`` go to :func:`encode_word_heap`, which gives the same result in
    ``O(n log n)`` instead of this ``O(n^2)`` rescan.
    """
    if len(ids) > LONG_WORD:
        return encode_word_heap(ids, ranks, new)
    get = ranks.get
    ids = list(ids)
    rs = [get(x << SHIFT | y, NO_MERGE) for x, y in zip(ids, ids[1:])]  # rs[i]: rank of (ids[i], ids[i+1])
    while rs:
        r = min(rs)
        if r == NO_MERGE:
            break
        i = rs.index(r)
        m = new[r]
        ids[i : i + 2] = [m]
        # Pairs i-1 and i+1 changed: (ids[i-1], m) and (m, ids[i+1]) replace three old pairs.
        fresh = []
        if i > 0:
            fresh.append(get(ids[i - 1] << SHIFT | m, NO_MERGE))
        if i + 1 < len(ids):
            fresh.append(get(m << SHIFT | ids[i + 1], NO_MERGE))
        rs[max(i - 1, 0) : i + 2] = fresh
    return ids


def encode_word_heap(ids: Sequence[int], ranks: dict[int, int], new: Sequence[int]) -> list[int]:
    """:func:`encode_word` for long words: a linked list of symbols and a heap of ``(rank, position)``.

    >>> ranks, new = merge_ranks([(0, 0, 4), (0, 1, 5), (4, 5, 6)])
    >>> encode_word_heap([0, 0, 0, 1, 3], ranks, new)
    [6, 3]
    """
    n = len(ids)
    sym = list(ids)
    nxt = list(range(1, n + 1))  # nxt[i] == n: i is the last symbol
    prv = list(range(-1, n - 1))
    alive = [True] * n
    get = ranks.get
    heap = [(r, i) for i in range(n - 1) if (r := get(sym[i] << SHIFT | sym[i + 1], NO_MERGE)) != NO_MERGE]
    heapq.heapify(heap)
    while heap:
        r, i = heapq.heappop(heap)
        j = nxt[i]
        # Skip entries whose pair has changed since they were pushed.
        if not alive[i] or j >= n or get(sym[i] << SHIFT | sym[j], NO_MERGE) != r:
            continue
        m = sym[i] = new[r]
        alive[j] = False
        nxt[i] = nxt[j]
        if nxt[j] < n:
            prv[nxt[j]] = i
        if prv[i] >= 0 and (rl := get(sym[prv[i]] << SHIFT | m, NO_MERGE)) != NO_MERGE:
            heapq.heappush(heap, (rl, prv[i]))
        if nxt[i] < n and (rr := get(m << SHIFT | sym[nxt[i]], NO_MERGE)) != NO_MERGE:
            heapq.heappush(heap, (rr, i))
    return [s for s, keep in zip(sym, alive) if keep]


def encode_words(words: Sequence[Sequence[int]], ranks: dict[int, int], new: Sequence[int]) -> list[list[int]]:
    """:func:`encode_word` for many words at once, the same result faster: numpy does one merge step of every
    word per round (its earliest-learned pair, leftmost on a tie), and words with nothing left to merge leave
    the batch. Small batches and long words go to :func:`encode_word` one by one.

    >>> ranks, new = merge_ranks([(0, 0, 4), (0, 1, 5), (4, 5, 6)])
    >>> encode_words([[0, 0, 0, 1, 3], [0, 0, 0, 0, 0], [2]] * 20, ranks, new)[:3]
    [[6, 3], [4, 4, 0], [2]]
    """
    out: list[list[int] | None] = [None] * len(words)
    short = [i for i, w in enumerate(words) if len(w) <= LONG_WORD]
    if len(short) < BATCH_MIN or not ranks:
        short = []
    for i in set(range(len(words))).difference(short):
        out[i] = encode_word(list(words[i]), ranks, new)
    if not short:
        return out  # type: ignore[return-value]

    import numpy as np

    keys = np.fromiter(ranks.keys(), dtype=np.int64, count=len(ranks))
    order = np.argsort(keys)
    keys, key_rank = keys[order], np.fromiter(ranks.values(), dtype=np.int64, count=len(ranks))[order]
    new_id = np.asarray(new, dtype=np.int64)

    def rank_of(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        k = x << SHIFT | y
        at = np.minimum(np.searchsorted(keys, k), len(keys) - 1)
        return np.where(keys[at] == k, key_rank[at], NO_MERGE)

    n = np.fromiter((len(words[i]) for i in short), dtype=np.int64, count=len(short))
    sym = np.fromiter(chain.from_iterable(words[i] for i in short), dtype=np.int64, count=int(n.sum()))  # (N,)
    word = np.repeat(np.arange(len(short)), n)  # (N,) which word each symbol belongs to
    rank = np.full(len(sym), NO_MERGE)  # (N,) rank of the pair (sym[i], sym[i+1]) within a word
    inner = np.flatnonzero(word[:-1] == word[1:])
    rank[inner] = rank_of(sym[inner], sym[inner + 1])
    done_sym, done_word = [], []
    while True:
        pos = np.flatnonzero(rank < NO_MERGE)  # mergeable pairs, in order
        if not len(pos):
            done_sym.append(sym)
            done_word.append(word)
            break
        # Per word: the smallest rank, and the leftmost position holding it.
        pos_word = word[pos]
        new_group = np.r_[True, pos_word[1:] != pos_word[:-1]]
        smallest = np.minimum.reduceat(rank[pos], np.flatnonzero(new_group))[np.cumsum(new_group) - 1]
        best = pos[rank[pos] == smallest]
        best_word = word[best]
        best = best[np.r_[True, best_word[1:] != best_word[:-1]]]
        # Words without a mergeable pair are finished.
        active = np.zeros(len(short), dtype=bool)
        active[word[best]] = True
        finished = ~active[word]
        done_sym.append(sym[finished])
        done_word.append(word[finished])
        # Merge: the left symbol becomes the new one, the right one goes; re-rank the pairs on either side.
        sym[best] = new_id[rank[best]]
        after = best + 2
        right = after < len(sym)
        right[right] = word[after[right]] == word[best[right]]
        rank[best] = NO_MERGE
        rank[best[right]] = rank_of(sym[best[right]], sym[after[right]])
        before = best - 1
        left = before >= 0
        left[left] = word[before[left]] == word[best[left]]
        rank[before[left]] = rank_of(sym[before[left]], sym[best[left]])
        keep = active[word]
        keep[best + 1] = False
        sym, word, rank = sym[keep], word[keep], rank[keep]
    sym, word = np.concatenate(done_sym), np.concatenate(done_word)
    flat = sym[np.argsort(word, kind="stable")].tolist()
    ends = np.cumsum(np.bincount(word, minlength=len(short))).tolist()
    for i, start, end in zip(short, [0, *ends], ends):
        out[i] = flat[start:end]
    return out  # type: ignore[return-value]


class IdTable:
    """Token-id sequences kept as the rows of one flat numpy table, so that many rows are gathered at once.

    >>> import numpy as np
    >>> table = IdTable()
    >>> table.add((5, 6)), table.add(()), table.add((7,))
    (0, 1, 2)
    >>> table.gather(np.array([2, 0, 1, 0])).tolist()
    [7, 5, 6, 5, 6]
    """

    def __init__(self) -> None:
        self.rows: list[tuple[int, ...]] = []
        # Made on the first gather (NumPy is imported then): every row's ids, one after the other; where each
        # row begins in _flat; its length.
        self._flat: np.ndarray | None = None
        self._start: np.ndarray | None = None
        self._len: np.ndarray | None = None

    def add(self, ids: tuple[int, ...]) -> int:
        self.rows.append(ids)
        return len(self.rows) - 1

    def gather(self, rows: np.ndarray) -> np.ndarray:
        """The ids of ``rows``, concatenated: output position ``t`` of row ``r`` reads ``_flat[_start[r] + t]``."""
        import numpy as np

        self._sync()
        n = self._len[rows]  # (R,)
        out_start = np.cumsum(n) - n
        return self._flat[np.repeat(self._start[rows] - out_start, n) + np.arange(int(n.sum()))]

    def _sync(self) -> None:
        import numpy as np

        if self._len is None:
            self._flat, self._start, self._len = np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, np.int64)
        new = self.rows[len(self._len) :]
        if new:
            n = np.fromiter(map(len, new), dtype=np.int64, count=len(new))
            self._start = np.concatenate([self._start, len(self._flat) + np.cumsum(n) - n])
            self._len = np.concatenate([self._len, n])
            ids = np.fromiter(chain.from_iterable(new), dtype=np.int32, count=int(n.sum()))
            self._flat = np.concatenate([self._flat, ids])
