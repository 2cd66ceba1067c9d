"""Is the bot doing its job, not just polling? Updates handled successfully, lately.

Successful polls prove the network and the event loop, not the bot: with its database gone,
a bot answers every update with an error (or not at all) while getUpdates goes on fine. So
the heartbeat file (the watchdog's proof of life) is written only while updates succeed, and
``/healthz`` turns unhealthy, once updates have kept failing for ``window`` seconds without a
single success in between. One failure followed by silence is not that: a quiet night after
one bug report must not restart the bot. A success, or a restart, clears the state.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from studymate.bot.infra import update_outcome
from studymate.bot.middlewares.basics import Handler

logger = logging.getLogger(__name__)


class Liveness(BaseMiddleware):
    """Outer middleware on ``dp.update``, outside everything that can fail (FSM included)."""

    def __init__(self, window: float, *, clock: Callable[[], float] = time.time) -> None:
        self.window = window
        self.clock = clock
        self.last_handled = 0.0  # time of the last update handled without error; 0 before
        self.failing_since: float | None = None  # first failure since the last success
        self.stuck = False

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        with update_outcome.tracked() as holder:  # the error middlewares note "error" in it
            try:
                result = await handler(event, data)
            except Exception:
                self.failed()
                raise
            if holder[0] == "error":
                self.failed()
            else:
                self.handled()
            return result

    def handled(self) -> None:
        if self.stuck:
            logger.warning("an update was handled again: the bot is healthy")
        self.last_handled = self.clock()
        self.failing_since, self.stuck = None, False

    def failed(self) -> None:
        now = self.clock()
        if self.failing_since is None:
            self.failing_since = now
        elif not self.stuck and now - self.failing_since >= self.window:
            self.stuck = True
            logger.error(
                "every update failed for %.0f s: unhealthy until one succeeds", now - self.failing_since
            )

    @property
    def failing_seconds(self) -> float | None:
        """How long updates have been failing, while that makes the bot unhealthy."""
        if not self.stuck or self.failing_since is None:
            return None
        return self.clock() - self.failing_since
