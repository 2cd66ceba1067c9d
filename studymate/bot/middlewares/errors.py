"""Any exception in a handler: the user sees ``error``, every admin gets one escaped alert."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject

from studymate.bot.infra.update_outcome import note_outcome
from studymate.bot.middlewares.basics import Handler
from studymate.i18n import t
from studymate.ops.alerts import Alerts, Problem
from studymate.services.errors import NotFound

logger = logging.getLogger(__name__)


def _alert_key(exc: BaseException) -> str:
    """Same exception type at the same place = same alert (deduplicated with a cooldown)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else "?"
    return f"error:{type(exc).__name__}:{where}"


class ErrorMiddleware(BaseMiddleware):
    def __init__(self, alerts: Alerts, *, default_language: str) -> None:
        self.alerts = alerts
        self.default_language = default_language

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except NotFound:
            # A crafted or outdated button naming someone else's object: refuse, change nothing.
            await self._tell_user(event, t("callback_not_allowed"))
            return None
        except Exception as exc:  # the one place that catches everything, on purpose
            note_outcome("error")
            user = data.get("event_from_user")
            logger.exception(
                "handler failed: user=%s update=%s", getattr(user, "id", None), type(event).__name__
            )
            runtime = data.get("runtime")
            if runtime is not None and runtime.inflight.stopping:
                return None  # cut short by the shutdown past its grace period (logged above)
            identity = data.get("identity")
            lang = identity.language if identity is not None else self.default_language
            await self._tell_user(event, t("error", lang))
            await self._tell_admins(exc, user, event)
            return None

    async def _tell_user(self, event: TelegramObject, text: str) -> None:
        try:
            if isinstance(event, Message):
                await event.answer(text)
            elif isinstance(event, CallbackQuery):
                await event.answer(text, show_alert=True)
        except TelegramAPIError as exc:
            logger.warning("could not tell the user about the error: %s", exc)

    async def _tell_admins(self, exc: BaseException, user: Any, event: TelegramObject) -> None:
        username = f"@{user.username}" if user is not None and user.username else "—"
        params = {
            "user_id": getattr(user, "id", "?"),
            "username": username,
            "error": f"{type(exc).__name__}: {str(exc)[:200]}",
            "update_type": type(event).__name__,
        }
        try:
            await self.alerts.alert(Problem.HANDLER_ERROR, params, key=_alert_key(exc))
        except Exception:  # an alert must never turn one error into two
            logger.exception("could not alert the admins")


