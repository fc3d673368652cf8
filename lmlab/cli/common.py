"""Flags and steps shared by several commands: reading the corpus, building the tokenizer."""

from __future__ import annotations

import argparse
import io
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from lmlab.errors import LmlabError
from lmlab.runfiles import open_regular

if TYPE_CHECKING:
    from lmlab.data import Corpus
    from lmlab.tokenizers import Tokenizer

#: the tokenizer kinds --tokenizer names (lmlab.tokenizers.TOKENIZERS, named here so that --help imports none)
TOKENIZER_KINDS = ("char", "word", "bpe")

#: Seeds are 63-bit: what both NumPy and PyTorch accept.
MAX_SEED = 2**63 - 1


def resume_inputs(args: argparse.Namespace) -> tuple[Path, dict]:
    """The run ``--resume`` names and its checkpoint's record, after the checks every task makes: ``--out``, if
    given, is the same folder; ``--config`` and ``--preset`` are refused (the configuration is in the checkpoint);
    ``--model``, if given, is the run's family."""
    from lmlab.train.checkpoint import read_checkpoint_info

    run_dir = Path(args.resume)
    if getattr(args, "out", None) and Path(args.out).resolve() != run_dir.resolve():
        raise LmlabError("--resume continues a run in its own directory; drop --out (or give the same directory)")
    if getattr(args, "config", None) or getattr(args, "preset", None):
        raise LmlabError(
            "--config and --preset cannot be used with --resume: the run's configuration is in its checkpoint"
        )
    info = read_checkpoint_info(run_dir)  # checked: field types
    from lmlab.tasks import get_family_of

    where = f"{run_dir}/checkpoints/last/state.json"
    try:
        family = get_family_of(info)
    except LmlabError as e:
        raise LmlabError(f"{where}: field 'family': {e}") from None
    read_checkpoint_info(run_dir, family.train_config_class())  # and its configuration, field by field
    model = getattr(args, "model", None)
    if model and model != info.get("family"):
        raise LmlabError(f"--resume {run_dir} is a {info.get('family')} run, not --model {model}")
    return run_dir, info


def load_run_for(run: str | Path, command: str, expects: str):
    """``lmlab.load(run)`` for a verb of the module ``command``: a run of a task that does not declare that verb
    (``Task.commands``) is one line naming what the verb ``expects``, and is not loaded."""
    import lmlab
    from lmlab.tasks import check_run_task

    check_run_task(run, command, expects)
    return lmlab.load(run)


def check_seed(seed: int | None, flag: str = "--seed") -> None:
    """A seed both NumPy and PyTorch accept, or an LmlabError naming the flag and the allowed range."""
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise LmlabError(f"{flag} must be an integer from 0 to 2**63 - 1, got {seed}")


def check_output_file(path: str | Path, flag: str) -> None:
    """Refuse, before any work, an output file that names a directory."""
    if Path(path).is_dir():
        raise LmlabError(f"{flag} {path} is a directory; give the name of the file to write")


def open_input_file(path: str | Path, flag: str) -> BinaryIO:
    """``path`` opened for reading if it is a regular file, or a one-line LmlabError naming ``flag``: missing, a
    directory, a FIFO (which would hang the command until someone writes to it), a device."""
    try:
        return open_regular(path, missing=f"{path}: no such file")
    except LmlabError as e:
        raise LmlabError(f"{flag} {e}") from None


def input_lines(path: str | None, flag: str, encoding_errors: str = "strict") -> Iterator[str]:
    """The lines of ``--input FILE`` (standard input for None or ``-``), without their line ends and without a
    leading UTF-8 byte-order mark, which Windows editors write and which would change the first line's answer.

    A file is opened here, before any line is read, so that a bad ``--input`` is reported before a model is
    loaded; only a regular file is opened (a FIFO that nobody writes would hang the command).
    """
    if path in (None, "-"):
        return _stdin_lines(encoding_errors)
    text = io.TextIOWrapper(open_input_file(path, flag), encoding="utf-8-sig", errors=encoding_errors, newline="")
    return _read_lines(text, str(path))


def _stdin_lines(encoding_errors: str) -> Iterator[str]:
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:  # a text stream put in place of standard input (a notebook, a test)
        for i, line in enumerate(sys.stdin):
            yield (line.removeprefix("\ufeff") if i == 0 else line).rstrip("\r\n")
        return
    text = io.TextIOWrapper(buffer, encoding="utf-8-sig", errors=encoding_errors, newline="")
    try:
        yield from _read_lines(text, "standard input", close=False)
    finally:
        text.detach()  # standard input stays open


