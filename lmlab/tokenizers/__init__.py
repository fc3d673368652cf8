"""Tokenizers: one interface (:class:`Tokenizer`), several kinds, one JSON file format.

``TOKENIZERS`` maps a kind name to its class; :func:`load_tokenizer` reads any kind from its file.
"""

from __future__ import annotations

from pathlib import Path

from lmlab.errors import LmlabError
from lmlab.runfiles import check_fields, expect, list_of
from lmlab.tokenizers.base import (
    BOS,
    BOS_ID,
    EOS,
    EOS_ID,
    SPECIALS,
    UNK,
    UNK_ID,
    EncodedText,
    Tokenizer,
    read_tokenizer_json,
    tokenizer_sha256,
)
from lmlab.tokenizers.bpe import BPETokenizer
from lmlab.tokenizers.char import CharTokenizer
from lmlab.tokenizers.word import WordTokenizer

TOKENIZERS: dict[str, type[Tokenizer]] = {"char": CharTokenizer, "word": WordTokenizer, "bpe": BPETokenizer}


#: What the vocabulary tokenizers' files must hold (BPE checks its own fields in ``BPETokenizer.from_dict``).
_VOCAB_SCHEMA = {
    "tokens": list_of(lambda t: isinstance(t, str), "a list of strings", required=True),
    "lowercase": expect(bool),
}


def tokenizer_from_dict(d: dict, where: str = "tokenizer data") -> Tokenizer:
    """A tokenizer of the kind ``d["kind"]`` names; ``where`` names the file in error messages."""
    kind = d.get("kind")
    if kind not in TOKENIZERS:
        raise LmlabError(f"unknown tokenizer kind {kind!r}; known kinds: {', '.join(sorted(TOKENIZERS))}")
    if kind in ("char", "word"):
        check_fields(d, _VOCAB_SCHEMA, where)
    try:
        return TOKENIZERS[kind].from_dict(d)
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, LmlabError):
            raise
        raise LmlabError(f"corrupted {kind} tokenizer data ({type(e).__name__}: {e})") from None


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Load a tokenizer of any kind from a file written by :meth:`Tokenizer.save` (a regular file only)."""
    d = read_tokenizer_json(path)
    try:
        return tokenizer_from_dict(d, str(path))
    except LmlabError as e:
        raise LmlabError(e if str(e).startswith(f"{path}: ") else f"{path}: {e}") from None


__all__ = [
    "BOS",
    "BOS_ID",
    "EOS",
    "EOS_ID",
    "SPECIALS",
    "TOKENIZERS",
    "UNK",
    "UNK_ID",
    "BPETokenizer",
    "CharTokenizer",
    "EncodedText",
    "Tokenizer",
    "WordTokenizer",
    "load_tokenizer",
    "tokenizer_from_dict",
    "tokenizer_sha256",
]
