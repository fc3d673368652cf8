"""The tokenizer interface every tokenizer implements (character, word, BPE).

A tokenizer maps one line of text to a list of token ids and back. Three special tokens exist in every
vocabulary: ``<unk>`` for anything unseen in training, ``<s>`` the start-of-sentence context and ``</s>`` the end
of a line. Their ids are the tokenizer's ``unk_id``, ``bos_id`` and ``eos_id`` (0, 1, 2 for the character and
word tokenizers; byte-level BPE keeps ids 0-255 for the bytes and puts them after its merges), so code never
assumes the numbers. A corpus is a list of lines; :meth:`Tokenizer.encode_lines` turns it into one stream of ids
with ``</s>`` after every line, the form every language model scores (see :mod:`lmlab.lm.evaluate`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import namedtuple
from collections.abc import Callable, Iterable, Sequence

from lmlab import fastjson
from lmlab.errors import LmlabError
from lmlab.runfiles import check_version, parse_json, read_bytes

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (see lmlab.lazy)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, ClassVar


UNK, BOS, EOS = "<unk>", "<s>", "</s>"
SPECIALS = (UNK, BOS, EOS)
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2

FORMAT_VERSION = 1
#: Largest tokenizer file read: a word vocabulary of a few million entries, far above any real one.
MAX_TOKENIZER_BYTES = 64 * 2**20


class EncodedText(namedtuple("EncodedText", "ids n_lines n_oov")):
    """A corpus as one id stream: ``ids``, an (N,) int32 array, each line's tokens followed by ``</s>``;
    ``n_lines``; and ``n_oov``, the tokens of the text that were not in the vocabulary and so became ``<unk>`` (a
    literal ``<unk>`` in the text, as in PTB, is a vocabulary token and is not counted).
    """

    __slots__ = ()


class Tokenizer(ABC):
    """Text <-> ids. Subclasses set ``kind`` and implement ``encode``, ``decode`` and the JSON round trip."""

    kind: ClassVar[str]
    unk_id: int = UNK_ID
    bos_id: int = BOS_ID
    eos_id: int = EOS_ID

    @property
    @abstractmethod
    def vocab_size(self) -> int:
        """Number of ids, special tokens included."""

    @abstractmethod
    def id_to_token(self, i: int) -> str:
        """The string of token ``i`` (special tokens as ``<unk>``, ``<s>``, ``</s>``)."""

    @abstractmethod
    def encode(self, text: str) -> list[int]:
        """Ids of one line of text (no ``</s>`` added)."""

    @abstractmethod
    def decode(self, ids: Iterable[int]) -> str:
        """Text of a sequence of ids; ``<s>`` and ``</s>`` are dropped."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state; ``from_dict`` of it gives an equal tokenizer."""

    @classmethod
    @abstractmethod
    def from_dict(cls, d: dict[str, Any]) -> Tokenizer:
        """Inverse of :meth:`to_dict`."""

    def encode_lines(self, lines: Sequence[str]) -> EncodedText:
        """Encode a corpus: each line's ids, then ``</s>``; counts out-of-vocabulary tokens."""
        import numpy as np  # here: training a tokenizer, or encoding a line, imports no NumPy

        ids: list[int] = []
        n_oov = 0
        for line in lines:
            line_ids, oov = self._encode_counting_oov(line)
            ids.extend(line_ids)
            ids.append(self.eos_id)
            n_oov += oov
        return EncodedText(np.asarray(ids, dtype=np.int32), len(lines), n_oov)

    def _encode_counting_oov(self, text: str) -> tuple[list[int], int]:
        ids = self.encode(text)
        return ids, sum(1 for i in ids if i == self.unk_id)

    def compiled_encoder(self) -> Callable[[Sequence[str]], tuple[bytearray, int]] | None:
        """A function giving what :meth:`encode_lines` gives, without NumPy: the ids as int32 bytes (native order)
        and the OOV count; None where the tokenizer has no compiled encoder (or it was not built)."""
        return None

    def tokens(self) -> list[str]:
        """Every token string, indexed by id."""
        return [self.id_to_token(i) for i in range(self.vocab_size)]

    def save(self, path: str | Path) -> None:
        """Write the tokenizer as a versioned JSON file (atomically): :func:`tokenizer_file_bytes`."""
        from lmlab.io import atomic_open  # here: loading a tokenizer (lmlab eval) writes nothing

        with atomic_open(path, "wb") as f:
            f.write(tokenizer_file_bytes(self))


