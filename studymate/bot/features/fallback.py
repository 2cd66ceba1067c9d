"""Last router: input no feature claimed gets a hint instead of v1's silence."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from studymate.bot.callbacks import NoopCb
from studymate.bot.middlewares.basics import user_language
from studymate.config import Settings
from studymate.i18n import t

router = Router(name="fallback")


@router.callback_query(NoopCb.filter())
async def noop(callback: CallbackQuery) -> None:
    await callback.answer()


@router.callback_query()
async def stale_button(callback: CallbackQuery, settings: Settings, **data: Any) -> None:
    """A button from an old message, an older version of the bot, or a crafted one (a
    malformed quiz answer arrives here without an identity: its language is looked up)."""
    lang = None if "identity" in data else await user_language(data, settings.default_language)
    await callback.answer(t("callback_not_allowed", lang), show_alert=True)


@router.message(F.text | F.caption | F.document | F.photo | F.sticker | F.voice | F.video)
async def unknown_input(message: Message) -> None:
    await message.answer(t("unknown_input_hint"))
