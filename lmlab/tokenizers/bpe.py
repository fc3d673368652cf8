"""Byte Pair Encoding tokenizer: subword units learned by merging the most frequent pair of symbols.

Training (the algorithm itself is in :mod:`lmlab.tokenizers._bpe_core`):

1. Split the corpus into words: at whitespace in *character mode*; with the GPT-2 regex in *byte-level mode*,
   where a word keeps its leading space (``" the"``) so that the text can be rebuilt exactly. Merges never
   cross a word boundary; each distinct word is processed once, weighted by its frequency ``f(w)``.
2. Start from single symbols: every character of the corpus (character mode) or the 256 byte values
   (byte-level mode).
3. Count every adjacent pair of symbols, ``c(x, y) = sum_w f(w) * #(x y in w)``; merge the most frequent pair
   into a new symbol, ties going to the smallest ``(str(x), str(y))`` (byte strings in byte-level mode).
4. Repeat until the vocabulary has ``vocab_size`` tokens or no pair occurs ``min_frequency`` times.

Encoding splits a line into words the same way and applies the merges to each word by rank, earliest first; a
cache remembers words already encoded.

Vocabulary layout (``vocab_size`` counts every id, special tokens included):

- character mode: ``<unk>`` 0, ``<s>`` 1, ``</s>`` 2, the word separator ``" "`` 3, then the characters of the
  training text in code-point order, then one token per merge. Words are separated by the separator token, so
  decoding gives the words with one space between them (runs of whitespace become one space, and leading or
  trailing whitespace is dropped). A character never seen in training is ``<unk>`` and counted as
  out-of-vocabulary. A merge that spells ``<unk>`` (text such as WikiText's own ``<unk>`` marker) is the
  ``<unk>`` token, as in a word vocabulary; merges that would spell ``<s>`` or ``</s>`` are never made.
- byte-level mode: the 256 bytes are ids 0-255, merges follow from 256, and ``<unk>``, ``<s>``, ``</s>`` come
  last. Every string round-trips: ``decode(encode(x)) == x``.

A merge whose result spells an existing token reuses that token's id (one string, one token), as HuggingFace
tokenizers does; such a merge adds no token. :meth:`BPETokenizer.to_huggingface` writes the
``tokenizers`` JSON format, which reproduces lmlab's ids exactly. HuggingFace's ``BpeTrainer`` breaks ties
differently (the pair of the earliest-created tokens: "low lower newest widest" gives ``es``, ``lo``, ``est``,
``low``); ``train(..., tie_break="huggingface")`` follows that rule and then learns exactly its merges.

References: Sennrich, Haddow and Birch (2016), "Neural Machine Translation of Rare Words with Subword Units";
Radford et al. (2019), "Language Models are Unsupervised Multitask Learners" (byte-level BPE, GPT-2).
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import chain, compress, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmlab.errors import LmlabError
from lmlab.io import atomic_open, write_json
from lmlab.tokenizers import _bpe_core as core
from lmlab.tokenizers.base import BOS, EOS, SPECIALS, UNK, EncodedText, Tokenizer

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

BPE_VERSION = 1  # version of the "bpe" part of the tokenizer file (the file envelope has its own)
SEPARATOR = " "  # character mode: the token between two words
SEPARATOR_ID = 3
CACHE_LIMIT = 1 << 20  # words kept in an encode cache before it is emptied
CHUNK_LINES = 1 << 13  # encode_lines works on this many lines at a time (bounds its temporary lists)
EOS_ROW = 0  # the row of </s> in the encode table

# Unicode White_Space other than the space itself: GPT-2's \s, and where the fast split at " " does not apply.
_OTHER_WHITESPACE = "\t\n\x0b\x0c\r\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_OTHER_WHITESPACE_RE = re.compile(f"[{_OTHER_WHITESPACE}]")
_OTHER_WHITESPACE_BUT_NEWLINE_RE = re.compile(f"[{_OTHER_WHITESPACE.replace(chr(10), '')}]")


def bytes_to_unicode() -> list[str]:
    """GPT-2's printable stand-in for each byte value, used to write byte-level tokens as text.

    Printable Latin-1 bytes stand for themselves; the others (controls, space, ...) are shifted to U+0100 on.

    >>> table = bytes_to_unicode()
    >>> table[ord("a")], table[ord(" ")], table[ord("\\n")], len(set(table))
    ('a', 'Ġ', 'Ċ', 256)
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in printable}
    shifted = (b for b in range(256) if b not in table)
    for n, b in enumerate(shifted):
        table[b] = chr(256 + n)
    return [table[b] for b in range(256)]


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in enumerate(BYTE_TO_CHAR)}


