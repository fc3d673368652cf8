"""Tokenizers: one interface (:class:`Tokenizer`), several kinds, one JSON file format.

``TOKENIZERS`` maps a kind name to its class; :func:`load_tokenizer` reads any kind from its file.
"""

from __future__ import annotations

from pathlib import Path

from lmlab.errors import LmlabError
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
)
from lmlab.tokenizers.bpe import BPETokenizer
from lmlab.tokenizers.char import CharTokenizer
from lmlab.tokenizers.word import WordTokenizer

TOKENIZERS: dict[str, type[Tokenizer]] = {"char": CharTokenizer, "word": WordTokenizer, "bpe": BPETokenizer}


def tokenizer_from_dict(d: dict) -> Tokenizer:
    kind = d.get("kind")
    if kind not in TOKENIZERS:
        raise LmlabError(f"unknown tokenizer kind {kind!r}; known kinds: {', '.join(sorted(TOKENIZERS))}")
    try:
        return TOKENIZERS[kind].from_dict(d)
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, LmlabError):
            raise
        raise LmlabError(f"corrupted {kind} tokenizer data ({type(e).__name__}: {e})") from None


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Load a tokenizer of any kind from a file written by :meth:`Tokenizer.save`."""
    return tokenizer_from_dict(read_tokenizer_json(path))


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
]
