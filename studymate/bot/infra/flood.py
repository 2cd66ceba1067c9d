"""Flood control on the way out: a short 429 from Telegram is waited out and retried."""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response

logger = logging.getLogger(__name__)

# Set by code that schedules its own retries (the outbox sender): 429s reach it at once.
handles_flood_itself: ContextVar[bool] = ContextVar("handles_flood_itself", default=False)


class RetryAfter(BaseRequestMiddleware):
    """Sleeps ``retry_after`` and repeats the call, for waits up to ``max_wait`` seconds.

    Longer waits (or a third 429 in a row) propagate, so the outbox can reschedule its row
    instead of holding a handler for minutes.
    """

    def __init__(self, *, max_wait: float = 5.0, attempts: int = 3) -> None:
        self.max_wait = max_wait
        self.attempts = attempts

    async def __call__(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        if handles_flood_itself.get():
            return await make_request(bot, method)
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if isinstance(method, GetUpdates) or exc.retry_after > self.max_wait or attempt == self.attempts:
                    raise
                logger.info("flood wait %s s for %s", exc.retry_after, type(method).__name__)
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")
