"""PostgreSQL work on the event loop itself, not on worker threads.

A service function is synchronous peewee code. On PostgreSQL, :class:`GreenRunner` runs it in a
greenlet on the event loop's thread; wherever psycopg2 would wait for the server, its wait
callback switches back to the loop, which waits for the socket as any coroutine does, and then
switches into the greenlet again. The same pattern lets SQLAlchemy run its synchronous ORM
over asyncio drivers. Compared with a pool of threads it saves, for each statement, a hand-over
of the GIL between a thread and the loop, and for each call a thread's wake-up and the loop's;
and the threads' memory.

Each run holds one of ``slots`` connection states (peewee keeps the connection and the
transaction there), so at most ``slots`` runs are in progress and each has its own connection,
kept from run to run. Outside a green run (a thread, a command-line tool), psycopg2 waits for
the socket in the calling thread, as it would without the callback. A thread of the bot that
queries (the ``/healthz`` check) uses a handle of its own (``connection.separate_handle``): the
pool's lock, held by a thread while it connects, would otherwise hold up the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import selectors
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import greenlet
from peewee import OperationalError, _ConnectionState

logger = logging.getLogger(__name__)
T = TypeVar("T")
CONNECT_TIMEOUT = 10.0  # seconds; libpq enforces its connect_timeout only when it waits itself


class ConnectionStates:
    """peewee's per-thread connection state, per green run instead while one runs.

    Installed as the database's ``_state``; each attribute peewee reads or writes is that of the
    current greenlet's slot, or else of the current thread (a plain thread-local state)."""

    def __init__(self, thread_local: Any) -> None:
        object.__setattr__(self, "_bound", {})
        object.__setattr__(self, "_thread", thread_local)

    def bind(self, run: greenlet.greenlet, state: _ConnectionState) -> None:
        self._bound[run] = state

    def unbind(self, run: greenlet.greenlet) -> None:
        self._bound.pop(run, None)

    def _current(self) -> Any:
        bound = self._bound
        return bound.get(greenlet.getcurrent(), self._thread) if bound else self._thread

    def __getattr__(self, name: str) -> Any:
        return getattr(self._current(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._current(), name, value)


class _Green(greenlet.greenlet):
    """A green run: its waits go to the loop."""


def wait_callback(connection: Any) -> None:
    """psycopg2's wait callback: wait until ``connection`` can go on with what it does."""
    from psycopg2 import extensions

    current = greenlet.getcurrent()
    green = isinstance(current, _Green)
    while True:
        state = connection.poll()
        if state == extensions.POLL_OK:
            return
        if state == extensions.POLL_READ:
            events = selectors.EVENT_READ
        elif state == extensions.POLL_WRITE:
            events = selectors.EVENT_WRITE
        else:  # pragma: no cover - psycopg2 raises for errors itself
            raise OperationalError(f"unexpected poll state {state}")
        connected = connection.status in (
            extensions.STATUS_READY, extensions.STATUS_BEGIN, extensions.STATUS_PREPARED
        )
        timeout = None if connected else CONNECT_TIMEOUT
        if green:
            ready = current.parent.switch((connection.fileno(), events, timeout))
        else:
            with selectors.DefaultSelector() as selector:
                selector.register(connection.fileno(), events)
                ready = bool(selector.select(timeout))
        if not ready:
            raise OperationalError(f"no answer from the server within {timeout:g} s")


def install_wait_callback() -> None:
    from psycopg2 import extensions

    if extensions.get_wait_callback() is not wait_callback:
        extensions.set_wait_callback(wait_callback)


class GreenRunner:
    """Runs synchronous database work on the loop's thread, ``slots`` runs at most at once."""

    def __init__(self, database: Any, slots: int) -> None:
        install_wait_callback()
        if not isinstance(database._state, ConnectionStates):  # another runner's already
            database._state = ConnectionStates(database._state)
        self.database = database
        self._states = database._state
        # peewee's lock guards a thread's connection state while it connects or closes; here
        # each run has a state of its own, and a run that held a thread lock while it waits for
        # the server would block every other run on the loop's thread.
        database._lock = contextlib.nullcontext()
        self._free = [_ConnectionState() for _ in range(slots)]
        self._slots = asyncio.Semaphore(slots)
        self._running = 0
        self._idle = threading.Event()
        self._idle.set()
        self._loop_thread: int | None = None
        self._cut_off: list[greenlet.greenlet] = []

    async def run(self, call: Callable[[], T]) -> T:
        await self._slots.acquire()
        # A cancelled caller does not stop the work midway (a thread would not either): it runs
        # to its end, and gives its slot back then.
        work = asyncio.ensure_future(self._drive(call))
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            work.add_done_callback(_report_unawaited)
            raise

    def settle(self, timeout: float) -> bool:
        """Wait until no run is in progress; False when that cannot be (called on the loop's
        thread while runs are in progress) or did not happen within ``timeout`` seconds."""
        if self._idle.is_set():
            return True
        if threading.get_ident() == self._loop_thread:
            return False
        return self._idle.wait(timeout)

    async def _drive(self, call: Callable[[], T]) -> T:
        self._loop_thread = threading.get_ident()
        state = self._free.pop()
        run = _Green(call)
        run.gr_context = contextvars.copy_context()
        self._states.bind(run, state)
        self._running += 1
        self._idle.clear()
        loop = asyncio.get_running_loop()
        try:
            request = run.switch()
            while not run.dead:
                fd, events, timeout = request
                try:
                    ready = await _ready(loop, fd, events, timeout)
                except (OSError, ValueError) as exc:  # the socket went away under the wait
                    request = run.throw(OperationalError(f"waiting for the server: {exc}"))
                    continue
                request = run.switch(ready)
            return request
        finally:
            self._states.unbind(run)
            if not run.dead:
                state = self._cut_off_run(run, state)
            self._free.append(state)
            self._running -= 1
            if not self._running:
                self._idle.set()
            self._slots.release()

    def _cut_off_run(self, run: greenlet.greenlet, state: _ConnectionState) -> _ConnectionState:
        """A run stopped in the middle (the loop is shutting down): its connection is held in
        mid-statement, so it is neither reused nor closed (psycopg2 would wait for the statement
        to end); the server rolls its transaction back when the process ends. The slot goes on
        with a new state."""
        self._cut_off.append(run)  # not collected: that would resume it to unwind
        conn = state.conn
        if conn is not None:
            with self.database._pool_lock:
                self.database._in_use.pop(self.database.conn_key(conn), None)
        logger.warning("database work cut off in the middle: its connection is left to the server")
        return _ConnectionState()


def _report_unawaited(work: asyncio.Future[Any]) -> None:
    """The outcome of a run whose caller gave up: nobody else will look at its error."""
    if not work.cancelled() and work.exception() is not None:
        logger.error("database work failed after its caller gave up", exc_info=work.exception())


async def _ready(loop: asyncio.AbstractEventLoop, fd: int, events: int, timeout: float | None) -> bool:
    """Whether ``fd`` became ready for ``events`` within ``timeout`` seconds."""
    ready = loop.create_future()

    def mark() -> None:
        if not ready.done():
            ready.set_result(True)

    add, remove = (
        (loop.add_reader, loop.remove_reader) if events & selectors.EVENT_READ
        else (loop.add_writer, loop.remove_writer)
    )
    add(fd, mark)
    try:
        if timeout is None:
            return await ready
        try:
            async with asyncio.timeout(timeout):
                return await ready
        except TimeoutError:
            return False
    finally:
        remove(fd)
