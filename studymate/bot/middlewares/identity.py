"""Who is writing, in which language: one lookup per update, shared with every handler."""

from __future__ import annotations

import dataclasses
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.types import CallbackQuery, Message, TelegramObject

from studymate.bot.features.quiz.callbacks import AnswerCb
from studymate.bot.infra.access import Membership
from studymate.bot.middlewares.basics import Handler
from studymate.config import Settings, normalize_language
from studymate.db.connection import Db
from studymate.i18n import t, use_locale
from studymate.services.enrollment import Role, identify
from studymate.services.quiz import engine as quiz_engine

ANSWER_PREFIX = AnswerCb.__prefix__ + AnswerCb.__separator__


class IdentityMiddleware(BaseMiddleware):
    """Outer: puts ``identity`` into the handler data and switches the texts' language."""

    def __init__(self, db: Db, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user = data.get("event_from_user")
        if user is None or _is_quiz_answer(event):
            # A quiz answer names its attempt: the engine checks it against the sender in
            # the query that reads it, so the busiest update needs no lookup here.
            return await handler(event, data)
        identity = await self.db.run(
            identify,
            user.id,
            ttl=self.settings.membership_cache_seconds,
            default_language=self.settings.default_language,
        )
        if not identity.known:
            # Nothing chosen yet: speak the language their Telegram app uses, if it is ours.
            spoken = normalize_language(user.language_code, self.settings.default_language)
            identity = dataclasses.replace(identity, language=spoken)
        data["identity"] = identity
        with use_locale(identity.language):
            return await handler(event, data)


class AccessGate(BaseMiddleware):
    """Inner: runs after a handler matched; access is re-checked, not only at /start.

    Mentors pass. During a quiz only its answers pass (and /cancel of a practice quiz).
    Handlers flagged ``public`` (start, cancel, language) pass; a student passes while their
    mentor's group still has them (re-checked after the TTL); others are refused.
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        identity = data.get("identity")
        if identity is None or identity.role is Role.MENTOR:
            return await handler(event, data)
        if identity.quiz_attempt is not None and not get_flag(data, "quiz"):
            if not (get_flag(data, "cancel") and not identity.quiz_exam) and not (
                await _came_before_the_quiz(data, identity.quiz_attempt)
            ):
                return await _refuse(event, "quiz_in_progress")
        if get_flag(data, "public") or get_flag(data, "quiz"):
            return await handler(event, data)
        if identity.role is Role.STUDENT:
            membership: Membership = data["membership"]
            if identity.membership_fresh or await membership.recheck(data["bot"], identity):
                return await handler(event, data)
            return await _refuse(event, "access_revoked")
        return await _refuse(event, identity.denial)


async def _came_before_the_quiz(data: dict[str, Any], attempt_id: int) -> bool:
    """A leftover of a crashed run that arrived before the running quiz began (perhaps the
    very tap that began it) is judged as things stood when it arrived."""
    received_at = data.get("received_at")
    if not data.get("replayed") or received_at is None:
        return False
    started = await data["db"].run(quiz_engine.started_at, attempt_id)
    return started is not None and started >= received_at


def _is_quiz_answer(event: TelegramObject) -> bool:
    return isinstance(event, CallbackQuery) and (event.data or "").startswith(ANSWER_PREFIX)


async def _refuse(event: TelegramObject, key: str) -> None:
    if isinstance(event, Message):
        await event.answer(t(key))
    elif isinstance(event, CallbackQuery):
        await event.answer(t(key), show_alert=True)
