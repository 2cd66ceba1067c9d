"""Reading a StudyMate v1 database (Django, SQLite or PostgreSQL) with a plain DB-API connection.

v1's tables are Django's ``<app>_<model>``; foreign keys are ``<field>_id``.
Values come back normalised whatever the engine: datetimes as naive UTC (Django keeps UTC;
SQLite stores it as text, PostgreSQL as ``timestamptz``), dates as ``date``, booleans as
``bool`` (SQLite stores 0/1). The connection is read-only: the import never writes to v1.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote

import psycopg2


class SourceError(Exception):
    """The v1 database cannot be opened or is not a (current) StudyMate v1 database."""


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _datetime(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        return value.date()
    return value


Kind = Callable[[Any], Any]
N, S, B, F, T, D = _int, _text, _bool, _float, _datetime, _date  # number, string, bool, …

# The v1 tables and columns this import reads (v1 at 9d55d30), in dependency order.
TABLES: Final[dict[str, dict[str, Kind]]] = {
    "mentors_mentor": {
        "id": N, "telegram_id": N, "name": S, "group_chat_id": N, "language": S,
        "is_active": B, "created_at": T,
    },
    "students_student": {
        "id": N, "telegram_id": N, "username": S, "first_name": S, "last_name": S,
        "full_name": S, "profile_completed": B, "mentor_id": N, "language": S, "joined_at": T,
        "last_active": T, "current_streak": N, "longest_streak": N, "last_quiz_date": D,
    },
    "materials_topic": {"id": N, "mentor_id": N, "name": S, "order": N, "created_at": T},
    "materials_material": {
        "id": N, "topic_id": N, "title": S, "file_id": S, "file_name": S, "order": N,
        "created_at": T,
    },
    "downloads_download": {"id": N, "student_id": N, "material_id": N, "downloaded_at": T},
    "questions_question": {
        "id": N, "mentor_id": N, "student_id": N, "student_telegram_id": N, "text": S,
        "reply_text": S, "is_answered": B, "created_at": T, "replied_at": T, "message_id": N,
    },
    "quizzes_quiz": {
        "id": N, "mentor_id": N, "title": S, "topic": S, "is_active": B, "quiz_type": S,
        "available_from": T, "available_until": T, "max_attempts": N, "created_at": T,
    },
    "quizzes_quizquestion": {
        "id": N, "quiz_id": N, "question_text": S, "option_a": S, "option_b": S,
        "option_c": S, "option_d": S, "correct_answer": S, "order": N, "time_bonus": N,
    },
    "quizzes_quizattempt": {
        "id": N, "student_id": N, "quiz_id": N, "score": N, "total": N, "started_at": T,
        "finished_at": T,
    },
    "quizzes_quizanswer": {
        "id": N, "attempt_id": N, "question_id": N, "selected_answer": S, "is_correct": B,
    },
    "students_season": {
        "id": N, "mentor_id": N, "name": S, "start_date": D, "end_date": D, "is_active": B,
        "created_at": T,
    },
    "students_seasonrating": {
        "id": N, "season_id": N, "student_id": N, "total_ranked_quizzes": N, "total_score": N,
        "total_possible": N, "avg_percentage": F, "rating_score": F, "earliest_attempt_at": T,
        "updated_at": T,
    },
}

Row = dict[str, Any]
STREAM_BATCH: Final = 2000


class V1Source:
    """An open, read-only connection to a v1 database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_postgres = _scheme(url) in ("postgres", "postgresql")
        self._conn = _connect(url)
        self._check_schema()
        self.fingerprint = self._fingerprint()

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> V1Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def display_url(self) -> str:
        """The URL without a password, for the summary."""
        head, sep, tail = self.url.partition("://")
        if "@" in tail:
            creds, _, host = tail.rpartition("@")
            tail = f"{creds.split(':', 1)[0]}:***@{host}" if ":" in creds else tail
        return f"{head}{sep}{tail}"

    def _query(self, sql: str) -> list[tuple]:
        cur = self._conn.cursor()
        try:
            cur.execute(sql)
            return list(cur.fetchall())
        finally:
            cur.close()

    def _tables(self) -> set[str]:
        if self.is_postgres:
            rows = self._query(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = current_schema()"
            )
        else:
            rows = self._query("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {r[0] for r in rows}

    def _columns(self, table: str) -> set[str]:
        cur = self._conn.cursor()
        try:
            cur.execute(f'SELECT * FROM "{table}" WHERE 1 = 0')
            return {d[0] for d in cur.description}
        finally:
            cur.close()

    def _check_schema(self) -> None:
        tables = self._tables()
        missing = [t for t in TABLES if t not in tables]
        if missing:
            raise SourceError(
                f"not a StudyMate v1 database (no table {', '.join(missing)})"
            )
        for table, columns in TABLES.items():
            absent = sorted(set(columns) - self._columns(table))
            if absent:
                raise SourceError(
                    f"the v1 table {table} has no column {', '.join(absent)}: "
                    "update StudyMate v1 to its last version (manage.py migrate) first"
                )
        self._has_django_migrations = "django_migrations" in tables

    def _fingerprint(self) -> str:
        """What tells this v1 installation apart from another one: Django's first applied
        migration (its time is the installation's birth), else the first mentor."""
        if self._has_django_migrations:
            rows = self._query(
                'SELECT app, name, applied FROM "django_migrations" ORDER BY id LIMIT 1'
            )
        else:
            rows = self._query(
                'SELECT id, telegram_id, created_at FROM "mentors_mentor" ORDER BY id LIMIT 1'
            )
        # The time normalised: PostgreSQL renders timestamptz in the session's time zone.
        if not rows:
            return hashlib.sha256(b"empty").hexdigest()[:32]
        first, second, moment = rows[0]
        seed = repr([str(first), str(second), str(_datetime(moment))])
        return hashlib.sha256(seed.encode()).hexdigest()[:32]

    def rows(self, table: str) -> Iterator[Row]:
        """Every row of a v1 table, by id, with normalised values (streamed: a school's
        answers can run to hundreds of thousands of rows)."""
        kinds = TABLES[table]
        names = list(kinds)
        select = ", ".join(f'"{c}"' for c in names)
        # psycopg2: a named (server-side) cursor streams; sqlite3 cursors always do.
        cur = self._conn.cursor(f"v1_{table}") if self.is_postgres else self._conn.cursor()
        try:
            cur.execute(f'SELECT {select} FROM "{table}" ORDER BY "id"')
            while batch := cur.fetchmany(STREAM_BATCH):
                for values in batch:
                    yield {name: kinds[name](v) for name, v in zip(names, values, strict=True)}
        finally:
            cur.close()

    def count(self, table: str) -> int:
        return int(self._query(f'SELECT COUNT(*) FROM "{table}"')[0][0])


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].split("+", 1)[0].lower() if "://" in url else ""


def _connect(url: str) -> Any:
    scheme = _scheme(url)
    if scheme == "sqlite":
        path = unquote(url.split("://", 1)[1])
        path = path[1:] if path.startswith("/") else path  # sqlite:///rel, sqlite:////abs
        if not Path(path).is_file():
            raise SourceError(f"no SQLite database at {path}")
        try:
            conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1")
        except sqlite3.DatabaseError as exc:
            raise SourceError(f"cannot read {path}: {exc}") from exc
        return conn
    if scheme in ("postgres", "postgresql"):
        try:
            conn = psycopg2.connect(
                url.replace("postgres://", "postgresql://", 1), connect_timeout=10
            )
        except psycopg2.Error as exc:
            raise SourceError(f"cannot connect: {str(exc).strip()}") from exc
        conn.set_session(readonly=True)
        return conn
    raise SourceError("the v1 DATABASE_URL must start with sqlite:// or postgresql://")
