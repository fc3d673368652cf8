"""Ctrl-C (SIGINT) and SIGTERM, handled alike: schedulers, ``docker stop`` and ``lmlab compare`` stop a process
with SIGTERM, a person with Ctrl-C, and both mean "stop cleanly".

Outside neural training, :func:`sigterm_raises` turns SIGTERM into :class:`Terminated`, a ``KeyboardInterrupt``,
so every ``except BaseException`` clean-up (temporary files, partial run folders) runs for it as it does for
Ctrl-C. Inside the training loop, :func:`stop_after_step` only records the signal: the loop finishes its step,
saves a checkpoint, says so, and then raises :func:`exception_for` the signal. Exit status: 130 after SIGINT,
143 after SIGTERM (128 + the signal number, the shells' convention).
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing (see lmlab.lazy)
if TYPE_CHECKING:
    from typing import Any


class Terminated(KeyboardInterrupt):
    """SIGTERM received: stop as for Ctrl-C (a ``KeyboardInterrupt``, so the same clean-up runs)."""


def exception_for(signum: int) -> KeyboardInterrupt:
    """The exception that ends a process stopped by ``signum``.

    >>> type(exception_for(signal.SIGTERM)).__name__, type(exception_for(signal.SIGINT)).__name__
    ('Terminated', 'KeyboardInterrupt')
    """
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _main_thread() -> bool:
    import threading  # here: training imports it anyway, a command's start need not

    return threading.current_thread() is threading.main_thread()


def _set_handler(signum: int, handler: Any) -> Any:
    """``signal.signal(signum, handler)``: the handler it replaces, or None off the main thread, where Python
    handles no signal (asked there, ``signal.signal`` raises ValueError; threading is not imported to ask first:
    every lmlab command starts here, ``lmlab eval`` of an n-gram model in a few tens of milliseconds)."""
    try:
        return signal.signal(signum, handler)
    except ValueError:
        return None


def _raise_terminated(signum, frame):
    raise Terminated


def raise_on_sigterm() -> Any:
    """From now on SIGTERM raises :class:`Terminated` in the main thread (Python's default is to die at once,
    leaving temporary files and half-built folders behind); returns the handler to give back to
    :func:`restore_sigterm` (None off the main thread, where signals cannot be handled)."""
    return _set_handler(signal.SIGTERM, _raise_terminated)


def restore_sigterm(previous: Any) -> None:
    if previous is not None:
        _set_handler(signal.SIGTERM, previous)


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """:func:`raise_on_sigterm` for the block."""
    previous = raise_on_sigterm()
    try:
        yield
    finally:
        restore_sigterm(previous)


@contextlib.contextmanager
def stop_after_step() -> Iterator[dict[str, int | None]]:
    """While active, Ctrl-C or SIGTERM only sets ``flag["signal"]`` (the training loop saves and stops after the
    current step); a second Ctrl-C interrupts at once.

    Only a second Ctrl-C does: ``lmlab compare`` sends SIGTERM to a child that the terminal's Ctrl-C has reached
    too (in either order), and a scheduler's SIGTERM is followed by its own SIGKILL anyway.
    """
    flag: dict[str, int | None] = {"signal": None}
    ctrl_c = [0]
    if not _main_thread():
        yield flag
        return
    import logging  # here: this module is imported at every command's start, where logging need not be

    log = logging.getLogger(__name__)

    def handler(signum, frame):
        if signum == signal.SIGINT:
            ctrl_c[0] += 1
            if ctrl_c[0] > 1:
                raise KeyboardInterrupt
        if flag["signal"] is not None:
            return
        flag["signal"] = signum
        if signum == signal.SIGTERM:
            log.warning("terminated (SIGTERM): saving a checkpoint after this step")
        else:
            log.warning("interrupted: saving a checkpoint after this step (press Ctrl-C again to quit at once)")

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


__all__ = [
    "Terminated",
    "exception_for",
    "raise_on_sigterm",
    "restore_sigterm",
    "sigterm_raises",
    "stop_after_step",
]
