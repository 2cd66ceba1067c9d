"""Opening the database and running synchronous peewee work off the event loop.

Why threads and not ``playhouse.pwasyncio``: its PostgreSQL backend needs asyncpg, while the
design card ships psycopg2. Services stay plain synchronous functions; the bot calls them with
``await db.run(fn, ...)``, which runs them in a transaction on a worker thread. SQLite gets a
single worker (one writer; no busy-wait contention inside the process), PostgreSQL a pool.
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

from peewee import Database, PostgresqlDatabase, SqliteDatabase
from playhouse.db_url import parse as parse_db_url
from playhouse.pool import PooledPostgresqlDatabase

from studymate.db.models import database_proxy

logger = logging.getLogger(__name__)
T = TypeVar("T")

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10_000,
    "synchronous": "normal",
    "cache_size": -16_000,
}


def open_database(url: str, *, pool_size: int = 4) -> Database:
    """Create (not connect) a peewee database for ``url`` and bind the models to it."""
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower()
    if scheme == "sqlite":
        path = url.split("://", 1)[1]
        path = path[1:] if path.startswith("/") else path  # sqlite:///rel or sqlite:////abs
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        database: Database = SqliteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=10)
    elif scheme in ("postgres", "postgresql"):
        params = parse_db_url(url.replace("postgres://", "postgresql://", 1))
        params.setdefault("connect_timeout", 10)
        database = PooledPostgresqlDatabase(
            max_connections=pool_size + 2, stale_timeout=300, timeout=30, **params
        )
    else:  # Settings validate the scheme; this is for direct callers.
        raise ValueError(f"unsupported database URL scheme: {scheme}")
    database_proxy.initialize(database)
    return database


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


def transaction(database: Database) -> Any:
    """A transaction for one use case. On SQLite it takes the write lock up front (IMMEDIATE):
    a deferred read that later writes fails with SQLITE_BUSY when another process (the CLI, the
    watchdog) wrote in between, instead of waiting its turn."""
    if isinstance(database, SqliteDatabase):
        return database.atomic("IMMEDIATE")
    return database.atomic()


class Db:
    """The bot's handle on the database: ``await db.run(service_fn, *args)``."""

    def __init__(self, database: Database, *, threads: int = 4) -> None:
        self.database = database
        workers = threads if is_postgres(database) else 1
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="db")

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` in one transaction on a database thread."""
        loop = asyncio.get_running_loop()
        call = functools.partial(self._call, fn, *args, **kwargs)
        ctx = contextvars.copy_context()
        return await loop.run_in_executor(self._executor, ctx.run, call)

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        database = self.database
        database.connect(reuse_if_open=True)
        with transaction(database):
            return fn(*args, **kwargs)

    def close(self) -> None:
        """Wait for running work, then close every thread's connection."""
        self._executor.shutdown(wait=True)
        if isinstance(self.database, PooledPostgresqlDatabase):
            self.database.close_all()
        else:
            self.database.close()
