"""``studymate import-v1 --from DATABASE_URL [--dry-run] [--merge]``: bring a v1 school over."""

from __future__ import annotations

import argparse
import sys

from studymate.cli import exitcodes
from studymate.cli.common import open_migrated
from studymate.config import Settings
from studymate.services.import_v1.run import ImportRefused, import_v1
from studymate.services.import_v1.source import SourceError, V1Source


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "import-v1",
        help="import a StudyMate v1 database (mentors, students, materials, quizzes, results)",
        description="Read a StudyMate v1 database and import everything into this one, in one"
        " transaction. Safe to run again: what was imported before is not imported twice.",
    )
    parser.add_argument("--from", dest="source", required=True, metavar="DATABASE_URL",
                        help="v1's DATABASE_URL: sqlite:////path/db.sqlite3 or postgresql://…")
    parser.add_argument("--dry-run", action="store_true",
                        help="do everything, print the summary, then save nothing")
    parser.add_argument("--merge", action="store_true",
                        help="import into a database that already has other data")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        source = V1Source(args.source)
    except SourceError as exc:
        print(f"studymate: --from: {exc}", file=sys.stderr)
        return exitcodes.CONFIG
    with source:
        database = open_migrated(settings)
        try:
            database.connect(reuse_if_open=True)
            summary = import_v1(
                database, source, tz=settings.tz, default_language=settings.default_language,
                merge=args.merge, dry_run=args.dry_run,
            )
        except ImportRefused as exc:
            print(f"studymate: {exc}", file=sys.stderr)
            return exitcodes.CONFIG
        finally:
            database.close()
    print(summary.format())
    return exitcodes.OK if summary.ok else exitcodes.FAILURE
