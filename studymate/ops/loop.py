"""The main loop of a daemon: stop on SIGTERM/SIGINT, wake early, bounded sleep.

The watchdog, the backup scheduler and the log rotator sleep between rounds in
:meth:`Loop.wait`. A signal handler or another thread (the watchdog's inotify thread) writes
one byte to a pipe the loop sleeps on; no lock is involved, so a signal arriving at any moment
can never deadlock the loop, and work in progress is never interrupted: the loop ends after
the current round. For the stop flag a Loop behaves like a :class:`threading.Event`
(``set``, ``is_set``, ``wait``), so code written against an Event takes a Loop as it is.
"""

from __future__ import annotations

import logging
import os
import select
import signal
from collections.abc import Iterable

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Loop:
    def __init__(self, *, max_sleep: float | None = None) -> None:
        self.max_sleep = max_sleep  # wake at least this often (clock steps, suspend)
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._stopping = False
        self._signal: int | None = None
        self._told = False

    def handle_signals(self, signals: Iterable[int] = STOP_SIGNALS) -> Loop:
        """Stop on these signals (from the main thread)."""
        for signum in signals:
            signal.signal(signum, self._on_signal)
        return self

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._signal = signum  # logged by wait(), outside the handler: logging takes locks
        self.set()

    def set(self) -> None:
        """Ask the loop to stop after the current round."""
        self._stopping = True
        self.wake()

    stop = set

    def is_set(self) -> bool:
        return self._stopping

    @property
    def stopping(self) -> bool:
        return self._stopping

    def wake(self) -> None:
        """End the current (or next) wait early, from any thread or a signal handler."""
        try:
            os.write(self._write, b"!")
        except OSError:
            pass  # the pipe is full (already awake) or closed

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep up to ``timeout`` seconds (and ``max_sleep``), until woken or stopped.

        Returns whether the loop is stopping, like :meth:`threading.Event.wait`.
        """
        limits = [t for t in (timeout, self.max_sleep) if t is not None]
        if not self._stopping:
            select.select([self._read], [], [], max(0.0, min(limits)) if limits else None)
        try:
            while os.read(self._read, 4096):
                pass
        except (BlockingIOError, OSError):
            pass
        if self._signal is not None and not self._told:
            self._told = True
            logger.info("received %s: stopping", signal.Signals(self._signal).name)
        return self._stopping

    def close(self) -> None:
        for fd in (self._read, self._write):
            try:
                os.close(fd)
            except OSError:
                pass
