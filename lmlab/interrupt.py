"""Ctrl-C (SIGINT) and SIGTERM, handled alike: schedulers, ``docker stop`` and ``lmlab compare`` stop a process
with SIGTERM, a person with Ctrl-C, and both mean "stop cleanly".

Outside neural training, :func:`raise_on_sigterm` (at every command's start) turns SIGTERM into :class:`Terminated`,
a ``KeyboardInterrupt``, so every ``except BaseException`` clean-up (temporary files, partial run folders) runs for
it as it does for Ctrl-C. Inside the training loop, :class:`StopAfterStep` only records the signal: the loop
finishes its step, saves a checkpoint, says so, and then raises :func:`exception_for` the signal. Exit status: 130
after SIGINT, 143 after SIGTERM (128 + the signal number, the shells' convention).
"""

from __future__ import annotations

# signal's C module, whose numbers and functions the signal module wraps: that module makes its constants and
# handlers IntEnums, and enum's import is a few milliseconds of every command's start (see lmlab.lazy); a handler
# given back is a plain int here (SIG_DFL, SIG_IGN) where signal's would be its IntEnum, which equals it
import _signal as signal

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


class StopAfterStep:
    """While active (a ``with`` block, which gives its ``flag``), Ctrl-C or SIGTERM only sets ``flag["signal"]``
    (the training loop saves and stops after the current step); a second Ctrl-C interrupts at once.

    Only a second Ctrl-C does: ``lmlab compare`` sends SIGTERM to a child that the terminal's Ctrl-C has reached
    too (in either order), and a scheduler's SIGTERM is followed by its own SIGKILL anyway.
    """

    def __init__(self) -> None:
        self.flag: dict[str, int | None] = {"signal": None}
        self.ctrl_c = 0
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> dict[str, int | None]:
        if _main_thread():
            import logging  # here: this module is imported at every command's start, where logging need not be

            self.log = logging.getLogger(__name__)
            self.previous = {s: signal.signal(s, self._handler) for s in (signal.SIGINT, signal.SIGTERM)}
        return self.flag

    def __exit__(self, *exc: object) -> None:
        for s, h in self.previous.items():
            signal.signal(s, h)
        self.previous = {}

    def _handler(self, signum: int, frame: object) -> None:
        if signum == signal.SIGINT:
            self.ctrl_c += 1
            if self.ctrl_c > 1:
                raise KeyboardInterrupt
        if self.flag["signal"] is not None:
            return
        self.flag["signal"] = signum
        if signum == signal.SIGTERM:
            self.log.warning("terminated (SIGTERM): saving a checkpoint after this step")
        else:
            self.log.warning("interrupted: saving a checkpoint after this step (press Ctrl-C again to quit at once)")


__all__ = [
    "Terminated",
    "exception_for",
    "raise_on_sigterm",
    "restore_sigterm",
    "StopAfterStep",
]
