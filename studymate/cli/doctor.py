"""``studymate doctor``: check configuration and connectivity, and say how to fix each problem."""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass

from studymate.cli import exitcodes
from studymate.config import Settings
from studymate.db import migrate as migrations
from studymate.db.connection import open_database
from studymate.services import mentors


@dataclass
class Check:
    ok: bool
    what: str
    fix: str = ""

    def line(self) -> str:
        text = f"{'OK  ' if self.ok else 'FAIL'}  {self.what}"
        return text if self.ok or not self.fix else f"{text}\n      fix: {self.fix}"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("doctor", help="check configuration, database, Redis, token, groups")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from studymate.bot.infra import lean_models  # noqa: F401  before aiogram: seconds faster

    checks = [Check(True, "configuration loaded")]
    mentor_rows = _check_database(settings, checks)
    if settings.redis_url:
        checks.append(asyncio.run(_check_redis(settings.redis_url)))
    else:
        checks.append(Check(True, "Redis not configured: FSM state is kept in the database"))
    checks.extend(asyncio.run(_check_telegram(settings, mentor_rows)))
    for check in checks:
        print(check.line())
    return exitcodes.OK if all(c.ok for c in checks) else exitcodes.FAILURE


def _check_database(settings: Settings, checks: list[Check]) -> list[mentors.MentorInfo]:
    database = open_database(settings.effective_database_url)
    try:
        todo = migrations.pending(database)
        if todo:
            checks.append(Check(False, f"database schema is behind ({', '.join(todo)})",
                                "run 'studymate migrate'"))
            return []
        checks.append(Check(True, f"database reachable, schema {migrations.schema_version(database)}"))
        with database.connection_context():
            return mentors.list_mentors()
    except Exception as exc:  # any driver error is a finding, not a crash
        checks.append(Check(False, f"database unreachable: {type(exc).__name__}: {exc}",
                            "check STUDYMATE_DATABASE_URL and that the database server is running"))
        return []
    finally:
        database.close()


async def _check_redis(url: str) -> Check:
    from studymate.bot.infra.failover import redis_client

    client = redis_client(url)
    try:
        await client.ping()
        return Check(True, "Redis reachable")
    except Exception as exc:  # connection refused, auth, DNS: all are findings
        return Check(False, f"Redis unreachable: {type(exc).__name__}",
                     "start Redis or clear STUDYMATE_REDIS_URL (the database storage is then used)")
    finally:
        await client.aclose()


async def _check_telegram(settings: Settings, rows: list[mentors.MentorInfo]) -> list[Check]:
    from aiogram.exceptions import TelegramAPIError

    from studymate.bot.app import create_bot

    if settings.bot_token is None:
        return [Check(False, "STUDYMATE_BOT_TOKEN is not set", "create a bot with @BotFather, set STUDYMATE_BOT_TOKEN")]
    bot = create_bot(settings)
    results: list[Check] = []
    try:
        try:
            me = await bot.get_me(request_timeout=15)
        except TelegramAPIError as exc:
            return [Check(False, f"Telegram rejected the token: {exc.message}",
                          "copy the token again from @BotFather (/mybots → API Token)")]
        except (TimeoutError, OSError) as exc:
            return [Check(False, f"Telegram unreachable at {settings.telegram_api_url}: {exc}",
                          "check the server's network and STUDYMATE_TELEGRAM_API_URL")]
        results.append(Check(True, f"token valid: @{me.username}"))
        active = [m for m in rows if m.is_active]
        if not active:
            results.append(Check(False, "no active mentors",
                                 "studymate mentor add --telegram-id ID --name NAME --group-chat-id ID"))
        for m in active:
            results.append(await _check_group(bot, me.id, m))
    finally:
        await bot.session.close()
    return results


async def _check_group(bot, bot_id: int, m: mentors.MentorInfo) -> Check:
    from aiogram.exceptions import TelegramAPIError

    what = f"mentor {m.name}: group {m.group_chat_id}"
    if m.group_chat_id >= 0:
        return Check(False, f"{what} is not a group id (must be negative)",
                     "add @RawDataBot to the group to learn its id, then 'studymate mentor add' again")
    try:
        member = await bot.get_chat_member(m.group_chat_id, bot_id, request_timeout=15)
    except TelegramAPIError as exc:
        return Check(False, f"{what}: {exc.message}",
                     "add the bot to the group and make it an administrator")
    if member.status not in ("administrator", "creator"):
        return Check(False, f"{what}: the bot is '{member.status}', not an administrator",
                     "make the bot an administrator of the group so it can see members")
    return Check(True, f"{what}: bot is an administrator")
