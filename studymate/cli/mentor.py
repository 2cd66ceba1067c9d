"""``studymate mentor add|list|deactivate``: manage the school's mentors."""

from __future__ import annotations

import argparse
import sys

from studymate.cli import exitcodes
from studymate.cli.common import open_migrated
from studymate.config import LANGUAGES, Settings
from studymate.services import mentors


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("mentor", help="add, list or deactivate mentors")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a mentor (or update and reactivate one)")
    add.add_argument("--telegram-id", type=int, required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--group-chat-id", type=int, required=True, help="negative id of the group")
    add.add_argument("--language", choices=LANGUAGES, default=None)
    add.set_defaults(handler=run_add)
    actions.add_parser("list", help="list mentors").set_defaults(handler=run_list)
    off = actions.add_parser("deactivate", help="deactivate a mentor; students lose access")
    off.add_argument("--telegram-id", type=int, required=True)
    off.set_defaults(handler=run_deactivate)


def run_add(args: argparse.Namespace, settings: Settings) -> int:
    database = open_migrated(settings)
    try:
        with database.atomic():
            info, created = mentors.add_mentor(
                telegram_id=args.telegram_id,
                name=args.name,
                group_chat_id=args.group_chat_id,
                language=args.language or settings.default_language,
            )
    except mentors.MentorError as exc:
        print(f"studymate: {exc}", file=sys.stderr)
        return exitcodes.CONFIG
    finally:
        database.close()
    verb = "added" if created else "updated"
    print(f"{verb} mentor {info.name} (telegram id {info.telegram_id}, group {info.group_chat_id})")
    print("next: make the bot an administrator of that group, then the mentor sends /start")
    return exitcodes.OK


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    database = open_migrated(settings)
    try:
        rows = mentors.list_mentors()
    finally:
        database.close()
    if not rows:
        print("no mentors yet: add one with 'studymate mentor add'")
        return exitcodes.OK
    print(f"{'telegram id':>14}  {'group chat id':>16}  {'lang':4}  {'state':8}  {'students':>8}  name")
    for m in rows:
        state = "active" if m.is_active else "inactive"
        print(
            f"{m.telegram_id:>14}  {m.group_chat_id:>16}  {m.language:4}  {state:8}  "
            f"{m.students:>8}  {m.name}"
        )
    return exitcodes.OK


def run_deactivate(args: argparse.Namespace, settings: Settings) -> int:
    database = open_migrated(settings)
    try:
        with database.atomic():
            info = mentors.deactivate_mentor(args.telegram_id)
    finally:
        database.close()
    if info is None:
        print(f"studymate: no mentor with telegram id {args.telegram_id}", file=sys.stderr)
        return exitcodes.FAILURE
    print(f"deactivated mentor {info.name}; their students lose access at their next action")
    return exitcodes.OK
