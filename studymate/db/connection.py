"""Opening the database and running synchronous peewee work without blocking the event loop.

Why not ``playhouse.pwasyncio``: its PostgreSQL backend needs asyncpg, while the design card
ships psycopg2. Services stay plain synchronous functions; the bot calls them with
``await db.run(fn, ...)``, which runs them in a transaction: on SQLite in one worker thread (one
writer; no busy-wait contention inside the process), on PostgreSQL on the event loop's own thread,
each in a greenlet that gives way to the loop while it waits for the server (``green.py``).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from peewee import (
    SQL,
    Cast,
    Database,
    Expression,
    NodeList,
    OperationalError,
    PostgresqlDatabase,
    SqliteDatabase,
    fn,
)
from playhouse.db_url import parse as parse_db_url
from playhouse.pool import PooledPostgresqlDatabase

from studymate.db.driver import load_psycopg2
from studymate.db.models import database_proxy

logger = logging.getLogger(__name__)
T = TypeVar("T")

LOCKED_FIRST_PAUSE = 0.25  # seconds between tries while SQLite is locked, doubling ...
LOCKED_MAX_PAUSE = 4.0  # ... up to this
CLOSE_PATIENCE = 30.0  # seconds Db.close() waits for database work still running
# PostgreSQL pools: an idle connection older than 300 s is replaced; a full pool is waited on 30 s.
POOL_TIMEOUTS = {"stale_timeout": 300, "timeout": 30}

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10_000,
    "synchronous": "normal",
    "cache_size": -2_000,
}


def open_database(url: str, *, pool_size: int = 4, busy_timeout: float = 10.0) -> Database:
    """Create (not connect) a peewee database for ``url`` and bind the models to it.

    ``busy_timeout``: how long a SQLite statement waits for another process's write lock."""
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower()
    if scheme == "sqlite":
        path = url.split("://", 1)[1]
        path = path[1:] if path.startswith("/") else path  # sqlite:///rel or sqlite:////abs
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        pragmas = {**SQLITE_PRAGMAS, "busy_timeout": round(busy_timeout * 1000)}
        database: Database = SqliteDatabase(path, pragmas=pragmas, timeout=busy_timeout)
    elif scheme in ("postgres", "postgresql"):
        load_psycopg2()  # not loaded before: SQLite processes do without its libraries
        params = parse_db_url(url.replace("postgres://", "postgresql://", 1))
        params.setdefault("connect_timeout", 10)
        database = LazyBeginPostgresql(max_connections=pool_size + 2, **POOL_TIMEOUTS, **params)
    else:  # Settings validate the scheme; this is for direct callers.
        raise ValueError(f"unsupported database URL scheme: {scheme}")
    database_proxy.initialize(database)
    return database


class LazyBeginPostgresql(PooledPostgresqlDatabase):
    """PostgreSQL whose BEGIN travels with a transaction's first statement, in one round trip
    (``BEGIN; SELECT …``), instead of going to the server alone first. A transaction that runs
    no statement costs no round trip at all. Each round trip is a wait, a GIL hand-over and a
    server wake-up: a quiz answer needs three instead of four."""

    def begin(self, isolation_level: Any = None) -> None:
        if isolation_level or self._isolation_level:
            super().begin(isolation_level)
            return
        if self.is_closed() and self.autoconnect:
            # Connect now, as BEGIN sent at once would: connecting later, at the first
            # statement, would reset the state that holds this transaction.
            self.connect()
        self._state.begin_pending = True

    def _execute_cursor(self, sql: str, params: Any, **cursor_options: Any) -> Any:
        if not (self._take_pending_begin() and self.transaction_depth() > 0):
            return super()._execute_cursor(sql, params, **cursor_options)
        try:  # the server runs both; the cursor holds the last's result
            return super()._execute_cursor("BEGIN; " + sql, params, **cursor_options)
        except Exception:
            # Refused before the server began the transaction (a value psycopg2 cannot send, a
            # syntax error, which fails the whole text): the next statement must begin it.
            from psycopg2 import extensions

            conn = self._state.conn
            if conn is not None and not conn.closed and (
                conn.get_transaction_status() == extensions.TRANSACTION_STATUS_IDLE
            ):
                self._state.begin_pending = True
            raise

    def commit(self) -> None:
        if not self._take_pending_begin():
            super().commit()

    def rollback(self) -> None:
        if not self._take_pending_begin():
            super().rollback()

    def _take_pending_begin(self) -> bool:
        """Whether this connection state's BEGIN is still to be sent; it is not, after this."""
        pending = getattr(self._state, "begin_pending", False)
        self._state.begin_pending = False
        return pending


def separate_handle(database: Database) -> Database:
    """Another handle on ``database``'s server, with connections and locks of its own and not
    bound to the models: for checks from another thread (``/healthz``), which must never hold a
    lock the bot's database work waits for on the event loop."""
    if not isinstance(database, PooledPostgresqlDatabase):
        return database  # SQLite: its one worker thread takes no lock the checks could hold
    return PooledPostgresqlDatabase(
        database.database, max_connections=2, **POOL_TIMEOUTS, **database.connect_params
    )


def is_postgres(database: Database) -> bool:
    return isinstance(database, PostgresqlDatabase)


