"""PostgreSQL as a backup engine: ``pg_dump -Fc``, a full read with ``pg_restore``, a name swap.

The password travels in the child's environment (``PGPASSWORD``), never on a command line
where ``ps`` shows it. ``pg_restore --list`` only reads the table of contents and accepts a
truncated dump, so verification reads every byte — here by streaming the
restore script and counting the rows of every ``COPY`` block, which also checks the manifest.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg2
from peewee import PeeweeException
from playhouse.db_url import connect as connect_url
from psycopg2 import errors as pg_errors
from psycopg2 import sql
from psycopg2.extensions import ISOLATION_LEVEL_REPEATABLE_READ, connection

from studymate.db import migrate
from studymate.db.driver import load_psycopg2
from studymate.db.models import MODELS
from studymate.ops.backup.files import BackupConfigError, BackupError, DumpInfo, create_private

logger = logging.getLogger(__name__)

TABLES: Final = tuple(m._meta.table_name for m in MODELS)
MAINTENANCE_DBS: Final = ("postgres", "template1")
# URL query parameters libpq also takes from the environment.
QUERY_ENV: Final = {
    "host": "PGHOST",
    "port": "PGPORT",
    "user": "PGUSER",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "options": "PGOPTIONS",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}
# Inherited variables that would silently point the tools at another server or database.
OVERRIDING_ENV: Final = (
    "PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSERVICE", "PGOPTIONS",
)
MAX_IDENTIFIER: Final = 63


@dataclass(frozen=True)
class PgTarget:
    """``DATABASE_URL`` taken apart into what libpq needs."""

    dbname: str
    host: str | None = None
    port: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_url(cls, url: str) -> PgTarget:
        parts = urlsplit(url)
        dbname = unquote(parts.path.lstrip("/"))
        if not dbname:
            raise BackupConfigError("STUDYMATE_DATABASE_URL names no database (postgresql://user@host/DBNAME)")
        params = dict(parse_qsl(parts.query))
        unknown = sorted(set(params) - set(QUERY_ENV))
        if unknown:
            logger.warning("STUDYMATE_DATABASE_URL parameters ignored by the backup tools: %s", unknown)
        try:
            port = str(parts.port) if parts.port else None
        except ValueError:
            raise BackupConfigError("STUDYMATE_DATABASE_URL has an invalid port") from None
        return cls(
            dbname=dbname,
            host=unquote(parts.hostname) if parts.hostname else None,
            port=port,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            params={k: v for k, v in params.items() if k in QUERY_ENV},
        )

    def describe(self, dbname: str | None = None) -> str:
        """For messages: user@host:port/db, never the password."""
        who = f"{self.user}@" if self.user else ""
        where = self.params.get("host") or self.host or "localhost"
        return f"{who}{where}:{self.port or 5432}/{dbname or self.dbname}"

    def env(self, dbname: str | None = None) -> dict[str, str]:
        """The environment for pg_dump/pg_restore: ours, with the connection in PG* variables."""
        env = {k: v for k, v in os.environ.items() if k not in OVERRIDING_ENV}
        if getattr(sys, "frozen", False):
            # A PyInstaller bootloader prepends its bundle; system tools must not load our libpq.
            original = env.pop("LD_LIBRARY_PATH_ORIG", None)
            env.pop("LD_LIBRARY_PATH", None)
            if original is not None:
                env["LD_LIBRARY_PATH"] = original
        env["PGDATABASE"] = dbname or self.dbname
        env.setdefault("PGCONNECT_TIMEOUT", "10")
        for key, value in (("PGHOST", self.host), ("PGPORT", self.port), ("PGUSER", self.user),
                           ("PGPASSWORD", self.password)):
            if value is not None:
                env[key] = value
        for key, value in self.params.items():
            env[QUERY_ENV[key]] = value
        return env

    def connect(self, dbname: str | None = None) -> connection:
        kwargs: dict[str, str] = {"dbname": dbname or self.dbname, "connect_timeout": "10"}
        for key, value in (("host", self.host), ("port", self.port), ("user", self.user),
                           ("password", self.password)):
            if value is not None:
                kwargs[key] = value
        kwargs.update(self.params)
        try:
            return psycopg2.connect(**kwargs)
        except psycopg2.Error as exc:
            raise BackupError(
                f"cannot connect to PostgreSQL {self.describe(dbname)}: {_first_line(exc)}"
            ) from None


@dataclass(frozen=True)
class Prepared:
    """The backup restored into a fresh database beside the live one; nothing live touched."""

    pg: PgTarget
    fresh: str
    aside: str
    row_counts: dict[str, int]

    @property
    def target(self) -> str:
        return self.pg.describe()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupConfigError(
            f"{name} is not installed: install the PostgreSQL client tools (postgresql-client)"
        )
    return path


def _status(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"crashed ({signal.Signals(-code).name})"
    return f"exit status {code}"


def _run(argv: Sequence[str], *, env: dict[str, str], what: str) -> str:
    """Run one PostgreSQL tool; a failure becomes a BackupError with the tool's own reason."""
    logger.debug("running %s", " ".join(argv))
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else _status(result.returncode)
        raise BackupError(f"{what} failed: {reason.removeprefix(Path(argv[0]).name + ': ')}")
    return result.stdout


