"""Numbered migrations (``studymate/db/migrations/NNNN_name.py``) run by playhouse's runner."""

from __future__ import annotations

from pathlib import Path

from peewee import Database
from playhouse.migrations import Runner

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _runner(database: Database) -> Runner:
    return Runner(database, directory=str(MIGRATIONS_DIR))


def pending(database: Database) -> list[str]:
    """Names of migrations not applied yet, in order."""
    with database.connection_context():
        return [m.name for m in _runner(database).status() if m.path and not m.applied]


def apply(database: Database) -> list[str]:
    """Apply every pending migration; returns the names applied."""
    with database.connection_context():
        return _runner(database).up()


def schema_version(database: Database) -> str | None:
    """Name of the newest applied migration, or None for an empty database."""
    with database.connection_context():
        applied = [m.name for m in _runner(database).status() if m.applied]
    return applied[-1] if applied else None