def skip_locked(query: Any, of: Any = None) -> Any:
    """Rows a replica takes to work on: on PostgreSQL ``FOR UPDATE SKIP LOCKED`` (of the
    ``of`` table only, when the query joins others), so concurrent bot processes lock disjoint
    rows until their transaction ends instead of racing for the same ones. SQLite needs
    nothing: its IMMEDIATE transactions already admit one writer at a time."""
    if isinstance(database_proxy.obj, PostgresqlDatabase):
        return query.for_update(of=of, skip_locked=True)
    return query


def json_int_at(array: Any, index: Any) -> Expression:
    """The integer at ``index`` of a JSON array kept in a text column, as this engine says it
    (SQLite's json_extract, PostgreSQL's ->>), for joining on an id the array holds."""
    if isinstance(database_proxy.obj, PostgresqlDatabase):
        return Cast(NodeList((Cast(array, "json"), SQL("->>"), index)), "integer")
    return fn.json_extract(array, fn.printf("$[%d]", index))


def transaction(database: Database) -> Any:
    """A transaction for one use case. On SQLite it takes the write lock up front (IMMEDIATE):
    a deferred read that later writes fails with SQLITE_BUSY when another process (the CLI, the
    watchdog) wrote in between, instead of waiting its turn."""
    if isinstance(database, SqliteDatabase):
        return database.atomic("IMMEDIATE")
    return database.atomic()


class Db:
    """The bot's handle on the database: ``await db.run(service_fn, *args)``.

    Each worker thread (SQLite) or slot of green runs (PostgreSQL) keeps its connection between
    calls. A connection the server dropped (a restart, a failover, a restore) is replaced on its
    next use, and the transaction that found it dead runs again once on a new one, unless it was
    already committing: the server rolls back whatever a dead connection had not committed, so
    nothing of it took effect. On SQLite
    a write lock held by another process past the busy timeout is waited out, with growing
    pauses, for up to ``locked_retry`` seconds, then the error goes to the caller.
    """

    def __init__(self, database: Database, *, threads: int = 4, locked_retry: float = 60.0) -> None:
        self.database = database
        self.locked_retry = locked_retry
        self._green = self._executor = None
        if is_postgres(database):
            from studymate.db.green import GreenRunner  # with psycopg2: not on SQLite

            self._green = GreenRunner(database, slots=threads)
        else:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db")

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` in one transaction (SQLite: on the database thread; PostgreSQL: in a green
        run on the loop's thread)."""
        loop = asyncio.get_running_loop()
        call = functools.partial(self._call, fn, *args, **kwargs)
        deadline = loop.time() + self.locked_retry
        pause = LOCKED_FIRST_PAUSE
        while True:
            try:
                if self._green is not None:
                    return await self._green.run(call)
                ctx = contextvars.copy_context()
                return await loop.run_in_executor(self._executor, ctx.run, call)
            except OperationalError as exc:
                if not self._locked(exc) or loop.time() + pause > deadline:
                    raise
                level = logging.WARNING if pause == LOCKED_FIRST_PAUSE else logging.DEBUG
                logger.log(level, "database locked by another process: %s waits %.1f s", _name(fn), pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, LOCKED_MAX_PAUSE)

    def _locked(self, exc: OperationalError) -> bool:
        return isinstance(self.database, SqliteDatabase) and "locked" in str(exc)

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        database = self.database
        for attempt in (1, 2):
            conn, committing = None, False
            try:
                conn = self._connection()
                with transaction(database):
                    result = fn(*args, **kwargs)
                    committing = True
                return result
            except Exception as exc:
                if conn is not None and not _closed(conn):
                    raise  # the connection is fine: an error of the work itself
                self._discard()
                if committing or attempt == 2:
                    raise
                logger.warning(
                    "database connection lost (%s): %s runs again on a new one",
                    _first_line(exc), _name(fn),
                )
        raise AssertionError("unreachable")

    def _connection(self) -> Any:
        """This thread's connection, a new one if the old one is known to be dead."""
        database = self.database
        if not database.is_closed() and _closed(database.connection()):
            self._discard()
        database.connect(reuse_if_open=True)
        return database.connection()

    def _discard(self) -> None:
        """Drop this thread's connection without handing it back to the pool."""
        database = self.database
        try:
            if isinstance(database, PooledPostgresqlDatabase):
                database.manual_close()
            else:
                database.close()
        except Exception as exc:  # closing a dead connection may complain; it is gone either way
            logger.debug("closing a lost connection: %s", exc)

    def close(self) -> None:
        """Wait for running work, then close every connection. Called on the event loop's own
        thread, it cannot wait for work there: it then closes the idle connections only."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        if self._green is not None and not self._green.settle(timeout=CLOSE_PATIENCE):
            logger.warning("database work still running: only idle connections closed")
            self.database.close_idle()
            return
        if isinstance(self.database, PooledPostgresqlDatabase):
            self.database.close_all()
        else:
            self.database.close()


def _closed(conn: Any) -> bool:
    """psycopg2 marks a connection it found broken (``closed`` 2); SQLite has no such state."""
    return bool(getattr(conn, "closed", 0))


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or type(fn).__name__
