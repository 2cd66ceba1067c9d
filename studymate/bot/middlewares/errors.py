"""Any exception in a handler: the user sees ``error``, every admin gets one escaped alert.

Registered twice: on messages and callbacks (where the user's language is known), and on the
update itself, for what fails before those (the middlewares in front; in webhook mode also the
FSM storage and event isolation, which run on the update there): those answer in the default
language."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject, Update

from studymate.bot.infra.update_outcome import note_outcome
from studymate.bot.middlewares.basics import Handler, user_language
from studymate.i18n import t
from studymate.ops.alerts import Alerts, Problem
from studymate.services.errors import NotFound

logger = logging.getLogger(__name__)


def _shown(event: TelegramObject) -> TelegramObject:
    """The message or callback the user sent (an update carries one inside)."""
    if not isinstance(event, Update):
        return event
    try:
        return event.event
    except Exception:  # an update type newer than this aiogram
        return event


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
            await self._tell_user(_shown(event), t("callback_not_allowed", await self._language(data)))
            return None
        except Exception as exc:  # the one place that catches everything, on purpose
            note_outcome("error")
            event = _shown(event)
            user = data.get("event_from_user")
            logger.exception(
                "handler failed: user=%s update=%s", getattr(user, "id", None), type(event).__name__
            )
            runtime = data.get("runtime")
            if runtime is not None and runtime.inflight.stopping:
                return None  # cut short by the shutdown past its grace period (logged above)
            await self._tell_user(event, t("error", await self._language(data)))
            await self._tell_admins(exc, user, event)
            return None

    async def _language(self, data: dict[str, Any]) -> str:
        """The user's language: from the identity, looked up when the update skipped that (a
        quiz answer), the default when even that fails (the database may be what failed)."""
        identity = data.get("identity")
        if identity is not None:
            return identity.language
        return await user_language(data, self.default_language)

    async def _tell_user(self, event: TelegramObject, text: str) -> None:
        try:
            if isinstance(event, Message) and event.chat.type == "private":  # never in a group
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


