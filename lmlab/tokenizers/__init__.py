"""Tokenizers: one interface (:class:`Tokenizer`), several kinds, one JSON file format.

``TOKENIZERS`` maps a kind name to its class; :func:`load_tokenizer` reads any kind from its file. The classes are
imported on first use, so that loading a word tokenizer (``lmlab eval`` of a word model) does not compile BPE's.
"""

from __future__ import annotations

from itertools import repeat

from lmlab.errors import LmlabError
from lmlab.lazy import import_module, lazy_names
from lmlab.runfiles import Field, check_fields, expect
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
    file_sha256,
    read_tokenizer_file,
    tokenizer_file_bytes,
    tokenizer_sha256,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (see lmlab.lazy)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

#: the module and class of each tokenizer kind
_KINDS = {"char": ("char", "CharTokenizer"), "word": ("word", "WordTokenizer"), "bpe": ("bpe", "BPETokenizer")}
_lazy = lazy_names("lmlab.tokenizers", {cls: module for module, cls in _KINDS.values()})


def tokenizer_class(kind: str) -> type[Tokenizer]:
    """The class of the tokenizer kind ``kind`` (a key of ``TOKENIZERS``), imported on first use."""
    module, name = _KINDS[kind]
    return getattr(import_module(f"lmlab.tokenizers.{module}"), name)


def __getattr__(name: str) -> Any:
    if name == "TOKENIZERS":  # kind name -> class, every class imported
        return {kind: tokenizer_class(kind) for kind in _KINDS}
    return _lazy(name)


def _strings(v: Any) -> bool:
    """Whether ``v`` is a list of strings, each checked in C (``map``): a 10,000-word vocabulary is checked at every
    load (``lmlab eval``), a third of the time of a generator calling a function per token.

    >>> _strings(["<unk>", "the"]), _strings(["the", 3]), _strings("the")
    (True, False, False)
    """
    return isinstance(v, list) and all(map(isinstance, v, repeat(str)))


#: What the vocabulary tokenizers' files must hold (BPE checks its own fields in ``BPETokenizer.from_dict``).
_VOCAB_SCHEMA = {
    "tokens": Field("a list of strings", _strings, required=True),
    "lowercase": expect(bool),
}


def tokenizer_from_dict(d: dict, where: str = "tokenizer data") -> Tokenizer:
    """A tokenizer of the kind ``d["kind"]`` names; ``where`` names the file in error messages."""
    kind = d.get("kind")
    if kind not in _KINDS:
        raise LmlabError(f"unknown tokenizer kind {kind!r}; known kinds: {', '.join(sorted(_KINDS))}")
    if kind in ("char", "word"):
        check_fields(d, _VOCAB_SCHEMA, where)
    try:
        return tokenizer_class(kind).from_dict(d)
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, LmlabError):
            raise
        raise LmlabError(f"corrupted {kind} tokenizer data ({type(e).__name__}: {e})") from None


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Load a tokenizer of any kind from a file written by :meth:`Tokenizer.save` (a regular file only)."""
    return load_tokenizer_file(path)[0]


def load_tokenizer_file(path: str | Path) -> tuple[Tokenizer, bytes]:
    """:func:`load_tokenizer`, and the file's bytes as read (see :func:`read_tokenizer_file`)."""
    d, data = read_tokenizer_file(path)
    try:
        return tokenizer_from_dict(d, str(path)), data
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
    "file_sha256",
    "load_tokenizer",
    "load_tokenizer_file",
    "tokenizer_class",
    "tokenizer_file_bytes",
    "tokenizer_from_dict",
    "tokenizer_sha256",
]
