"""Shared fixtures: a fresh database per test on the backend under test, services, env.

Backend: ``STUDYMATE_TEST_BACKEND=sqlite`` (default) or ``postgres`` (needs
``TEST_DATABASE_URL``). ``scripts/test.sh`` runs the suite once for each. A test that needs
PostgreSQL or Redis skips without them, unless ``STUDYMATE_REQUIRE_SERVICES=1`` (CI), where a
missing service is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest
from hypothesis import settings as hypothesis_settings
from peewee import Database

from studymate.db import migrate
from studymate.db.connection import Db, open_database
from studymate.db.models import MODELS

REQUIRE_SERVICES = os.environ.get("STUDYMATE_REQUIRE_SERVICES") == "1"
BACKEND = os.environ.get("STUDYMATE_TEST_BACKEND", "sqlite")
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

# Property tests explore new examples on every developer run; CI, a gate, runs the same ones
# each time, so what it finds can be reproduced and a landing never hangs on a lucky draw.
hypothesis_settings.register_profile("ci", derandomize=True)
if REQUIRE_SERVICES:
    hypothesis_settings.load_profile("ci")


# Modules whose tests do not depend on the database engine: the PostgreSQL pass of
# scripts/test.sh leaves them out (-m "not backend_agnostic") to keep CI short.
BACKEND_AGNOSTIC = {
    "test_config", "test_fake_telegram", "test_i18n", "test_layers", "test_quiz_format",
    "test_throttling", "test_logrotate", "test_supervise", "test_watchdog", "test_systemd_unit",
    "test_install", "test_liveness", "test_quiz_format_speed", "test_quiz_format_lookalikes",
}


# Modules that exist for PostgreSQL only (several bot replicas on one database): they run in
# the PostgreSQL pass and are deselected (not skipped) in the SQLite pass.
POSTGRES_ONLY = {"test_replicas", "test_replicas_reminders", "test_db_reset", "test_db_connection", "test_db_green"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    deselected = []
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module is not None else ""
        if module in BACKEND_AGNOSTIC:
            item.add_marker(pytest.mark.backend_agnostic)
        if module in POSTGRES_ONLY and BACKEND != "postgres":
            deselected.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item not in deselected]


def service_missing(what: str) -> None:
    """Skip on a laptop without the service; fail in CI."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required here (STUDYMATE_REQUIRE_SERVICES=1) but unavailable")
    pytest.skip(f"{what} unavailable")


def _admin_dsn() -> str:
    return TEST_DATABASE_URL


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A throwaway database on the test server, migrated once per session."""
    try:
        admin = psycopg2.connect(_admin_dsn(), connect_timeout=3)
    except psycopg2.OperationalError:
        service_missing("PostgreSQL at TEST_DATABASE_URL")
    admin.autocommit = True
    name = f"studymate_t_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    base = TEST_DATABASE_URL.rsplit("/", 1)[0]
    url = f"{base}/{name}"
    database = open_database(url)
    migrate.apply(database)
    database.close_all()
    yield url
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.close()


def _truncate_postgres(database: Database) -> None:
    tables = ", ".join(f'"{m._meta.table_name}"' for m in MODELS)
    with database.connection_context():
        database.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty, migrated database on the backend under test."""
    if BACKEND == "postgres":
        url = request.getfixturevalue("postgres_server_url")
        database = open_database(url)
        _truncate_postgres(database)
        database.close_all()
        return url
    url = f"sqlite:///{tmp_path / 'studymate.db'}"
    database = open_database(url)
    migrate.apply(database)
    database.close()
    return url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """The models bound to a fresh database, connected for synchronous service calls."""
    database = open_database(database_url)
    database.connect(reuse_if_open=True)
    yield database
    if hasattr(database, "close_all"):
        database.close_all()
    else:
        database.close()


@pytest.fixture
def bot_db(database_url: str) -> Iterator[Db]:
    """The bot's handle on a fresh database (two connections at most), as ``await db.run``."""
    db = Db(open_database(database_url, pool_size=2), threads=2)
    yield db
    db.close()


@pytest.fixture
def end_other_sessions(database_url: str) -> Callable[[], int]:
    """Ends every session on the test database but the caller's (as a server restart, or the
    end of the process that held them, would); returns how many."""

    def end() -> int:
        admin = psycopg2.connect(database_url)
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            (count,) = cur.fetchone()
        admin.close()
        return count

    return end


@pytest.fixture
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
        # Tests reuse the same user ids: leave no FSM state, lock or flood counter behind.
        for pattern in ("fsm:*", "studymate:*"):
            keys = list(client.scan_iter(pattern))
            if keys:
                client.delete(*keys)
    except redis.exceptions.ConnectionError:
        service_missing("Redis at TEST_REDIS_URL")
    finally:
        client.close()
    return TEST_REDIS_URL


@pytest.fixture
async def fake():
    from studymate.testing.fake_telegram.server import FakeTelegram

    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def run_bot(fake, database_url, tmp_path):
    """Start real bot processes: ``await run_bot(**env_overrides)``; all stopped at the end."""
    from e2e import BotProcess, bot_env

    started: list[BotProcess] = []

    async def start(**extra: str) -> BotProcess:
        env = bot_env(fake=fake, database_url=database_url, tmp_path=tmp_path, **extra)
        process = BotProcess(env=env, cwd=tmp_path, fake=fake)
        started.append(process)
        return await process.start()

    yield start
    for process in started:
        if process.proc is not None:
            await process.kill()


class PrivateRedis:
    """A redis-server of our own on a free port, so a test may stop and restart it."""

    def __init__(self, binary: str, port: int, workdir: Path) -> None:
        self.binary, self.port, self.workdir = binary, port, workdir
        self.proc = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import subprocess
        import time

        import redis

        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        for _ in range(100):
            try:
                client.ping()
                client.close()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def freeze(self) -> None:
        """SIGSTOP: connections hang and time out, the data stays (a stalled server)."""
        import signal

        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        import signal

        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:
    import shutil
    import socket

    binary = shutil.which("redis-server")
    if binary is None:
        service_missing("redis-server binary")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = PrivateRedis(binary, port, tmp_path)
    server.start()
    yield server
    server.stop()
