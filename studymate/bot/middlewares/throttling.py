"""Drops floods before any database work; warns the first three times."""

from __future__ import annotations

from typing import Any, Final

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject

from studymate.bot.infra.throttling import Throttle
from studymate.bot.infra.update_outcome import note_outcome
from studymate.bot.middlewares.basics import Handler
from studymate.db.connection import Db
from studymate.i18n import t
from studymate.services.enrollment import language_of

WARNINGS: Final = 3


class ThrottlingMiddleware(BaseMiddleware):
    def __init__(
        self,
        throttle: Throttle,
        *,
        db: Db,
        default_language: str,
        message_interval: float = 0.5,
        callback_interval: float = 0.3,
    ) -> None:
        self.throttle = throttle
        self.intervals = {True: message_interval, False: callback_interval}
        self.db = db
        self.default_language = default_language

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get("event_from_user")
        # A leftover of a crashed run is handled again right after the ones before it: that
        # pace is the bot's, not the user's.
        if user is None or data.get("replayed"):
            return await handler(event, data)
        is_message = isinstance(event, Message)
        interval = self.intervals[is_message]
        if interval <= 0:
            return await handler(event, data)
        violations = await self.throttle.hit("msg" if is_message else "cb", user.id, interval)
        if violations == 0:
            return await handler(event, data)
        note_outcome("throttled")
        if violations <= WARNINGS:
            # Looked up only for the (at most three) warnings, never for the dropped flood.
            lang = await self.db.run(language_of, user.id, self.default_language)
            text = t(f"throttle_warning_{violations}", lang)
            if isinstance(event, Message):
                await event.answer(text)
            elif isinstance(event, CallbackQuery):
                await event.answer(text, show_alert=True)
        return None
