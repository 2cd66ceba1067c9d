"""The numbered migrations produce exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys

import pytest
from playhouse.schema_diff import diff_models

from studymate.db import migrate
from studymate.db.connection import open_database
from studymate.db.models import MODELS


def _assert_no_drift(database) -> None:
    with database.connection_context():
        diff = diff_models(database, list(MODELS))
    assert not any(diff), f"schema drift between migrations and models: {diff}"


def test_sqlite_migrations_match_models(tmp_path):
    database = open_database(f"sqlite:///{tmp_path / 'm.db'}")
    assert migrate.pending(database) == ["0001_initial"]
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
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PATH": "/usr/bin:/bin", "STUDYMATE_ENV_FILE": "/dev/null"}
    check = subprocess.run([sys.executable, "-m", "studymate", "migrate", "--check"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 1 and "pending: 0001_initial" in check.stdout
    run = subprocess.run([sys.executable, "-m", "studymate", "migrate"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0 and "applied: 0001_initial" in run.stdout
    again = subprocess.run([sys.executable, "-m", "studymate", "migrate", "--check"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 0 and "up to date" in again.stdout


@pytest.mark.parametrize("table", [m._meta.table_name for m in MODELS])
def test_every_table_created(table, db):
    assert table in db.get_tables()
