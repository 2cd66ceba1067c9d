"""``studymate migrate [--check]``: bring the database schema up to date (or only report)."""

from __future__ import annotations

import argparse

from studymate.cli import exitcodes
from studymate.config import Settings
from studymate.db import migrate as migrations
from studymate.db.connection import open_database


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("migrate", help="apply pending database migrations")
    parser.add_argument(
        "--check", action="store_true", help="only report; exit 1 if migrations are pending"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    database = open_database(settings.effective_database_url)
    try:
        if args.check:
            todo = migrations.pending(database)
            for name in todo:
                print(f"pending: {name}")
            if not todo:
                print(f"up to date: {migrations.schema_version(database)}")
            return exitcodes.FAILURE if todo else exitcodes.OK
        applied = migrations.apply(database)
        for name in applied:
            print(f"applied: {name}")
        print(f"schema version: {migrations.schema_version(database)}")
        return exitcodes.OK
    finally:
        database.close()
