"""The numbered migrations produce exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator

import psycopg2
import pytest
from peewee import Database
from playhouse.schema_diff import diff_models

from studymate.db import migrate
from studymate.db.connection import is_postgres, open_database
from studymate.db.models import MODELS


def _assert_no_drift(database) -> None:
    with database.connection_context():
        diff = diff_models(database, list(MODELS))
    assert not any(diff), f"schema drift between migrations and models: {diff}"


def test_sqlite_migrations_match_models(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'm.db'}")
    assert migrate.pending(database) == [
        "0001_initial", "0002_all_time_rating", "0003_v1_import_map", "0004_quiz_countdown_claim",
        "0005_last_write_wins",
        "0006_inbox_update",
        "0007_quiz_key_changes",
        "0010_user_language",
        "0011_notifications",
        "0012_question_kinds",
        "0015_question_dismiss",
        "0016_material_notices",
        "0017_key_change_text",
        "0018_attempt_updates_in_place",
    ]
    migrate.apply(database)
    assert migrate.pending(database) == []
    _assert_no_drift(database)
    database.close()


def test_postgres_migrations_match_models(postgres_server_url):
    database = open_database(postgres_server_url)
    assert migrate.pending(database) == []  # the session fixture migrated it
    _assert_no_drift(database)
    database.close_all()


def test_drift_is_detected(tmp_path):
    """The check above can fail: a database missing a column shows up in the diff."""
    database = open_database(f"sqlite:///{tmp_path / 'm.db'}")
    migrate.apply(database)
    with database.connection_context():
        database.execute_sql("ALTER TABLE student DROP COLUMN blocked_at")
        diff = diff_models(database, list(MODELS))
    assert [field.name for field in diff.add_columns] == ["blocked_at"]
    database.close()


def test_migrate_cli_check(tmp_path):
    env = {"STUDYMATE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PATH": "/usr/bin:/bin", "STUDYMATE_ENV_FILE": "/dev/null"}
    check = subprocess.run([sys.executable, "-m", "studymate", "migrate", "--check"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 1
    assert check.stdout.splitlines()[:2] == ["pending: 0001_initial", "pending: 0002_all_time_rating"]
    run = subprocess.run([sys.executable, "-m", "studymate", "migrate"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0
    assert run.stdout.splitlines()[:2] == ["applied: 0001_initial", "applied: 0002_all_time_rating"]
    again = subprocess.run([sys.executable, "-m", "studymate", "migrate", "--check"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 0 and "up to date" in again.stdout


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request, tmp_path) -> Iterator[Database]:
    """A database without any migration applied, on each backend."""
    if request.param == "sqlite":
        database = open_database(f"sqlite:///{tmp_path / 'e.db'}")
        yield database
        database.close()
        return
    base = request.getfixturevalue("postgres_server_url")
    admin = psycopg2.connect(base, connect_timeout=3)
    admin.autocommit = True
    name = f"studymate_m_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    database = open_database(f"{base.rsplit('/', 1)[0]}/{name}")
    try:
        yield database
    finally:
        database.close_all()
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def _column_types(database: Database, table: str) -> dict[str, str]:
    return {c.name: c.data_type.lower() for c in database.get_columns(table)}


def test_0002_moves_the_all_time_season_into_its_table_and_back(empty_database):
    """Ratings kept as a sentinel season (0001) survive the upgrade to all_time_rating, the
    rating columns become double precision, and down() restores the sentinel season."""
    database = empty_database
    runner = migrate._runner(database)
    with database.connection_context():
        runner.up("0001_initial")
        p = database.param
        now = "2026-02-11 09:00:00"
        database.execute_sql(
            f"INSERT INTO mentor (telegram_id, name, group_chat_id, language, is_active, created_at)"
            f" VALUES ({p}, {p}, {p}, {p}, {p}, {p})", (1001, "Anna", -100, "ru", True, now))
        for tid in (2001, 2002):
            database.execute_sql(
                "INSERT INTO student (telegram_id, first_name, last_name, full_name,"
                " profile_completed, mentor_id, language, joined_at, last_active, current_streak,"
                f" longest_streak) VALUES ({p}, {p}, '', '', {p}, 1, 'ru', {p}, {p}, 0, 0)",
                (tid, f"S{tid}", False, now, now))
        for start, end, name in (("0001-01-01", "9999-12-31", "Все время"),
                                 ("2026-02-01", "2026-02-28", "Февраль 2026")):
            database.execute_sql(
                "INSERT INTO season (mentor_id, name, start_date, end_date, is_active, created_at)"
                f" VALUES (1, {p}, {p}, {p}, {p}, {p})", (name, start, end, False, now))
        for season_id, student_id, rating in ((1, 1, 93.5), (1, 2, 81.9), (2, 1, 93.5)):
            database.execute_sql(
                "INSERT INTO season_rating (season_id, student_id, total_ranked_quizzes,"
                " total_score, total_possible, avg_percentage, rating_score, updated_at)"
                f" VALUES ({p}, {p}, 2, 17, 20, 85.0, {p}, {p})",
                (season_id, student_id, rating, now))

        assert runner.up()[0] == "0002_all_time_rating"
        assert not any(diff_models(database, list(MODELS)))
        rows = database.execute_sql(
            "SELECT mentor_id, student_id, total_score, rating_score FROM all_time_rating"
            " ORDER BY student_id").fetchall()
        assert [tuple(r) for r in rows] == [(1, 1, 17, 93.5), (1, 2, 17, 81.9)]
        seasons = database.execute_sql("SELECT name FROM season").fetchall()
        assert [r[0] for r in seasons] == ["Февраль 2026"]
        assert database.execute_sql("SELECT COUNT(*) FROM season_rating").fetchone()[0] == 1
        if is_postgres(database):
            for table in ("season_rating", "all_time_rating"):
                types = _column_types(database, table)
                assert types["avg_percentage"] == types["rating_score"] == "double precision"
            # the point of double precision: the stored value equals the Python float
            found = database.execute_sql(
                f"SELECT COUNT(*) FROM all_time_rating WHERE rating_score = {p}", (81.9,))
            assert found.fetchone()[0] == 1

        assert runner.down("0002_all_time_rating")[-1] == "0002_all_time_rating"
        assert "all_time_rating" not in database.get_tables()
        back = database.execute_sql(
            "SELECT s.start_date, r.student_id, r.rating_score FROM season_rating AS r"
            " JOIN season AS s ON s.id = r.season_id ORDER BY s.start_date, r.student_id"
        ).fetchall()
        assert [(str(d), sid, rating) for d, sid, rating in back] == [
            ("0001-01-01", 1, 93.5), ("0001-01-01", 2, 81.9), ("2026-02-01", 1, 93.5)]
        if is_postgres(database):
            assert _column_types(database, "season_rating")["rating_score"] == "real"
        assert runner.up()[0] == "0002_all_time_rating"  # and up again


@pytest.mark.parametrize("table", [m._meta.table_name for m in MODELS])
def test_every_table_created(table, db):
    assert table in db.get_tables()
