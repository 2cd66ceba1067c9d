"""Leaving a form through a main-menu button brings the menu keyboard back.

A form shows the ❌ Cancel reply keyboard; the menu buttons still work while it is open (their
routers come before the form inputs), but their answers are mostly inline screens, which cannot
replace a reply keyboard. So, when a menu button is pressed in a form, the first message of the
answer carries the role's menu keyboard: put on it when it has no keyboard of its own, or sent
just before it in a short note when it has inline buttons (one message holds one keyboard).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import Response
from aiogram.types import InlineKeyboardMarkup, Message, ReplyKeyboardMarkup, TelegramObject

from studymate.bot.keyboards import MENTOR_MENU, STUDENT_MENU, mentor_menu, student_menu
from studymate.i18n import all_labels, t
from studymate.services.enrollment import Identity, Role

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]

# (chat id, the menu keyboard, its language) while a menu button answers a user who was in a form
_restore: ContextVar[tuple[int, ReplyKeyboardMarkup, str] | None] = ContextVar(
    "studymate_menu_restore", default=None
)


def _labels(*menus: tuple[tuple[str, ...], ...]) -> frozenset[str]:
    keys = {key for menu in menus for row in menu for key in row}
    return frozenset().union(*(all_labels(key) for key in keys))


class RestoreMenuOnLeave(BaseMiddleware):
    """Inner message middleware: notes that a menu button left a form with a reply keyboard.

    ``inline_forms`` are state groups whose forms never showed a reply keyboard (their cancel
    is an inline button), so leaving them needs nothing."""

    def __init__(self, inline_forms: Iterable[str] = ()) -> None:
        self.labels = _labels(MENTOR_MENU, STUDENT_MENU)
        self.inline_forms = tuple(f"{name}:" for name in inline_forms)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Message) or (event.text or "").strip() not in self.labels:
            return await handler(event, data)
        raw_state = data.get("raw_state")
        identity: Identity | None = data.get("identity")
        if not raw_state or raw_state.startswith(self.inline_forms) or identity is None:
            return await handler(event, data)
        if identity.role is Role.MENTOR:
            menu = mentor_menu(identity.language)
        elif identity.role is Role.STUDENT:
            menu = student_menu(identity.language)
        else:
            return await handler(event, data)
        token = _restore.set((event.chat.id, menu, identity.language))
        try:
            return await handler(event, data)
        finally:
            _restore.reset(token)


class CarryMenu(BaseRequestMiddleware):
    """Session middleware: the first message sent to that chat carries the pending menu."""

    async def __call__(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        pending = _restore.get()
        if pending is None or not isinstance(method, SendMessage) or method.chat_id != pending[0]:
            return await make_request(bot, method)
        chat_id, menu, lang = pending
        _restore.set(None)
        if method.reply_markup is None:
            method = method.model_copy(update={"reply_markup": menu})
        elif isinstance(method.reply_markup, InlineKeyboardMarkup):
            await make_request(bot, SendMessage(chat_id=chat_id, text=t("menu_restored", lang),
                                                reply_markup=menu))
        return await make_request(bot, method)
