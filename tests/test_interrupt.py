"""SIGTERM handled as Ctrl-C (:mod:`lmlab.interrupt`): set at every command's start without importing threading."""

from __future__ import annotations

import signal
import threading

from lmlab.interrupt import Terminated, raise_on_sigterm, restore_sigterm


def test_sigterm_raises_terminated_on_the_main_thread_and_the_handler_is_given_back():
    before = signal.getsignal(signal.SIGTERM)
    previous = raise_on_sigterm()
    try:
        assert previous == before  # SIG_DFL: signal's IntEnum, or the int lmlab.interrupt gets from _signal
        try:
            signal.raise_signal(signal.SIGTERM)
        except Terminated:
            pass
        else:  # pragma: no cover - the assertion below says it
            raise AssertionError("SIGTERM did not raise Terminated")
    finally:
        restore_sigterm(previous)
    assert signal.getsignal(signal.SIGTERM) == before


def test_off_the_main_thread_nothing_is_set_and_nothing_is_given_back():
    before = signal.getsignal(signal.SIGTERM)
    got = []
    thread = threading.Thread(target=lambda: got.append(raise_on_sigterm()))
    thread.start()
    thread.join()
    assert got == [None] and signal.getsignal(signal.SIGTERM) is before
    restore_sigterm(None)  # nothing to give back: a no-op
    assert signal.getsignal(signal.SIGTERM) is before
