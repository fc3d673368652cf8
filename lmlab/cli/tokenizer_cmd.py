"""``lmlab tokenizer``: train a tokenizer on text files, encode and decode with it, look inside it.

lmlab tokenizer train --kind bpe --vocab-size 8000 [--byte-level] [--min-frequency 2] --out tok.json a.txt
lmlab tokenizer encode tok.json [FILE ... | --text TEXT]     # one line of ids per line of text
lmlab tokenizer decode tok.json [FILE ... | --ids "5 6 7"]   # one line of text per line of ids
lmlab tokenizer inspect tok.json [--top 20] [--all] [--text TEXT]
lmlab tokenizer export tok.json --hf hf.json                 # BPE: HuggingFace tokenizers format
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

from lmlab.cli.common import TOKENIZER_KINDS, check_output_file, int_flag
from lmlab.errors import LmlabError
from lmlab.io import atomic_open

if TYPE_CHECKING:
    from lmlab.tokenizers import Tokenizer


def register(sub) -> None:
    p = sub.add_parser("tokenizer", help="train, apply and inspect tokenizers (bpe, char, word)")
    tsub = p.add_subparsers(dest="tokenizer_command", metavar="ACTION", required=True)

    tr = tsub.add_parser("train", help="train a tokenizer on text files and write it as JSON")
    tr.add_argument("files", nargs="+", metavar="FILE", help="UTF-8 text, one sentence per line")
    tr.add_argument("--kind", choices=sorted(TOKENIZER_KINDS), default="bpe", help="tokenizer kind (default: bpe)")
    tr.add_argument(
        "--vocab-size",
        type=int,
        help="bpe: vocabulary size, special tokens included (required); word: keep at most this many tokens",
    )
    tr.add_argument("--byte-level", action="store_true", help="bpe: start from the 256 bytes (GPT-2 style)")
    tr.add_argument(
        "--min-frequency",
        type=int,
        default=None,
        help="bpe: stop when no pair occurs this often (default 2); word: keep words seen this often (default 1)",
    )
    tr.add_argument("--out", required=True, metavar="TOK.json", help="where to write the tokenizer")
    _add_encoding_errors(tr)
    tr.set_defaults(func=run_train)

    en = tsub.add_parser("encode", help="text to token ids, one line of ids per line of text")
    en.add_argument("tokenizer", metavar="TOK.json")
    en.add_argument("files", nargs="*", metavar="FILE", help="text files (default: standard input)")
    en.add_argument("--text", help="encode this text instead of files")
    en.add_argument("--tokens", action="store_true", help="print the tokens (as a JSON list) instead of ids")
    en.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    _add_encoding_errors(en)
    en.set_defaults(func=run_encode)

    de = tsub.add_parser("decode", help="token ids to text, one line of text per line of ids")
    de.add_argument("tokenizer", metavar="TOK.json")
    de.add_argument("files", nargs="*", metavar="FILE", help="files of whitespace-separated ids (default: stdin)")
    de.add_argument("--ids", help='decode these ids ("5 6 7") instead of files')
    de.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    de.set_defaults(func=run_decode)

    ins = tsub.add_parser("inspect", help="what a tokenizer file holds: sizes, special tokens, merges")
    ins.add_argument("tokenizer", metavar="TOK.json")
    ins.add_argument(
        "--top", action=int_flag(0, 1_000_000), default=20, help="how many tokens or merges to list (default: 20)"
    )
    ins.add_argument("--all", action="store_true", help="list every token")
    ins.add_argument("--text", help="also show how this text is cut into tokens")
    ins.set_defaults(func=run_inspect)

    ex = tsub.add_parser("export", help="write a BPE tokenizer in another library's format")
    ex.add_argument("tokenizer", metavar="TOK.json")
    ex.add_argument("--hf", required=True, metavar="FILE", help="HuggingFace tokenizers JSON (Tokenizer.from_file)")
    ex.set_defaults(func=run_export)


def _add_encoding_errors(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--encoding-errors",
        choices=["strict", "replace"],
        default="strict",
        help="bytes that are not UTF-8: stop with the file and offset (strict, default) or replace them",
    )


def run_train(args: argparse.Namespace) -> int:
    from lmlab.tokenizers import TOKENIZERS, BPETokenizer
    from lmlab.tokenizers.bpe import listing_path

    check_output_file(args.out, "--out")  # said before the training, not after it
    lines = _read_files(args.files, args.encoding_errors)
    cls = TOKENIZERS[args.kind]
    start = time.perf_counter()
    if args.kind == "bpe":
        if args.vocab_size is None:
            raise LmlabError("--kind bpe needs --vocab-size N (the vocabulary size, special tokens included)")
        min_frequency = 2 if args.min_frequency is None else args.min_frequency
        tok = cls.train(lines, vocab_size=args.vocab_size, byte_level=args.byte_level, min_frequency=min_frequency)
    elif args.kind == "word":
        tok = cls.train(lines, min_freq=args.min_frequency or 1, max_size=args.vocab_size)
    else:
        tok = cls.train(lines)
    seconds = time.perf_counter() - start
    tok.save(args.out)
    print(f"{_describe(tok)}; trained on {len(lines):,} lines in {seconds:.2f} s")
    print(f"wrote {args.out}" + (f" and the listing {listing_path(args.out)}" if isinstance(tok, BPETokenizer) else ""))
    return 0


def run_encode(args: argparse.Namespace) -> int:
    from lmlab.tokenizers import load_tokenizer

    tok = load_tokenizer(args.tokenizer)
    lines = _input_lines(args.files, args.text, args.encoding_errors)
    per_line, n_oov = _encode_each_line(tok, lines)
    with _output(args.out) as out:
        for ids in per_line:
            if args.tokens:
                out.write(json.dumps([_token_text(tok, i) for i in ids], ensure_ascii=False) + "\n")
            else:
                out.write(" ".join(map(str, ids)) + "\n")
    if n_oov:
        what = "word(s)" if tok.kind == "word" else "character(s)"
        print(f"lmlab: {n_oov} {what} not seen in training became <unk>", file=sys.stderr)
    return 0


#: Below this many characters a BPE text is encoded line by line: its fast path (one stream, NumPy) saves about
#: 0.4 us a character, less than NumPy's import (about 0.1 s) on a small text.
FAST_PATH_CHARS = 200_000


def _encode_each_line(tok: Tokenizer, lines: list[str]) -> tuple[list[list[int]], int]:
    """Each line's ids, and the out-of-vocabulary count."""
    from lmlab.tokenizers import BPETokenizer

    if isinstance(tok, BPETokenizer) and sum(map(len, lines)) >= FAST_PATH_CHARS:
        # one stream, cut after each </s> (which text never produces)
        enc = tok.encode_lines(lines)
        import numpy as np

        ends = np.flatnonzero(enc.ids == tok.eos_id).tolist()
        ids = enc.ids.tolist()
        return [ids[start:end] for start, end in zip([0, *(e + 1 for e in ends)], ends)], enc.n_oov
    per_line, n_oov = [], 0
    for line in lines:
        ids, oov = tok._encode_counting_oov(line)
        per_line.append(ids)
        n_oov += oov
    return per_line, n_oov