@functools.cache
def gpt2_regex() -> re.Pattern[str]:
    r"""GPT-2's pre-tokenizer, ``'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+``.

    Python's ``re`` has no ``\p{...}``, so the letter and number classes are spelled out from
    :mod:`unicodedata` (built once, about 0.2 s), and ``\s`` is Unicode White_Space as in the original.

    >>> gpt2_regex().findall("Hello world's  1984 café!!")
    ['Hello', ' world', "'s", ' ', ' 1984', ' café', '!!']
    """
    letters, numbers = _unicode_classes()
    ws = f" {_OTHER_WHITESPACE}"
    return re.compile(
        rf"'s|'t|'re|'ve|'m|'ll|'d| ?[{letters}]+| ?[{numbers}]+| ?[^{ws}{letters}{numbers}]+"
        rf"|[{ws}]+(?![^{ws}])|[{ws}]+"
    )


def _unicode_classes() -> tuple[str, str]:
    """Regex character classes (without brackets) for ``\\p{L}`` and ``\\p{N}``."""
    import unicodedata
    from array import array

    everything = range(sys.maxunicode + 1)
    text = array("I", everything).tobytes().decode("utf-32-le", "surrogatepass")  # every code point, in order
    letters = list(compress(everything, map(str.isalpha, text)))  # isalpha == L*
    numeric = compress(everything, map(str.isnumeric, text))
    numbers = [c for c in numeric if not text[c].isalpha() and unicodedata.category(text[c])[0] == "N"]
    return _char_class(letters), _char_class(numbers)


def _char_class(codes: Sequence[int]) -> str:
    """A regex character class body (no brackets) for increasing code points, runs written as ranges.

    >>> _char_class([97, 98, 99, 100, 120, 122])
    'a-dxz'
    """
    out = []
    start = 0
    for i in range(1, len(codes) + 1):
        if i == len(codes) or codes[i] != codes[i - 1] + 1:  # a run codes[start:i] ends here
            s, e = codes[start], codes[i - 1]
            out.append(re.escape(chr(s)) if s == e else f"{re.escape(chr(s))}-{re.escape(chr(e))}")
            start = i
    return "".join(out)


def _to_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