class VocabTokenizer(Tokenizer):
    """A tokenizer that splits text into pieces and looks each piece up in a fixed vocabulary."""

    def __init__(self, tokens: Sequence[str]):
        tokens = list(tokens)
        if tuple(tokens[:3]) != SPECIALS:
            tokens = list(SPECIALS) + [t for t in tokens if t not in SPECIALS]
        self._tokens = tokens
        self._token_ids: dict[str, int] | None = None  # token -> id (:attr:`_index`), made on first use
        # the compiled index of the vocabulary (lmlab/tokenizers/_words.c), made here where it counts the repeated
        # tokens (lmlab eval of a model file looks every word up in it, and never in the dict), else on first use
        self._compiled = _compiled_index(tokens)
        repeated = len(self._index) != len(tokens) if self._compiled is None else self._compiled.duplicates
        if repeated:
            raise LmlabError("tokenizer vocabulary has duplicate tokens")

    @property
    def _index(self) -> dict[str, int]:
        """Token -> id, for look-ups in Python (:meth:`encode`, :meth:`token_to_id`)."""
        if self._token_ids is None:
            self._token_ids = {t: i for i, t in enumerate(self._tokens)}
        return self._token_ids

    def __getstate__(self) -> dict[str, Any]:
        # the compiled index is a cache, made again on demand: copies and pickles (worker processes) leave it out
        return {**self.__dict__, "_compiled": None}

    @property
    def vocab_size(self) -> int:
        return len(self._tokens)

    def id_to_token(self, i: int) -> str:
        return self._tokens[i]

    def token_to_id(self, token: str) -> int:
        """Id of ``token``, or ``<unk>``'s id if it is not in the vocabulary."""
        return self._index.get(token, UNK_ID)

    def __contains__(self, token: str) -> bool:
        return token in self._index

    @abstractmethod
    def split(self, text: str) -> list[str]:
        """The pieces of one line of text, before vocabulary look-up."""

    def encode(self, text: str) -> list[int]:
        index = self._index
        return [index.get(p, UNK_ID) for p in self.split(text)]

    def _encode_counting_oov(self, text: str) -> tuple[list[int], int]:
        index = self._index
        ids = [index.get(p, -1) for p in self.split(text)]
        n_oov = ids.count(-1)
        if n_oov:
            ids = [UNK_ID if i < 0 else i for i in ids]
        return ids, n_oov


def _compiled_index(tokens: list[str]) -> Any:
    """A WordIndex of ``tokens`` (lmlab/tokenizers/_words.c), or None where the extension was not built or a token
    is not a string."""
    try:
        from lmlab.tokenizers._words import WordIndex
    except ImportError:  # pragma: no cover - installed without a C compiler
        return None
    try:
        return WordIndex(tokens)
    except TypeError:  # a token that is not a string: the Python dict takes it
        return None


def read_tokenizer_file(path: str | Path) -> tuple[dict[str, Any], bytes]:
    """A tokenizer file's JSON, its envelope checked (the caller dispatches on ``d["kind"]``), and the bytes it was
    parsed from (a run compares their :func:`file_sha256` with the one it recorded).

    Only a regular file of at most :data:`MAX_TOKENIZER_BYTES` is read (see :func:`lmlab.runfiles.read_json`).
    """
    data = read_bytes(path, limit=MAX_TOKENIZER_BYTES, missing=f"tokenizer file not found: {path}")
    d = parse_json(data, path, "tokenizer file")
    return check_version(d, path, "lmlab-tokenizer", FORMAT_VERSION, "tokenizer file"), data


def tokenizer_file_bytes(tokenizer: Tokenizer) -> bytes:
    """The tokenizer's file as :meth:`Tokenizer.save` writes it: its format and version, then :meth:`to_dict`, as
    JSON indented by two spaces (non-ASCII characters as they are), a newline at the end, in UTF-8."""
    import json  # here: reading a tokenizer (lmlab eval) writes none

    payload = {"format": "lmlab-tokenizer", "version": FORMAT_VERSION, **tokenizer.to_dict()}
    return (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def file_sha256(data: bytes) -> str:
    """sha256 of a file's bytes, in hex: a run records its tokenizer file's (``tokenizer.file_sha256``), so that
    the file training wrote is recognised by its bytes, without hashing its content (:func:`tokenizer_sha256`)."""
    return _sha256(data).hexdigest()


def tokenizer_sha256(tokenizer: Tokenizer) -> str:
    """sha256 of the tokenizer's content (its vocabulary, merges and options; not the file's formatting).

    A run records it so that weights are never used with a tokenizer that maps ids to other tokens.

    >>> from lmlab.tokenizers import CharTokenizer
    >>> a, b = CharTokenizer([*SPECIALS, "a", "b"]), CharTokenizer([*SPECIALS, "b", "a"])   # ids swapped
    >>> tokenizer_sha256(a) == tokenizer_sha256(CharTokenizer.train(["ba"])), tokenizer_sha256(a) == tokenizer_sha256(b)
    (True, False)
    """
    return _sha256(fastjson.dumps(tokenizer.to_dict(), sort_keys=True).encode()).hexdigest()


def _sha256(data: bytes):  # noqa: ANN202 - a hashlib hash object
    """hashlib.sha256, from CPython's built-in module where it has one: hashlib's import loads OpenSSL, a few
    milliseconds of every ``lmlab eval`` (random.py takes its SHA-512 the same way). The same digest either way."""
    try:
        from _sha2 import sha256  # Python 3.12 on
    except ImportError:
        try:
            from _sha256 import sha256  # Python 3.11
        except ImportError:  # pragma: no cover - a build without the built-in modules
            from hashlib import sha256
    return sha256(data)