def run_decode(args: argparse.Namespace) -> int:
    from lmlab.tokenizers import load_tokenizer

    tok = load_tokenizer(args.tokenizer)
    lines = _input_lines(args.files, args.ids, "strict")
    with _output(args.out) as out:
        for n, line in enumerate(lines, 1):
            out.write(tok.decode(_parse_ids(line, n, tok.vocab_size)) + "\n")
    return 0


def run_inspect(args: argparse.Namespace) -> int:
    from lmlab.tokenizers import BPETokenizer, load_tokenizer

    tok = load_tokenizer(args.tokenizer)
    print(f"{args.tokenizer}: {_describe(tok)}")
    print(f"special tokens: <unk> {tok.unk_id}, <s> {tok.bos_id}, </s> {tok.eos_id}")
    if isinstance(tok, BPETokenizer):
        listing = tok.listing().splitlines()
        if args.all:
            print("\n".join(listing))
        else:
            merges = tok.merges
            counts = tok.merge_counts
            print(f"first {min(args.top, len(merges))} of {len(merges)} merges (min_frequency {tok.min_frequency}):")
            for r, (a, b) in enumerate(merges[: args.top]):
                a_text, b_text = (_token_text(tok, tok.token_to_id(t)) for t in (a, b))
                count = f"  (count {counts[r]:,})" if counts is not None else ""
                print(f"{r + 1:6}  {a_text!r} + {b_text!r} -> {a_text + b_text!r}{count}")
    else:
        shown = tok.tokens() if args.all else tok.tokens()[: args.top]
        print(f"tokens ({len(shown)} of {tok.vocab_size}): " + " ".join(repr(t) for t in shown))
    if args.text is not None:
        ids = tok.encode(args.text)
        print(f"{args.text!r} -> {len(ids)} tokens:")
        print("  ids:    " + " ".join(map(str, ids)))
        print("  tokens: " + " ".join(repr(_token_text(tok, i)) for i in ids))
    return 0


