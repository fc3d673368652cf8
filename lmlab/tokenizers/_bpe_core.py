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
one int is cheaper than hashing a tuple. Each fast function has a short readable counterpart here that tests
prove equal to it: :func:`learn_merges_naive` beside :func:`learn_merges`, the ``O(n^2)`` scan beside the
heap in :func:`encode_word`.

References: Sennrich, Haddow and Birch (2016), "Neural Machine Translation of Rare Words with Subword Units";
Gage (1994), "A New Algorithm for Data Compression".
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from tqdm import tqdm

SHIFT = 32  # a pair (x, y) is x << SHIFT | y; symbol ids stay far below 2**32
MASK = (1 << SHIFT) - 1
NO_MERGE = 1 << 62  # the rank of a pair that was never merged: larger than every real rank
LONG_WORD = 64  # words longer than this are encoded with a heap instead of rescanning their pairs


@dataclass(frozen=True)
class Merge:
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
    HuggingFace's ``BpeTrainer`` gives them, this is exactly its algorithm. ``progress``: a tqdm bar
    (``None``: only on a terminal, after a second).

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

    # c(x, y) and, for each pair, the words that hold it (a superset: words that lost it stay listed).
    counts: dict[int, int] = defaultdict(int)
    where: dict[int, set[int]] = defaultdict(set)
    for w, word in enumerate(words):
        f = freqs[w]
        for x, y in zip(word, word[1:]):
            k = x << SHIFT | y
            counts[k] += f
            where[k].add(w)
    heap = [(-c, keys[k >> SHIFT], keys[k & MASK], k) for k, c in counts.items()]
    heapq.heapify(heap)

    merges: list[Merge] = []
    bar = tqdm(total=max(max_symbols - len(symbols), 0), desc="BPE merges", unit="merge", disable=progress is False,
               delay=0 if progress else 1.0, leave=False) if progress is not False else None  # fmt: skip
    if progress is None and bar is not None and not bar.disable:
        bar.disable = not _stderr_is_tty()
    heappop, heappush, heapreplace = heapq.heappop, heapq.heappush, heapq.heapreplace
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

        raised: set[int] = set()
        for w in where.pop(k):
            word = words[w]
            n = len(word)
            f = freqs[w]
            out: list[int] = []
            i = 0
            while True:
                try:
                    j = word.index(a, i)
                except ValueError:
                    break
                if j + 1 < n and word[j + 1] == b:
                    # ... p a b q ...  ->  ... p n q ...: c(p, a), c(b, q) fall; c(p, n), c(n, q) rise.
                    out += word[i:j]
                    if out:
                        p = out[-1]
                        counts[p << SHIFT | a] -= f
                        kn = p << SHIFT | new
                        counts[kn] += f
                        where[kn].add(w)
                        raised.add(kn)
                    if j + 2 < n:
                        q = word[j + 2]
                        counts[b << SHIFT | q] -= f
                        kn = new << SHIFT | q
                        counts[kn] += f
                        where[kn].add(w)
                        raised.add(kn)
                    out.append(new)
                    i = j + 2
                else:
                    out += word[i : j + 1]
                    i = j + 1
            if i:  # i > 0 only if the pair occurred
                out += word[i:]
                words[w] = out
        del counts[k]
        for kn in raised:
            c = counts[kn]
            if c > 0:
                heappush(heap, (-c, keys[kn >> SHIFT], keys[kn & MASK], kn))
    if bar is not None:
        bar.close()
    return merges


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