def _count(cur: psycopg2.extensions.cursor) -> dict[str, int]:
    cur.execute(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    )
    present = {row[0] for row in cur.fetchall()}
    counts = {}
    for table in TABLES:
        if table in present:
            cur.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            counts[table] = cur.fetchone()[0]
    return counts


def count_rows(url: str, dbname: str | None = None) -> dict[str, int]:
    conn = PgTarget.from_url(url).connect(dbname)
    try:
        with conn.cursor() as cur:
            return _count(cur)
    finally:
        conn.close()


def _schema_version(url: str) -> str | None:
    load_psycopg2()  # peewee was imported without it (db/driver.py)
    database = connect_url(url.replace("postgres://", "postgresql://", 1))
    try:
        return migrate.schema_version(database)
    except PeeweeException as exc:
        raise BackupError(f"cannot read the schema version: {_first_line(exc)}") from None
    finally:
        database.close()


def dump(url: str, target: Path) -> DumpInfo:
    """Given the live database URL, write a ``pg_dump -Fc`` archive to ``target`` (a new file).

    Row counts come from a REPEATABLE READ transaction whose snapshot pg_dump is told to use
    (``--snapshot``), so the manifest describes exactly what the archive holds.
    """
    pg = PgTarget.from_url(url)
    pg_dump = tool("pg_dump")
    version = _run([pg_dump, "--version"], env=pg.env(), what="pg_dump --version").strip()
    conn = pg.connect()
    try:
        conn.set_session(isolation_level=ISOLATION_LEVEL_REPEATABLE_READ, readonly=True)
        with conn.cursor() as cur:
            cur.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
            snapshot, server_version = cur.fetchone()
            counts = _count(cur)
            create_private(target)
            _run(
                [pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}",
                 f"--file={target}"],
                env=pg.env(),
                what="pg_dump",
            )
    except psycopg2.Error as exc:
        raise BackupError(f"PostgreSQL {pg.describe()}: {_first_line(exc)}") from None
    finally:
        with contextlib.suppress(psycopg2.Error):
            conn.rollback()
        conn.close()
    os.chmod(target, 0o600)
    return DumpInfo(
        row_counts=counts,
        server_version=f"PostgreSQL {server_version}",
        tool=version,
        schema_version=_schema_version(url),
        database=pg.dbname,
    )


def _copy_counts(stream: IO[bytes]) -> dict[str, int]:
    """Count the data lines of every ``COPY table (...) FROM stdin;`` block of a restore script.

    In COPY text format a row is one line (newlines inside values are escaped as ``\\n``).
    """
    counts: dict[str, int] = {}
    table: str | None = None
    for line in stream:
        if table is None:
            if line.startswith(b"COPY "):
                qualified = line.split(b" ", 2)[1].decode()
                table = qualified.rsplit(".", 1)[-1].strip('"')
                counts[table] = 0
        elif line == b"\\.\n":
            table = None
        else:
            counts[table] += 1
    return counts


def read_back(path: Path) -> dict[str, int]:
    """Given an archive, read every byte of it through pg_restore and return its row counts."""
    pg_restore = tool("pg_restore")
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [pg_restore, "--file=-", str(path)],
            stdout=subprocess.PIPE,
            stderr=errors,
            env={k: v for k, v in os.environ.items() if k not in OVERRIDING_ENV},
        )
        assert proc.stdout is not None
        with proc.stdout:
            counts = _copy_counts(proc.stdout)
        code = proc.wait()
        if code != 0:
            errors.seek(0)
            lines = [ln for ln in errors.read().decode(errors="replace").splitlines() if ln.strip()]
            reason = lines[-1].removeprefix("pg_restore: ") if lines else _status(code)
            raise BackupError(f"pg_restore cannot read {path.name}: {reason}")
    return {table: n for table, n in counts.items() if table in TABLES}


