"""Filters shared by the feature routers."""

from __future__ import annotations

from typing import Any

from aiogram.filters import BaseFilter
from aiogram.types import Message

from studymate.config import Settings
from studymate.i18n import all_labels
from studymate.services.enrollment import Identity, Role


class MenuButton(BaseFilter):
    """A reply-keyboard label, matched in every language (a user may switch language mid-way)."""

    def __init__(self, *keys: str) -> None:
        self.keys = keys
        self.labels = frozenset().union(*(all_labels(key) for key in keys))

    async def __call__(self, message: Message) -> bool:
        return message.text is not None and message.text.strip() in self.labels


class IsAdmin(BaseFilter):
    """The sender is listed in ADMIN_TELEGRAM_IDS."""

    async def __call__(self, event: Any, settings: Settings) -> bool:
        user = getattr(event, "from_user", None)
        return user is not None and user.id in settings.admin_telegram_ids


class IsMentor(BaseFilter):
    """The update comes from an active mentor (resolved once per update by IdentityMiddleware)."""

    async def __call__(self, event: Any, identity: Identity | None = None) -> bool:
        return identity is not None and identity.role is Role.MENTOR


class IsStudent(BaseFilter):
    async def __call__(self, event: Any, identity: Identity | None = None) -> bool:
        return identity is not None and identity.role is Role.STUDENT