class BPETokenizer(Tokenizer):
    """Byte Pair Encoding, in character mode (default) or byte-level mode (``byte_level=True``).

    The lecture example: "low lower newest widest" learns ``es``, ``est``, ``lo``, ``low`` and stops, since no
    pair occurs twice after that.

    >>> tok = BPETokenizer.train(["low lower newest widest"], vocab_size=100)
    >>> tok.merges
    [('e', 's'), ('es', 't'), ('l', 'o'), ('lo', 'w')]
    """

    kind = "bpe"

    def __init__(
        self,
        merges: Iterable[Sequence[str]],
        *,
        byte_level: bool = False,
        alphabet: Iterable[str] = (),
        merge_counts: Sequence[int] | None = None,
        min_frequency: int = 2,
    ):
        """Build from learned merges (pairs of token strings, in order) and, in character mode, the alphabet.

        In byte-level mode a token string is written with GPT-2's stand-ins for bytes (see
        :func:`bytes_to_unicode`): ``("Ġ", "t")`` is the merge of a space and ``t``.
        """
        self.byte_level = bool(byte_level)
        self.min_frequency = min_frequency
        self._alphabet: list[str] = [] if self.byte_level else list(alphabet)
        tokens = list(BYTE_TO_CHAR) if self.byte_level else [*SPECIALS, SEPARATOR, *self._alphabet]
        self._n_base = len(tokens)  # tokens before the first merge
        index = {t: i for i, t in enumerate(tokens)}
        if len(index) != len(tokens):
            raise LmlabError("BPE alphabet has repeated or reserved characters")
        self._merges: list[tuple[str, str]] = []
        triples = []
        for r, pair in enumerate(merges):
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
                raise LmlabError(f"BPE merge {r} is {pair!r}, not a pair of token strings")
            x, y = pair
            a, b = index.get(x), index.get(y)
            if a is None or b is None:
                raise LmlabError(f"BPE merge {r} {(x, y)!r} uses a token that no earlier merge defines")
            new = index.get(x + y)
            if new is None:
                new = index[x + y] = len(tokens)
                tokens.append(x + y)
            triples.append((a, b, new))
            self._merges.append((x, y))
        self._merge_new = [new for _, _, new in triples]  # the token each merge made (or reused)
        if self.byte_level:
            if any(s in index for s in SPECIALS):
                raise LmlabError("corrupted BPE tokenizer data: a merge spells a special token")
            self.unk_id, self.bos_id, self.eos_id = range(len(tokens), len(tokens) + len(SPECIALS))
            self._bytes = [bytes(map(CHAR_TO_BYTE.__getitem__, t)) for t in tokens]
            self._bytes += [_to_bytes(s) for s in SPECIALS]
            tokens += SPECIALS
        else:
            self._char_ids = {c: i for i, c in enumerate(self._alphabet, start=SEPARATOR_ID + 1)}
        self._tokens = tokens
        self._index = {t: i for i, t in enumerate(self._tokens)}
        self._ranks, self._merged = core.merge_ranks(triples)
        self.merge_counts = list(merge_counts) if merge_counts is not None else None
        # Encode caches. A line is cut into pieces (see _line_pieces); `first` and `rest` map a piece, as a
        # line's first piece and as a later one (after a separator or a space), to a row of `_table` holding
        # its ids (row 0 is </s>). `_words` caches single words (character mode) or GPT-2 pieces (byte-level).
        self._words: dict[str, tuple[int, ...]] = {}
        self._unseen = None
        if not self.byte_level:
            self._unseen = re.compile(f"[^\\s{_class_of(self._alphabet)}]" if self._alphabet else r"\S")
        self._reset_rows()

    @classmethod
    def train(
        cls,
        lines: Iterable[str],
        *,
        vocab_size: int,
        byte_level: bool = False,
        min_frequency: int = 2,
        tie_break: str = "lexicographic",
        progress: bool | None = None,
    ) -> BPETokenizer:
        """Learn merges from ``lines`` until there are ``vocab_size`` tokens (special tokens included) or no
        pair occurs ``min_frequency`` times. ``progress``: tqdm bar (default: on a terminal, after a second).

        ``tie_break`` chooses among equally frequent pairs: ``"lexicographic"`` (the definition: smallest
        ``(str(x), str(y))``) or ``"huggingface"`` (the pair of the earliest-created tokens, alphabet in
        code-point order before merges, as HuggingFace's ``BpeTrainer`` does; only for comparisons with it).

        >>> tok = BPETokenizer.train(["aaabdaaabac"], vocab_size=300, byte_level=True)
        >>> tok.merges, tok.encode("aaabdaaabac"), tok.vocab_size
        ([('a', 'a'), ('a', 'b'), ('aa', 'ab')], [258, 100, 258, 97, 99], 262)
        """
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int):
            raise LmlabError(f"vocab_size must be an integer, got {vocab_size!r}")
        if isinstance(min_frequency, bool) or not isinstance(min_frequency, int) or min_frequency < 1:
            raise LmlabError(f"min_frequency must be an integer >= 1, got {min_frequency!r}")
        if tie_break not in ("lexicographic", "huggingface"):
            raise LmlabError(f"tie_break must be 'lexicographic' or 'huggingface', got {tie_break!r}")
        with core.gc_paused():
            return cls._train(list(lines), vocab_size, byte_level, min_frequency, tie_break, progress)

    @classmethod
    def _train(
        cls,
        lines: list[str],
        vocab_size: int,
        byte_level: bool,
        min_frequency: int,
        tie_break: str,
        progress: bool | None,
    ) -> BPETokenizer:
        word_counts = count_words(lines, byte_level=byte_level)
        if not word_counts:
            raise LmlabError(f"cannot train BPE on an empty corpus ({len(lines)} lines, no words)")
        if byte_level:
            symbols = [bytes([b]) for b in range(256)]
            words = [list(_to_bytes(w)) for w in word_counts]
            alphabet: list[str] = []
            n_base, what = 256 + len(SPECIALS), f"256 bytes + {len(SPECIALS)} special tokens"
            frozen: frozenset[int] = frozenset()
            forbidden = frozenset(_to_bytes(s) for s in SPECIALS)
        else:
            alphabet = sorted(set().union(*word_counts))
            symbols = [_to_bytes(s) for s in (*SPECIALS, SEPARATOR, *alphabet)]
            char_ids = {c: i for i, c in enumerate(alphabet, start=SEPARATOR_ID + 1)}
            words = [[char_ids[c] for c in w] for w in word_counts]
            n_base = len(symbols)
            what = f"{len(SPECIALS)} special tokens + the word separator + {len(alphabet)} characters"
            frozen = frozenset(range(SEPARATOR_ID + 1))
            forbidden = frozenset({_to_bytes(BOS), _to_bytes(EOS)})
        if vocab_size < n_base:
            raise LmlabError(
                f"vocab_size {vocab_size} is smaller than the initial vocabulary of this corpus ({what} = "
                f"{n_base}); use a vocab_size of at least {n_base}"
            )
        max_symbols = vocab_size - (len(SPECIALS) if byte_level else 0)
        tie_keys = None
        if tie_break == "huggingface":
            # HuggingFace numbers the special tokens, then the alphabet by code point, then the merges.
            if byte_level:
                by_char = sorted(range(256), key=lambda b: BYTE_TO_CHAR[b])
                tie_keys = [len(SPECIALS) + by_char.index(b) for b in range(256)]
            else:
                tie_keys = list(range(len(symbols)))  # lmlab's character-mode ids are already in that order
        merges = core.learn_merges(
            words,
            list(word_counts.values()),
            symbols,
            max_symbols,
            min_frequency=min_frequency,
            frozen=frozen,
            forbidden=forbidden,
            tie_keys=tie_keys,
            progress=progress,
        )
        if byte_level:
            as_text = ["".join(BYTE_TO_CHAR[c] for c in s) for s in symbols]
        else:
            as_text = [s.decode("utf-8", "surrogatepass") for s in symbols]
        tok = cls(
            [(as_text[m.a], as_text[m.b]) for m in merges],
            byte_level=byte_level,
            alphabet=alphabet,
            merge_counts=[m.count for m in merges],
            min_frequency=min_frequency,
        )
        # The training words end up merged exactly as the encoder would merge them, unless some token was made by
        # two different merges (then only replaying the merges by rank is right): reuse them as the encode cache.
        if len({m.new for m in merges}) == len(merges):
            tok._words.update(islice(zip(word_counts, map(tuple, words)), CACHE_LIMIT))
        log.info(
            "BPE: %d tokens (%d merges) from %d distinct words in %d lines",
            tok.vocab_size,
            len(merges),
            len(word_counts),
            len(lines),
        )
        return tok

    @property
    def vocab_size(self) -> int:
        return len(self._tokens)

    @property
    def merges(self) -> list[tuple[str, str]]:
        """The learned merges in order, as pairs of token strings (GPT-2 byte stand-ins in byte-level mode)."""
        return list(self._merges)

    @property
    def alphabet(self) -> list[str]:
        """Character mode: the characters of the training text (ids 4, 5, ...); empty in byte-level mode."""
        return list(self._alphabet)

    def id_to_token(self, i: int) -> str:
        return self._tokens[i]

    def token_to_id(self, token: str) -> int | None:
        """Id of the token spelled ``token`` (as :meth:`id_to_token` writes it), or ``None``."""
        return self._index.get(token)

    def token_text(self, i: int) -> str:
        """What token ``i`` stands for in the text (the bytes decoded, with escapes if they are not UTF-8)."""
        if not self.byte_level or i in (self.unk_id, self.bos_id, self.eos_id):
            return self._tokens[i]
        return self._bytes[i].decode("utf-8", "backslashreplace")

    def encode(self, text: str) -> list[int]:
        pieces = self._line_pieces(text)
        if not pieces:
            return []
        if len(self._table.rows) > CACHE_LIMIT:
            self._reset_rows()
        first_row = self._first[pieces[0]]
        rest_rows = [self._rest[p] for p in pieces[1:]]
        self._fill_rows()
        rows = self._table.rows
        return [*rows[first_row], *chain.from_iterable([rows[r] for r in rest_rows])]

    def _encode_counting_oov(self, text: str) -> tuple[list[int], int]:
        return self.encode(text), self.count_unseen(text)

    def count_unseen(self, text: str) -> int:
        """Characters of ``text`` (outside whitespace) never seen in training: each one is a ``<unk>``.

        >>> BPETokenizer.train(["low lower"], vocab_size=100).count_unseen("lowest  wé")
        3
        """
        return 0 if self._unseen is None else sum(1 for _ in self._unseen.finditer(text))

    def encode_lines(self, lines: Sequence[str]) -> EncodedText:
        """Encode a corpus into one id stream, ``</s>`` after every line; counts unseen characters.

        Each distinct word is encoded once (the new ones of a call together, see
        :func:`~lmlab.tokenizers._bpe_core.encode_words`) and cached; numpy then gathers the ids of every
        occurrence.

        >>> tok = BPETokenizer.train(["low lower newest widest"], vocab_size=100)
        >>> enc = tok.encode_lines(["lowest", "", "low é"])
        >>> enc.ids.tolist(), enc.n_lines, enc.n_oov
        ([17, 15, 2, 2, 17, 3, 0, 2], 3, 1)
        """
        import numpy as np  # here: training a tokenizer, or encoding a line, imports no NumPy

        ids = []
        n_oov = 0
        for i in range(0, len(lines), CHUNK_LINES):
            chunk = lines[i : i + CHUNK_LINES]
            with core.gc_paused():
                ids.append(self._encode_chunk(chunk))
            if self._unseen is not None:
                n_oov += self.count_unseen("\n".join(chunk))
        ids_array = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int32)
        return EncodedText(ids_array, len(lines), n_oov)

    def _line_pieces(self, line: str) -> list[str]:
        """A line cut for the caches: the first piece is looked up as it is, the others after a separator
        (character mode) or a space (byte-level mode; a line whose whitespace is not single spaces is one piece
        that goes through the GPT-2 regex whole)."""
        if not self.byte_level:
            return line.split()
        if _needs_regex(line):
            return [line]
        return line.split(" ")

    def _encode_chunk(self, lines: Sequence[str]) -> np.ndarray:
        import numpy as np

        if not self.byte_level:
            per_line = [line.split() for line in lines]
        else:
            if not any_needs_regex(lines):
                per_line = [line.split(" ") for line in lines]
            else:
                per_line = [self._line_pieces(line) for line in lines]
        if len(self._table.rows) > CACHE_LIMIT:
            self._reset_rows()
        # Every piece is looked up as a later piece (one pass in C), then each line's first piece again as a
        # first piece; a </s> row goes after each line; numpy gathers the rows' ids.
        n_pieces = np.fromiter(map(len, per_line), dtype=np.int64, count=len(per_line))
        flat = list(chain.from_iterable(per_line))
        rows = np.fromiter(map(self._rest.__getitem__, flat), dtype=np.int64, count=len(flat))
        firsts = (np.cumsum(n_pieces) - n_pieces)[n_pieces > 0]
        first_pieces = [flat[i] for i in firsts.tolist()]
        rows[firsts] = np.fromiter(map(self._first.__getitem__, first_pieces), dtype=np.int64, count=len(firsts))
        self._fill_rows()
        return self._table.gather(np.insert(rows, np.cumsum(n_pieces), EOS_ROW))

    def _reset_rows(self) -> None:
        self._table = core.IdTable()
        self._table.add((self.eos_id,))  # EOS_ROW
        self._first, self._rest = _Rows(self._table), _Rows(self._table)

    def _fill_rows(self) -> None:
        """Compute the rows of the pieces looked up for the first time, encoding their new words in one batch."""
        if not (self._first.pending or self._rest.pending):
            return
        if self.byte_level:
            findall = gpt2_regex().findall
            texts = [(row, findall(piece)) for row, piece in self._first.pending]
            texts += [(row, findall(" " + piece)) for row, piece in self._rest.pending]
            self._encode_words({w for _, words in texts for w in words})
            words = self._words
            for row, split in texts:
                self._table.rows[row] = tuple(chain.from_iterable([words[w] for w in split]))
        else:
            self._encode_words({p for _, p in chain(self._first.pending, self._rest.pending)})
            words = self._words
            for row, piece in self._first.pending:
                self._table.rows[row] = words[piece]
            for row, piece in self._rest.pending:
                self._table.rows[row] = (SEPARATOR_ID, *words[piece])
        self._first.pending.clear()
        self._rest.pending.clear()

    def _encode_words(self, words: Iterable[str]) -> None:
        """Put the ids of ``words`` (character mode) or GPT-2 pieces (byte-level) into the word cache."""
        words = set(words)
        new = [w for w in words if w not in self._words]
        if len(self._words) + len(new) > CACHE_LIMIT:
            self._words.clear()
            new = list(words)
        if self.byte_level:
            symbols = [list(_to_bytes(w)) for w in new]
        else:
            get = self._char_ids.get
            symbols = [[get(c, self.unk_id) for c in w] for w in new]
        self._words.update(zip(new, map(tuple, core.encode_words(symbols, self._ranks, self._merged))))

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``; ``<s>`` and ``</s>`` are dropped, ``<unk>`` is written ``<unk>``.

        Byte-level: bytes that do not form UTF-8 (a sequence cut inside a character) become U+FFFD.
        """
        ids = [int(i) for i in ids]
        if ids and (min(ids) < 0 or max(ids) >= self.vocab_size):
            bad = next(i for i in ids if not 0 <= i < self.vocab_size)
            raise LmlabError(f"token id {bad} is out of range for this tokenizer (ids 0 to {self.vocab_size - 1})")
        skip = (self.bos_id, self.eos_id)
        if not self.byte_level:
            tokens = self._tokens
            return "".join([tokens[i] for i in ids if i not in skip])
        data = b"".join([self._bytes[i] for i in ids if i not in skip])
        try:
            return data.decode("utf-8", "surrogatepass")  # surrogatepass: lone surrogates in the text round-trip
        except UnicodeDecodeError:
            return data.decode("utf-8", "replace")

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "kind": self.kind,
            "bpe_version": BPE_VERSION,
            "byte_level": self.byte_level,
            "vocab_size": self.vocab_size,
            "min_frequency": self.min_frequency,
        }
        if not self.byte_level:
            d["alphabet"] = self._alphabet
        d["merges"] = [list(m) for m in self._merges]
        if self.merge_counts is not None:
            d["merge_counts"] = self.merge_counts
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BPETokenizer:
        version = d.get("bpe_version")
        if version != BPE_VERSION:
            raise LmlabError(
                f"BPE tokenizer data version {version!r} is not supported (this lmlab reads version {BPE_VERSION})"
            )
        byte_level = d.get("byte_level")
        merges = d.get("merges")
        alphabet = d.get("alphabet", [])
        counts = d.get("merge_counts")
        if not isinstance(byte_level, bool):
            raise LmlabError(f"corrupted BPE tokenizer data: 'byte_level' is {byte_level!r}, not true or false")
        if not isinstance(merges, list):
            raise LmlabError("corrupted BPE tokenizer data: 'merges' is missing or not a list")
        if not (isinstance(alphabet, list) and all(isinstance(c, str) and len(c) == 1 for c in alphabet)):
            raise LmlabError("corrupted BPE tokenizer data: 'alphabet' is not a list of single characters")
        if counts is not None and not (isinstance(counts, list) and len(counts) == len(merges)):
            raise LmlabError("corrupted BPE tokenizer data: 'merge_counts' does not match 'merges'")
        tok = cls(
            merges,
            byte_level=byte_level,
            alphabet=alphabet,
            merge_counts=counts,
            min_frequency=int(d.get("min_frequency", 2)),
        )
        if "vocab_size" in d and d["vocab_size"] != tok.vocab_size:
            raise LmlabError(
                f"corrupted BPE tokenizer data: it says vocab_size {d['vocab_size']!r} but its merges give "
                f"{tok.vocab_size} tokens"
            )
        return tok

    def save(self, path: str | Path) -> None:
        """Write the JSON file and, beside it with the suffix ``.vocab``, a human-readable listing."""
        super().save(path)
        with atomic_open(listing_path(path)) as f:
            f.write(self.listing())

    def listing(self) -> str:
        """Every token, one per line: id, what it stands for, and the merge that made it with its count.

        >>> print(BPETokenizer.train(["aaabdaaabac"], vocab_size=300).listing(), end="")  # doctest: +ELLIPSIS
        # lmlab BPE tokenizer, character mode: 11 tokens = 3 special + separator + 4 characters + 3 merges
        # id  token  (kind, or the merge that made it and the pair's count then)
        0  '<unk>'  (special)
        1  '<s>'  (special)
        2  '</s>'  (special)
        3  ' '  (word separator)
        4  'a'  (character)
        ...
        8  'aa'  <- 'a' + 'a'  4
        9  'ab'  <- 'a' + 'b'  2
        10  'aaab'  <- 'aa' + 'ab'  2
        """
        n_new = self.vocab_size - self._n_base - (len(SPECIALS) if self.byte_level else 0)
        if self.byte_level:
            head = f"byte-level: {self.vocab_size} tokens = 256 bytes + {n_new} merges + 3 special"
        else:
            head = (
                f"character mode: {self.vocab_size} tokens = 3 special + separator + {len(self._alphabet)} "
                f"characters + {n_new} merges"
            )
        lines = [
            f"# lmlab BPE tokenizer, {head}",
            "# id  token  (kind, or the merge that made it and the pair's count then)",
        ]
        made_by: dict[int, int] = {}  # token -> the first merge that made it
        for r, new in enumerate(self._merge_new):
            made_by.setdefault(new, r)
        first_merged = self._n_base
        for i in range(self.vocab_size):
            text = repr(self.token_text(i))
            if i in (self.unk_id, self.bos_id, self.eos_id):
                lines.append(f"{i}  {text}  (special)")
            elif not self.byte_level and i == SEPARATOR_ID:
                lines.append(f"{i}  {text}  (word separator)")
            elif i < first_merged:
                lines.append(f"{i}  {text}  ({'byte' if self.byte_level else 'character'})")
            else:
                r = made_by[i]
                a, b = (repr(self.token_text(self._index[p])) for p in self._merges[r])
                count = f"  {self.merge_counts[r]}" if self.merge_counts is not None else ""
                lines.append(f"{i}  {text}  <- {a} + {b}{count}")
        return "\n".join(lines) + "\n"

    def to_huggingface(self) -> dict[str, Any]:
        """The HuggingFace ``tokenizers`` JSON form: ``tokenizers.Tokenizer.from_str(json.dumps(...))`` gives
        the same ids as :meth:`encode` (it has no ``</s>`` post-processing: lines end where you put them).

        Character mode normalises whitespace like ``str.split`` and splits at the single spaces left, so the
        separator is its own piece; byte-level mode is GPT-2's pipeline. The special tokens sit in the
        vocabulary only, not among the "added tokens", so that text spelling ``<s>`` is not turned into one.
        """
        model = {
            "type": "BPE",
            "dropout": None,
            "unk_token": None if self.byte_level else UNK,
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": self._index,
            "merges": [list(m) for m in self._merges],
        }
        if self.byte_level:
            byte_level = {"add_prefix_space": False, "trim_offsets": True, "use_regex": True}
            normalizer = None
            pre_tokenizer = {"type": "ByteLevel", **byte_level}
            decoder = {"type": "ByteLevel", **byte_level}
        else:
            normalizer = {
                "type": "Sequence",
                "normalizers": [
                    {"type": "Replace", "pattern": {"Regex": _python_whitespace_regex()}, "content": " "},
                    {"type": "Strip", "strip_left": True, "strip_right": True},
                ],
            }
            pre_tokenizer = {"type": "Split", "pattern": {"String": " "}, "behavior": "Isolated", "invert": False}
            decoder = {"type": "Fuse"}
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [],
            "normalizer": normalizer,
            "pre_tokenizer": pre_tokenizer,
            "post_processor": None,
            "decoder": decoder,
            "model": model,
        }

    def save_huggingface(self, path: str | Path) -> None:
        """Write :meth:`to_huggingface` to ``path`` (atomically); load it with ``tokenizers.Tokenizer.from_file``."""
        write_json(path, self.to_huggingface())


def count_words(lines: Sequence[str], *, byte_level: bool = False) -> Counter[str]:
    """The words BPE learns from, with their frequencies: whitespace-separated (character mode) or GPT-2
    pieces that keep their leading space (byte-level mode). Merges never cross from one word to another.

    >>> count_words(["the cat", "the  end"])
    Counter({'the': 2, 'cat': 1, 'end': 1})
    >>> count_words(["the cat", "the  end"], byte_level=True)
    Counter({'the': 2, ' cat': 1, ' ': 1, ' end': 1})
    """
    # The words are counted as they are split, never all held in one list (2 million strings on WikiText-2).
    if not byte_level:
        return Counter(chain.from_iterable(map(str.split, lines)))
    # Split at single spaces (fast) and run the regex on each distinct piece with its leading space; lines
    # with other whitespace, three spaces in a row or two at the end go through the regex whole.
    if not any_needs_regex(lines):
        fast, slow = lines, []
    else:
        fast = [line for line in lines if not _needs_regex(line)]
        slow = [line for line in lines if _needs_regex(line)]
    firsts = Counter(line.split(" ", 1)[0] for line in fast)
    counts: Counter[str] = Counter()
    findall = gpt2_regex().findall
    for piece, n in Counter(chain.from_iterable(line.split(" ") for line in fast)).items():
        n_first = firsts.get(piece, 0)
        if n_first and piece:
            for word in findall(piece):
                counts[word] += n_first
        if n > n_first:
            for word in findall(" " + piece):
                counts[word] += n - n_first
    for line in slow:
        counts.update(findall(line))
    return counts


def _needs_regex(line: str) -> bool:
    """Whether cutting ``line`` at single spaces could disagree with GPT-2's regex, which gives a run of
    ``k`` spaces before a word as ``k - 1`` spaces and `` word``, and treats other whitespace its own way.

    >>> _needs_regex("a b  c "), _needs_regex("a   b"), _needs_regex("a  "), _needs_regex("a\tb")
    (False, True, True, True)
    """
    return "   " in line or line.endswith("  ") or _OTHER_WHITESPACE_RE.search(line) is not None


def any_needs_regex(lines: Sequence[str]) -> bool:
    """``any(map(_needs_regex, lines))``, checked on the joined text at once."""
    joined = "\n".join(lines)
    return (
        joined.count("\n") != len(lines) - 1  # a line holds a newline
        or "   " in joined
        or "  \n" in joined
        or joined.endswith("  ")
        or _OTHER_WHITESPACE_BUT_NEWLINE_RE.search(joined) is not None
    )


def listing_path(path: str | Path) -> Path:
    """Where :meth:`BPETokenizer.save` puts the human-readable listing: ``tok.json`` -> ``tok.vocab``."""
    path = Path(path)
    return path.with_suffix(".vocab") if path.suffix != ".vocab" else path.with_name(path.name + ".txt")


@functools.cache
def _python_whitespace_regex() -> str:
    """A regex (Oniguruma syntax, for HuggingFace) matching a run of what ``str.split`` treats as whitespace."""
    spaces = [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()]
    return "[" + "".join(f"\\x{{{ord(c):X}}}" for c in spaces) + "]+"


class _Rows(dict):
    """piece -> row of an :class:`~lmlab.tokenizers._bpe_core.IdTable`. A missing piece gets an empty row at
    once and waits in ``pending`` until :meth:`BPETokenizer._fill_rows` computes all new rows together."""

    def __init__(self, table: core.IdTable):
        super().__init__()
        self.table = table
        self.pending: list[tuple[int, str]] = []

    def __missing__(self, key: str) -> int:
        row = self[key] = self.table.add(())
        self.pending.append((row, key))
        return row


def _class_of(chars: Iterable[str]) -> str:
    """A regex character class body (no brackets) for a set of characters, as ranges.

    >>> _class_of("dbcaxz")
    'a-dxz'
    """
    return _char_class(sorted({ord(c) for c in chars}))
