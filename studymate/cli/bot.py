"""``studymate bot``: run the Telegram bot (long polling, or a webhook) until SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import sys

from studymate.bot.infra.memory import limit_arenas
from studymate.cli import exitcodes
from studymate.cli.common import open_migrated
from studymate.config import Settings


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("bot", help="run the Telegram bot")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    limit_arenas()  # before any thread starts
    settings.require_token()
    settings.require_webhook()
    open_migrated(settings).close()
    from studymate.bot.infra import lean_models  # noqa: F401  first: aiogram models build on use

    # isort: split
    from aiogram.exceptions import TelegramUnauthorizedError  # aiogram loads only for this role

    from studymate.bot.runner import run_bot

    try:
        return asyncio.run(run_bot(settings))
    except TelegramUnauthorizedError:
        print(
            "studymate: configuration error: STUDYMATE_BOT_TOKEN was rejected by Telegram: "
            "check it with @BotFather (/mybots → API Token)",
            file=sys.stderr,
        )
        return exitcodes.CONFIG