@contextlib.contextmanager
def _maintenance(pg: PgTarget) -> Iterator[psycopg2.extensions.cursor]:
    """A cursor on a database other than ours: a database cannot be renamed from inside."""
    conn = None
    error: BackupError | None = None
    for name in MAINTENANCE_DBS:
        try:
            conn = pg.connect(name)
            break
        except BackupError as exc:
            error = exc
    if conn is None:
        raise error or BackupError("no maintenance database reachable")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        conn.close()


def _exists(cur: psycopg2.extensions.cursor, name: str) -> bool:
    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
    return cur.fetchone() is not None


def _terminate(cur: psycopg2.extensions.cursor, name: str) -> None:
    cur.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> pg_backend_pid()",
        (name,),
    )


def _drop(pg: PgTarget, name: str) -> None:
    with contextlib.suppress(BackupError, psycopg2.Error), _maintenance(pg) as cur:
        _terminate(cur, name)
        cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def prepare_restore(backup: Path, url: str, *, stamp: str) -> Prepared:
    """Given a verified archive, restore it into ``<db>_restore_<stamp>`` and count its rows."""
    pg = PgTarget.from_url(url)
    pg_restore = tool("pg_restore")
    fresh, aside = f"{pg.dbname}_restore_{stamp}", f"{pg.dbname}_before_restore_{stamp}"
    if len(aside) > MAX_IDENTIFIER:
        raise BackupConfigError(f"database name {pg.dbname!r} is too long to keep a copy beside it")
    try:
        with _maintenance(pg) as cur:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(fresh)))
    except psycopg2.Error as exc:
        raise BackupError(
            f"cannot create database {fresh}: {_first_line(exc)} (the STUDYMATE_DATABASE_URL user needs "
            f"CREATEDB: ALTER ROLE {pg.user or 'the_user'} CREATEDB)"
        ) from None
    try:
        _run(
            [pg_restore, "--no-owner", "--exit-on-error", "--no-password", f"--dbname={fresh}",
             str(backup)],
            env=pg.env(fresh),
            what=f"pg_restore into {fresh}",
        )
        counts = count_rows(url, fresh)
    except BaseException:
        _drop(pg, fresh)
        raise
    return Prepared(pg, fresh, aside, counts)


def swap(prepared: Prepared) -> str | None:
    """Rename the live database aside and the restored one into its place.

    Connections to the live database are refused, then terminated, so the rename cannot be
    blocked by a late client. Returns the name under which the previous database is kept.
    """
    pg, live, fresh, aside = prepared.pg, prepared.pg.dbname, prepared.fresh, prepared.aside

    def alter(cur: psycopg2.extensions.cursor, template: str, *names: str) -> None:
        cur.execute(sql.SQL(template).format(*(sql.Identifier(n) for n in names)))

    try:
        with _maintenance(pg) as cur:
            kept = _exists(cur, live)
            if kept:
                alter(cur, "ALTER DATABASE {} WITH ALLOW_CONNECTIONS false", live)
                try:
                    for attempt in range(20):
                        _terminate(cur, live)
                        try:
                            alter(cur, "ALTER DATABASE {} RENAME TO {}", live, aside)
                            break
                        except pg_errors.ObjectInUse:
                            if attempt == 19:
                                raise
                            time.sleep(0.25)
                finally:
                    alter(cur, "ALTER DATABASE {} WITH ALLOW_CONNECTIONS true",
                          aside if _exists(cur, aside) else live)
            try:
                alter(cur, "ALTER DATABASE {} RENAME TO {}", fresh, live)
            except psycopg2.Error:
                if kept:
                    alter(cur, "ALTER DATABASE {} RENAME TO {}", aside, live)
                raise
    except psycopg2.Error as exc:
        raise BackupError(f"swapping in the restored database failed: {_first_line(exc)}") from None
    return aside if kept else None


def finish(prepared: Prepared) -> None:
    """Nothing left to settle: the restored database was created by the DATABASE_URL user."""


def discard(prepared: Prepared) -> None:
    _drop(prepared.pg, prepared.fresh)
