"""The ``lmlab`` command: train, eval, generate, export, data, plot, tokenizer.

Every mistake a user can fix (a bad flag value, a missing corpus, a malformed file) is reported as one line on
standard error with exit status 2, and no traceback. Ctrl-C and SIGTERM stop any command cleanly (temporary files
and partial runs removed, a neural training saved first) with one line and exit status 130 or 143.
"""

from __future__ import annotations

import argparse
import errno
import os
import shlex
import sys

from lmlab import __version__
from lmlab.errors import LmlabError
from lmlab.interrupt import Terminated, raise_on_sigterm, restore_sigterm
from lmlab.train.ranks import is_worker

#: Set by ``lmlab train --nproc`` in its workers' environment: the launcher says how a stopped run ended, once
LAUNCHED_ENV = "LMLAB_LAUNCHED"


def setup_logging(verbose: bool, worker: bool = False) -> None:
    """lmlab's log on standard error, a line a record (``lmlab: warning: ...``): warnings and errors, information
    too with ``-v``; errors alone in a process of rank > 0 (``worker``), whose rank 0 says the rest.

    Every command calls it before its work, except ``lmlab eval``, which calls it where it leaves its lean path
    (an n-gram model file, evaluated in a few tens of milliseconds, logs nothing): importing logging here would
    cost that path about a tenth of its time."""
    import logging

    class OneLineFormatter(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return f"lmlab: {record.levelname.lower()}: {record.getMessage()}"

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter())
    root = logging.getLogger("lmlab")
    root.handlers[:] = [handler]
    root.setLevel(logging.ERROR if worker else logging.INFO if verbose else logging.WARNING)
    root.propagate = False


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


def command_name(argv: list[str]) -> str | None:
    """The command ``argv`` names, its first argument that is not an option; None when there is none or a help
    option comes first (``lmlab -h eval`` shows every command). lmlab's own options take no value.

    >>> command_name(["-v", "eval", "run"]), command_name(["--help", "eval"]), command_name([])
    ('eval', None, None)
    """
    for arg in argv:
        if arg in ("-h", "--help"):
            return None
        if not arg.startswith("-"):
            return arg
    return None


def _command_modules(name: str | None = None):
    """The module of the shared verb ``name`` alone, where it is one (:data:`SHARED_VERBS`); otherwise every
    command's: the shared verbs, then the verbs each task declares in its spec (``Task.commands``)."""
    import importlib

    if name in SHARED_VERBS:
        return [importlib.import_module(SHARED_VERBS[name])]

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
    declared = [importlib.import_module(name) for name in command_modules()]
    return [*shared, *declared, fundamentals_cmd, tokenizer_cmd, serve_cmd]


def describe_os_error(e: OSError) -> str:
    """One line for an OSError: the file (or files) and the reason, without the errno number.

    >>> describe_os_error(IsADirectoryError(21, "Is a directory", "corpus"))
    'corpus: Is a directory'
    >>> describe_os_error(IsADirectoryError(21, "Is a directory", ".out.png.x1.tmp", None, "out.png"))
    'out.png is a directory; give the name of a file to write'
    """
    reason = e.strerror or str(e)
    if isinstance(e, IsADirectoryError) and e.filename2 is not None:  # a file written in place of a directory
        return f"{e.filename2} is a directory; give the name of a file to write"
    if isinstance(e, FileExistsError) and e.filename is not None and not os.path.isdir(e.filename):
        reason += " (and is not a directory)"  # e.g. --out below a file: mkdir meets the file
    if e.filename is not None and e.filename2 is not None:
        return f"{e.filename} -> {e.filename2}: {reason}"
    if e.filename is not None:
        return f"{e.filename}: {reason}"
    if e.errno == errno.ENOSPC:
        return f"{reason} (while writing; free some space and run the command again)"
    return reason


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


def _rank_0_says_it(grace: float = 5.0) -> bool:
    """A process of rank > 0 that met bad input: every process meets the same input, and rank 0's one line is
    the one to read. Wait for it: once rank 0 has failed, torchrun stops this process (SIGTERM: False, stay quiet);
    if it has not within ``grace`` seconds, the input was this process's alone (True: say it)."""
    import time

    try:
        time.sleep(grace)
    except KeyboardInterrupt:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    sigterm = raise_on_sigterm()  # SIGTERM (schedulers, docker stop, lmlab compare) ends a command like Ctrl-C
    worker = is_worker()  # a process of rank > 0 under torchrun: rank 0 reports, the others stay quiet
    launched = bool(os.environ.get(LAUNCHED_ENV))  # started by `lmlab train --nproc`, which says how a stop ended
    if worker:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    try:
        parser = build_parser(argv)
        args = parser.parse_args(argv)
        args.command_line = shlex.join(["lmlab", *argv])
        if not getattr(args, "sets_up_logging", False):  # lmlab eval: where it leaves its lean path
            setup_logging(args.verbose, worker)
        return int(args.func(args) or 0)
    except LmlabError as e:
        if worker and not _rank_0_says_it():
            return 143
        print(f"lmlab: error: {e}", file=sys.stderr)
        return 2
    except Terminated:
        if not (worker or launched):
            print("lmlab: terminated (SIGTERM)", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        if not (worker or launched):
            print("lmlab: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `lmlab generate ... | head`
        return 0
    except OSError as e:  # a file given or written: missing, a directory, read-only, no space left
        print(f"lmlab: error: {describe_os_error(e)}", file=sys.stderr)
        return 2
    finally:
        restore_sigterm(sigterm)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
