"""Cross-cutting middlewares that know nothing of features: chat type, in-flight tracking."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Dispatcher
from aiogram.types import CallbackQuery, Message, TelegramObject, Update

from studymate.services.enrollment import language_of

logger = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def outside_fsm(dp: Dispatcher, middleware: BaseMiddleware) -> None:
    """Add an outer update middleware that runs before aiogram's FSM middleware, so a failing
    FSM storage (or event isolation) fails inside it: errors reported, updates counted."""
    manager = dp.update.outer_middleware
    fsm_registered = dp.fsm in manager
    if fsm_registered:
        manager.unregister(dp.fsm)
    manager.register(middleware)
    if fsm_registered:
        manager.register(dp.fsm)


class PrivateChatsOnly(BaseMiddleware):
    """The bot talks in private chats only; group traffic is ignored before any work."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat = None
        if isinstance(event, Message):
            chat = event.chat
        elif isinstance(event, CallbackQuery) and event.message is not None:
            chat = event.message.chat
        if chat is not None and chat.type != "private":
            return None
        return await handler(event, data)


class InFlight(BaseMiddleware):
    """Counts updates being handled so shutdown can wait for them; remembers the last id."""

    def __init__(self) -> None:
        self.running = 0
        self.last_update_id: int | None = None
        # Set once shutdown begins: a handler still running past the grace period may then
        # fail on the closing HTTP session, which is no bug to alert the admins about.
        self.stopping = False
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Update):
            self.last_update_id = max(self.last_update_id or 0, event.update_id)
        self.running += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self.running -= 1
            if self.running == 0:
                self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no update is being handled; False if ``timeout`` passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


async def user_language(data: dict[str, Any], default_language: str) -> str:
    """The sender's language when no identity was looked up for the update (quiz answers skip
    it); ``default_language`` for a stranger or when the database does not answer."""
    user, db = data.get("event_from_user"), data.get("db")
    if user is None or db is None:
        return default_language
    try:
        return await db.run(language_of, user.id, default_language)
    except Exception:  # only a refusal's wording depends on it
        logger.warning("could not look up the language of %s", user.id, exc_info=True)
        return default_language
