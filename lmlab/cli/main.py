"""The ``lmlab`` command: train, eval, generate, export, data, plot, tokenizer.

Every mistake a user can fix (a bad flag value, a missing corpus, a malformed file) is reported as one line on
standard error with exit status 2, and no traceback. Ctrl-C and SIGTERM stop any command cleanly (temporary files
and partial runs removed, a neural training saved first) with one line and exit status 130 or 143.
"""

from __future__ import annotations

import errno
import os
import sys

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


def _quick_eval(argv: list[str]) -> tuple[bool, int | None]:
    """``lmlab eval`` of a run its task evaluates on a lean path (an n-gram model file: a few tens of milliseconds),
    for a command line in one of the plain forms :func:`lmlab.cli.eval_cmd.quick_args` reads without argparse:
    whether the lean path was tried, and its exit status (None: not tried, or it handed the run over; argparse then
    parses the command line as every command's)."""
    from lmlab.cli.eval_cmd import quick_args, run_lean

    args = quick_args(argv)
    return (False, None) if args is None else (True, run_lean(args))


def main(argv: list[str] | None = None) -> int:
    """The ``lmlab`` command on ``argv`` (default: the process's arguments): its exit status. The garbage collector
    is on afterwards as before (``lmlab eval``'s lean path turns it off: :func:`lmlab.cli.eval_cmd.run_lean`)."""
    import gc

    enabled = gc.isenabled()
    try:
        return _command(list(sys.argv[1:] if argv is None else argv))[0]
    finally:
        if enabled:
            gc.enable()


def entry() -> None:
    """The ``lmlab`` program (its console script and ``python -m lmlab``): :func:`main`, then the process's exit.

    A command served on ``lmlab eval``'s lean path (an n-gram model file scored in a few tens of milliseconds)
    leaves nothing to close or clean up: no file open for writing, no thread, no exit handler, no temporary file.
    Its process ends as soon as standard output and error are flushed (``os._exit``), without Python's own
    clean-up, which frees every object the command and its imports made one by one (the vocabulary, the text, the
    modules) and collects them once more: a twentieth of the command's time. Every other command exits as Python
    does."""
    status, lean = _command(sys.argv[1:])
    if lean:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except OSError:  # e.g. a closed pipe: Python's own exit reports it as it does for any command
            sys.exit(status)
        os._exit(status)
    sys.exit(status)


def _command(argv: list[str]) -> tuple[int, bool]:
    """:func:`main`'s exit status, and whether the command was served on ``lmlab eval``'s lean path."""
    sigterm = raise_on_sigterm()  # SIGTERM (schedulers, docker stop, lmlab compare) ends a command like Ctrl-C
    worker = is_worker()  # a process of rank > 0 under torchrun: rank 0 reports, the others stay quiet
    launched = bool(os.environ.get(LAUNCHED_ENV))  # started by `lmlab train --nproc`, which says how a stop ended
    if worker:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    try:
        lean_tried, status = _quick_eval(argv) if command_name(argv) == "eval" else (False, None)
        if status is not None:
            return status, True
        import shlex

        from lmlab.cli.parser import build_parser

        args = build_parser(argv).parse_args(argv)
        args.command_line = shlex.join(["lmlab", *argv])
        args.lean_tried = lean_tried  # lmlab eval: its lean path handed the run over, and is not asked again
        if not getattr(args, "sets_up_logging", False):  # lmlab eval: where it leaves its lean path
            setup_logging(args.verbose, worker)
        return int(args.func(args) or 0), False
    except LmlabError as e:
        if worker and not _rank_0_says_it():
            return 143, False
        print(f"lmlab: error: {e}", file=sys.stderr)
        return 2, False
    except Terminated:
        if not (worker or launched):
            print("lmlab: terminated (SIGTERM)", file=sys.stderr)
        return 143, False
    except KeyboardInterrupt:
        if not (worker or launched):
            print("lmlab: interrupted", file=sys.stderr)
        return 130, False
    except BrokenPipeError:  # e.g. `lmlab generate ... | head`
        return 0, False
    except OSError as e:  # a file given or written: missing, a directory, read-only, no space left
        print(f"lmlab: error: {describe_os_error(e)}", file=sys.stderr)
        return 2, False
    finally:
        restore_sigterm(sigterm)


if __name__ == "__main__":  # pragma: no cover
    entry()
