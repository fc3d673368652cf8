"""The two vocabularies of a translation model and how sentences become the ids it reads.

Each side has a tokenizer trained on its training sentences (``--joint-vocab``: one tokenizer trained on both
sides, shared, which lets a Transformer share its embeddings). The default is byte-level BPE, whose decoding gives
back exactly the text that was encoded, so a translation is detokenized by decoding it and nothing else; word
tokenization (``--tokenizer word``) decodes to the words joined by single spaces.

A network sees the tokenizer's ids shifted by one, id 0 being padding; every source and every target ends with
``</s>``, and the decoder reads the target after a ``<s>``::

    "ein Hund ."  ->  src      [ e+1  H+1  .+1  </s>+1 ]
    "a dog ."     ->  tgt_in   [ <s>+1  a+1  d+1  .+1 ]      tgt_out [ a+1  d+1  .+1  </s>+1 ]

References: Sennrich, Haddow & Birch 2016, "Neural Machine Translation of Rare Words with Subword Units" (BPE
for translation, joint BPE); Press & Wolf 2017 (sharing the embeddings of both sides).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lmlab.errors import LmlabError
from lmlab.tokenizers import BPETokenizer, Tokenizer, WordTokenizer, tokenizer_sha256

PAD = 0  # the padding id of every translation network; token ids are the tokenizer's + 1
KINDS = ("bpe", "word")
SRC_FILE, TGT_FILE, JOINT_FILE = "tokenizer-src.json", "tokenizer-tgt.json", "tokenizer.json"


@dataclass(frozen=True)
class TokenizerOptions:
    """How the vocabularies are made (``lmlab train --task translate`` flags)."""

    kind: str = "bpe"  # bpe or word
    vocab_size: int = 8000  # bpe: tokens per side (or of the joint vocabulary), special tokens included
    joint: bool = False  # one vocabulary trained on both sides
    byte_level: bool = True  # bpe: byte-level (decoding is exact) or character mode (whitespace normalised)
    lowercase: bool = False  # word: lowercase the text
    min_freq: int = 1  # word: keep words seen at least this often
    max_vocab: int | None = None  # word: keep at most this many tokens

    def __post_init__(self):
        if self.kind not in KINDS:
            raise LmlabError(f"--tokenizer must be one of {', '.join(KINDS)} for translation, got {self.kind!r}")
        if self.kind == "bpe" and not (isinstance(self.vocab_size, int) and self.vocab_size >= 300):
            raise LmlabError(f"--vocab-size must be an integer >= 300 for BPE, got {self.vocab_size!r}")
        if self.lowercase and self.kind != "word":
            raise LmlabError("--lowercase is for --tokenizer word (BPE keeps the text as written)")


@dataclass
class Vocabularies:
    """The source and target tokenizers (the same object when joint)."""

    src: Tokenizer
    tgt: Tokenizer

    @property
    def joint(self) -> bool:
        return self.src is self.tgt

    @property
    def src_size(self) -> int:
        """Ids the encoder reads: the tokenizer's and padding."""
        return self.src.vocab_size + 1

    @property
    def tgt_size(self) -> int:
        return self.tgt.vocab_size + 1

    def sha256(self) -> dict[str, str]:
        return {"src": tokenizer_sha256(self.src), "tgt": tokenizer_sha256(self.tgt)}


def train_tokenizer(lines: Sequence[str], opts: TokenizerOptions) -> Tokenizer:
    if opts.kind == "word":
        return WordTokenizer.train(lines, lowercase=opts.lowercase, min_freq=opts.min_freq, max_size=opts.max_vocab)
    return BPETokenizer.train(lines, vocab_size=opts.vocab_size, byte_level=opts.byte_level)


def build_vocabularies(src_lines: Sequence[str], tgt_lines: Sequence[str], opts: TokenizerOptions) -> Vocabularies:
    """Tokenizers trained on the training sentences: one per side, or one on both sides (``opts.joint``)."""
    if opts.joint:
        shared = train_tokenizer([*src_lines, *tgt_lines], opts)
        return Vocabularies(shared, shared)
    return Vocabularies(train_tokenizer(src_lines, opts), train_tokenizer(tgt_lines, opts))


def encode_sentences(tokenizer: Tokenizer, lines: Sequence[str]) -> list[np.ndarray]:
    """Each line as model ids (tokenizer id + 1) ending with ``</s>``.

    >>> tok = WordTokenizer.train(["a b"])
    >>> [x.tolist() for x in encode_sentences(tok, ["a b", "", "b c"])]
    [[4, 5, 3], [3], [5, 1, 3]]
    """
    eos = tokenizer.eos_id + 1
    out = []
    for line in lines:
        ids = np.asarray(tokenizer.encode(line), dtype=np.int64) + 1
        out.append(np.append(ids, eos))
    return out


def decode_ids(tokenizer: Tokenizer, ids: Sequence[int]) -> str:
    """The text of model ids, up to the first ``</s>`` (padding and ``<s>`` dropped).

    >>> tok = WordTokenizer.train(["a b"])
    >>> decode_ids(tok, [4, 5, 3, 4])
    'a b'
    """
    eos = tokenizer.eos_id + 1
    out = []
    for i in ids:
        i = int(i)
        if i == eos:
            break
        if i != PAD:
            out.append(i - 1)
    return tokenizer.decode(out)


def token_labels(tokenizer: Tokenizer, ids: Sequence[int]) -> list[str]:
    """How each model id reads (BPE pieces as text, ``</s>`` as written), for alignment pictures."""
    text = getattr(tokenizer, "token_text", tokenizer.id_to_token)
    return [repr(text(int(i) - 1))[1:-1] if int(i) != PAD else "<pad>" for i in ids]


__all__ = [
    "JOINT_FILE",
    "KINDS",
    "PAD",
    "SRC_FILE",
    "TGT_FILE",
    "TokenizerOptions",
    "Vocabularies",
    "build_vocabularies",
    "decode_ids",
    "encode_sentences",
    "token_labels",
    "train_tokenizer",
]