def _read_lines(text: io.TextIOWrapper, name: str, close: bool = True) -> Iterator[str]:
    try:
        for line in text:
            yield line.rstrip("\r\n")
    except UnicodeDecodeError as e:
        raise LmlabError(f"{name}: not UTF-8 ({e.reason}); try --encoding-errors replace") from None
    finally:
        if close:
            text.close()


# ---- flags checked as the command line is parsed: one line naming the flag, its value and what is allowed
class CheckedFlag(argparse.Action):
    """A flag whose value is converted and checked while the command line is parsed, so that every command that
    declares it checks it; a bad value is an LmlabError (one line, exit status 2), before anything is read."""

    allowed = "a value"  # what the message says is allowed

    @staticmethod
    def convert(text: str):  # the value, or ValueError
        return text

    def __call__(self, parser, namespace, value, option_string=None):
        try:
            result = self.convert(value)
        except ValueError:
            raise LmlabError(f"{option_string} must be {self.allowed}, got {value}") from None
        setattr(namespace, self.dest, result)


def int_flag(lo: int, hi: int, allowed: str | None = None) -> type[argparse.Action]:
    """The ``action`` of an integer flag from ``lo`` to ``hi``.

    >>> p = argparse.ArgumentParser()
    >>> _ = p.add_argument("--beam", action=int_flag(1, 100))
    >>> p.parse_args(["--beam", "5"]).beam
    5
    >>> p.parse_args(["--beam", "1000000"])
    Traceback (most recent call last):
    ...
    lmlab.errors.LmlabError: --beam must be an integer from 1 to 100, got 1000000
    """

    def convert(text: str) -> int:
        value = int(text)
        if not lo <= value <= hi:
            raise ValueError(text)
        return value

    allowed = allowed or f"an integer from {lo:,} to {hi:,}"
    return type("IntFlag", (CheckedFlag,), {"convert": staticmethod(convert), "allowed": allowed})


def number_flag(lo: float, hi: float, *, above: bool = False) -> type[argparse.Action]:
    """The ``action`` of a finite number flag in [lo, hi] (``above``: in (lo, hi]).

    >>> p = argparse.ArgumentParser()
    >>> _ = p.add_argument("--lr", action=number_flag(0, 10, above=True))
    >>> p.parse_args(["--lr", "nan"])
    Traceback (most recent call last):
    ...
    lmlab.errors.LmlabError: --lr must be a number above 0 and at most 10, got nan
    """

    def convert(text: str) -> float:
        value = float(text)
        inside = lo < value <= hi if above else lo <= value <= hi  # False for nan
        if not (math.isfinite(value) and inside):
            raise ValueError(text)
        return value

    allowed = f"a number above {lo:g} and at most {hi:g}" if above else f"a number from {lo:g} to {hi:g}"
    return type("NumberFlag", (CheckedFlag,), {"convert": staticmethod(convert), "allowed": allowed})


#: The ``action`` of every ``--seed`` and ``--split-seed``: a seed both NumPy and PyTorch accept
SeedFlag = int_flag(0, MAX_SEED, "an integer from 0 to 2**63 - 1")


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
    from lmlab.data import load_corpus

    return load_corpus(args.data, encoding_errors=args.encoding_errors)


def add_tokenizer_flags(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("tokenizer")
    g.add_argument(
        "--tokenizer",
        default="word",
        metavar="KIND_OR_FILE",
        help=f"tokenizer kind ({', '.join(TOKENIZER_KINDS)}) trained on the training split, "
        "or a tokenizer JSON file (default: word)",
    )
    g.add_argument("--lowercase", action="store_true", help="word: lowercase the text")
    g.add_argument("--min-freq", type=int, default=1, help="word: keep words seen at least this often (default: 1)")
    g.add_argument("--max-vocab", type=int, default=None, help="word: keep at most this many tokens")
    g.add_argument("--vocab-size", type=int, default=None, help="bpe: vocabulary size, special tokens included")
    g.add_argument("--byte-level", action="store_true", help="bpe: start from the 256 byte values")


def build_tokenizer(args: argparse.Namespace, train_lines: list[str]) -> Tokenizer:
    from lmlab.tokenizers import TOKENIZERS, load_tokenizer

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
