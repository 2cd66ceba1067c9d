"""The bot's command menu (setMyCommands): /start, /help, /cancel for everyone, and /admin
too in each admin's own chat.

Telegram keys per-language menus by two-letter ISO 639-1 codes; Karakalpak has none (and no
Telegram app speaks it), so the menu without a language is in the school's default language
and every two-letter language of ours gets its own."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault

from studymate.config import LANGUAGES
from studymate.i18n import t

logger = logging.getLogger(__name__)
TELEGRAM_CODES = tuple(lang for lang in LANGUAGES if len(lang) == 2)


def command_list(lang: str, *, admin: bool = False) -> list[BotCommand]:
    commands = [
        BotCommand(command="start", description=t("command_start", lang)),
        BotCommand(command="help", description=t("command_help", lang)),
        BotCommand(command="cancel", description=t("command_cancel", lang)),
    ]
    if admin:
        commands.append(BotCommand(command="admin", description=t("command_admin", lang)))
    return commands


def menus(default_language: str) -> list[tuple[str | None, str]]:
    """(language_code for Telegram, our language) pairs: the default first, then each code."""
    return [(None, default_language)] + [(code, code) for code in TELEGRAM_CODES]


async def set_commands(bot: Bot, *, default_language: str, admin_ids: Iterable[int] = ()) -> None:
    for code, lang in menus(default_language):
        await bot.set_my_commands(command_list(lang), scope=BotCommandScopeDefault(), language_code=code)
    for admin_id in sorted(admin_ids):
        # An admin who never opened the bot has no chat yet: Telegram refuses that one only.
        with contextlib.suppress(TelegramAPIError):
            for code, lang in menus(default_language):
                await bot.set_my_commands(
                    command_list(lang, admin=True), scope=BotCommandScopeChat(chat_id=admin_id),
                    language_code=code,
                )
