"""The ``lmlab`` command line as argparse builds it: the parser of every command, or of the one shared verb a
command line names (:data:`SHARED_VERBS`), whose errors are one line.

Kept apart from :mod:`lmlab.cli.main` so that a command served before any parser is built (``lmlab eval`` of an
n-gram model file, :func:`lmlab.cli.eval_cmd.quick_args`) imports no argparse: with gettext and locale, and the
parser built, a tenth of that command's time.
"""

from __future__ import annotations

import argparse
import os
import sys

from lmlab import __version__
from lmlab.cli.main import command_name
from lmlab.lazy import import_module

#: The module of each shared verb that registers that one command, by its name: a command line naming one of them
#: builds that verb's parser alone (``lmlab eval`` imports no other command's module); any other (a task's verb,
#: help, a mistyped name) builds them all.
SHARED_VERBS = {
    "train": "lmlab.cli.train_cmd",
    "eval": "lmlab.cli.eval_cmd",
    "export": "lmlab.cli.export_cmd",
    "compare": "lmlab.cli.compare_cmd",
    "data": "lmlab.cli.data_cmd",
    "plot": "lmlab.cli.plot_cmd",
    "attention": "lmlab.cli.attention_cmd",
    "tokenizer": "lmlab.cli.tokenizer_cmd",
    "serve": "lmlab.cli.serve_cmd",
}


def _command_modules(name: str | None = None):
    """The module of the shared verb ``name`` alone, where it is one (:data:`SHARED_VERBS`); otherwise every
    command's: the shared verbs, then the verbs each task declares in its spec (``Task.commands``)."""
    if name in SHARED_VERBS:
        return [import_module(SHARED_VERBS[name])]

    from lmlab.cli import (
        attention_cmd,
        compare_cmd,
        data_cmd,
        eval_cmd,
        export_cmd,
        fundamentals_cmd,
        plot_cmd,
        serve_cmd,
        tokenizer_cmd,
        train_cmd,
    )
    from lmlab.tasks import command_modules

    shared = [train_cmd, eval_cmd, export_cmd, compare_cmd, data_cmd, plot_cmd, attention_cmd]
    declared = [import_module(name) for name in command_modules()]
    return [*shared, *declared, fundamentals_cmd, tokenizer_cmd, serve_cmd]


def terminal_columns() -> int:
    """The terminal's width as argparse measures it for help (``shutil.get_terminal_size``: ``$COLUMNS``, else the
    terminal of standard output, else 80), without importing shutil: argparse builds a formatter for every
    argument it adds, and shutil's import (zlib, bz2, lzma) would be a few milliseconds of every command.

    >>> os.environ["COLUMNS"] = "100"
    >>> terminal_columns()
    100
    >>> del os.environ["COLUMNS"]
    """
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):  # no standard output, or not a terminal
            columns = 0
    return columns or 80


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line, as every lmlab error (``lmlab: error: argument --beam: must be an
    integer from 1 to 100, got '1000000'; see lmlab translate --help``), exit status 2, instead of the usage block
    and the message. Sub-commands' parsers are of the same class."""

    def error(self, message: str):
        self.exit(2, f"lmlab: error: {message}; see {self.prog} --help\n")

    def _get_formatter(self) -> argparse.HelpFormatter:
        # argparse's own width (the terminal's, less 2), measured without shutil (see terminal_columns)
        return self.formatter_class(prog=self.prog, width=terminal_columns() - 2)


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    """The parser of ``lmlab``'s options and of the command ``argv`` names, where it is a shared verb (see
    :func:`lmlab.cli.main.command_name`); of every command otherwise."""
    parser = OneLineParser(
        prog="lmlab",
        description="Train, evaluate, compare and sample language models on your own text.",
    )
    parser.add_argument("--version", action="version", version=f"lmlab {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in _command_modules(command_name(argv)):
        module.register(sub, argv) if module.__name__.endswith("train_cmd") else module.register(sub)
    return parser


__all__ = ["SHARED_VERBS", "OneLineParser", "build_parser", "terminal_columns"]
