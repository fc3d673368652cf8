"""Flags and steps shared by several commands: reading the corpus, building the tokenizer."""

from __future__ import annotations

import argparse
from pathlib import Path

from lmlab.data import Corpus, load_corpus
from lmlab.errors import LmlabError
from lmlab.tokenizers import TOKENIZERS, Tokenizer, load_tokenizer

#: Seeds are 63-bit: what both NumPy and PyTorch accept.
MAX_SEED = 2**63 - 1


def check_seed(seed: int | None, flag: str = "--seed") -> None:
    """A seed both NumPy and PyTorch accept, or an LmlabError naming the flag and the allowed range."""
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise LmlabError(f"{flag} must be an integer from 0 to 2**63 - 1, got {seed}")


def check_input_file(path: str | Path, flag: str) -> Path:
    """``path`` if it names something to read (a file, or a pipe such as /dev/stdin), not a directory."""
    path = Path(path)
    if not path.exists():
        raise LmlabError(f"{flag} {path}: no such file")
    if path.is_dir():
        raise LmlabError(f"{flag} {path} is a directory; give a text file")
    return path


def add_data_flags(parser: argparse.ArgumentParser, *, required: bool) -> None:
    g = parser.add_argument_group("data")
    g.add_argument(
        "--data",
        required=required,
        metavar="DATA",
        help="a named corpus (see `lmlab data list`), a folder with train.txt/valid.txt/test.txt, "
        "or one text file (split 90/5/5 by lines)",
    )
    g.add_argument(
        "--encoding-errors",
        choices=["strict", "replace"],
        default="strict",
        help="what to do with bytes that are not UTF-8 (default: strict, stop with the file and offset)",
    )


def read_corpus(args: argparse.Namespace) -> Corpus:
    return load_corpus(args.data, encoding_errors=args.encoding_errors)


def add_tokenizer_flags(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("tokenizer")
    g.add_argument(
        "--tokenizer",
        default="word",
        metavar="KIND_OR_FILE",
        help=f"tokenizer kind ({', '.join(TOKENIZERS)}) trained on the training split, "
        "or a tokenizer JSON file (default: word)",
    )
    g.add_argument("--lowercase", action="store_true", help="word: lowercase the text")
    g.add_argument("--min-freq", type=int, default=1, help="word: keep words seen at least this often (default: 1)")
    g.add_argument("--max-vocab", type=int, default=None, help="word: keep at most this many tokens")
    g.add_argument("--vocab-size", type=int, default=None, help="bpe: vocabulary size, special tokens included")
    g.add_argument("--byte-level", action="store_true", help="bpe: start from the 256 byte values")


def build_tokenizer(args: argparse.Namespace, train_lines: list[str]) -> Tokenizer:
    spec = args.tokenizer
    if spec not in TOKENIZERS:
        if Path(spec).is_file():
            return load_tokenizer(spec)
        raise LmlabError(
            f"--tokenizer must be one of {', '.join(TOKENIZERS)} or an existing tokenizer file, got {spec!r}"
        )
    cls = TOKENIZERS[spec]
    if spec == "word":
        return cls.train(train_lines, lowercase=args.lowercase, min_freq=args.min_freq, max_size=args.max_vocab)
    if spec == "char":
        return cls.train(train_lines)
    if args.vocab_size is None:
        raise LmlabError(f"--tokenizer {spec} needs --vocab-size N")
    return cls.train(train_lines, vocab_size=args.vocab_size, byte_level=args.byte_level)
