"""Helpers shared by subcommands."""

from __future__ import annotations

from peewee import Database

from studymate.config import ConfigError, Settings
from studymate.db import migrate as migrations
from studymate.db.connection import open_database


def open_migrated(settings: Settings) -> Database:
    """Open the database, refusing one whose schema is behind this version."""
    database = open_database(settings.effective_database_url, pool_size=settings.db_threads)
    todo = migrations.pending(database)
    if todo:
        database.close()
        raise ConfigError(
            f"STUDYMATE_DATABASE_URL: the database needs migrations ({', '.join(todo)}): "
            "run 'studymate migrate' first"
        )
    return database