def run_export(args: argparse.Namespace) -> int:
    from lmlab.tokenizers import BPETokenizer, load_tokenizer

    tok = load_tokenizer(args.tokenizer)
    if not isinstance(tok, BPETokenizer):
        raise LmlabError(f"{args.tokenizer} is a {tok.kind} tokenizer; only bpe tokenizers can be exported (--hf)")
    tok.save_huggingface(args.hf)
    print(f"wrote {args.hf} (load it with tokenizers.Tokenizer.from_file)")
    return 0


def _describe(tok: Tokenizer) -> str:
    from lmlab.tokenizers import BPETokenizer

    if isinstance(tok, BPETokenizer):
        mode = "byte-level" if tok.byte_level else f"character mode, {len(tok.alphabet)} characters"
        return f"bpe tokenizer ({mode}): {tok.vocab_size:,} tokens, {len(tok.merges):,} merges"
    return f"{tok.kind} tokenizer: {tok.vocab_size:,} tokens"


def _token_text(tok: Tokenizer, i: int) -> str:
    from lmlab.tokenizers import BPETokenizer

    return tok.token_text(i) if isinstance(tok, BPETokenizer) else tok.id_to_token(i)


def _read_files(files: list[str], encoding_errors: str) -> list[str]:
    from lmlab.data import read_lines

    lines: list[str] = []
    for f in files:
        _check_text_file(Path(f))
        lines += read_lines(f, encoding_errors=encoding_errors)
    return lines


def _check_text_file(path: Path) -> None:
    """A FILE argument must be a regular file: say what it is otherwise, and what to give instead."""
    if path.is_dir():
        raise LmlabError(f"{path} is a directory; give the text files in it (e.g. {path / '*.txt'})")
    if not path.exists():
        raise LmlabError(f"{path}: no such file")
    if not path.is_file():  # a FIFO or a device: read to the end, it could hang or never end
        raise LmlabError(f"{path} is not a regular file (a FIFO or a device); give a text file")


def _input_lines(files: list[str], inline: str | None, encoding_errors: str) -> list[str]:
    from lmlab.data import split_lines

    if inline is not None:
        if files:
            raise LmlabError("give either files or the text on the command line, not both")
        return split_lines(inline) or [""]
    if files:
        return _read_files(files, encoding_errors)
    data = sys.stdin.buffer.read()
    try:
        return split_lines(data.decode("utf-8", errors=encoding_errors))
    except UnicodeDecodeError as e:
        raise LmlabError(f"standard input is not valid UTF-8 at byte offset {e.start}") from None


def _parse_ids(line: str, n: int, vocab_size: int) -> list[int]:
    ids = []
    for field in line.split():
        try:
            i = int(field)
        except ValueError:
            raise LmlabError(f"line {n}: {field!r} is not a token id (an integer)") from None
        if not 0 <= i < vocab_size:
            raise LmlabError(f"line {n}: token id {i} is out of range (ids 0 to {vocab_size - 1})")
        ids.append(i)
    return ids


@contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
    else:
        with atomic_open(path) as f:
            yield f
