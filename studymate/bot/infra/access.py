"""Group membership: getChatMember for all active mentors at once, bounded, cached and re-checked."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Final

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import User

from studymate.config import Settings
from studymate.db.connection import Db
from studymate.services import enrollment
from studymate.services.enrollment import Identity, MentorGroup, TelegramProfile

logger = logging.getLogger(__name__)

MEMBER_STATUSES: Final = frozenset({"member", "administrator", "creator"})
CHECK_TIMEOUT: Final = 10


@dataclass(frozen=True, slots=True)
class Admission:
    """Outcome of a membership check: the student's mentor, or None (no access)."""

    mentor_id: int | None
    mentor_name: str = ""


class Membership:
    def __init__(self, db: Db, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._limit = asyncio.Semaphore(settings.membership_check_concurrency)

    async def is_member(self, bot: Bot, chat_id: int, user_id: int) -> bool | None:
        """True/False from Telegram; None when the check itself failed."""
        async with self._limit:
            try:
                member = await bot.get_chat_member(
                    chat_id=chat_id, user_id=user_id, request_timeout=CHECK_TIMEOUT
                )
            except (TelegramAPIError, TimeoutError, OSError) as exc:
                logger.warning("getChatMember(%s, %s) failed: %s", chat_id, user_id, exc)
                return None
        return member.status in MEMBER_STATUSES

    async def check(
        self, bot: Bot, user_id: int, groups: list[MentorGroup]
    ) -> dict[int, bool | None]:
        checks = (self.is_member(bot, g.group_chat_id, user_id) for g in groups)
        results = await asyncio.gather(*checks)
        return {g.mentor_id: r for g, r in zip(groups, results, strict=True)}

    async def admit(
        self, bot: Bot, user: User, identity: Identity, *, language: str
    ) -> Admission:
        """Full check at /start: keep the current mentor if still valid, else find one."""
        if identity.mentor_id is not None and identity.membership_fresh:
            return Admission(identity.mentor_id, identity.mentor_name)
        groups = await self.db.run(enrollment.active_mentor_groups)
        own = [g for g in groups if g.mentor_id == identity.mentor_id]
        results = await self.check(bot, user.id, own) if own else {}
        if not any(r is not False for r in results.values()):
            others = [g for g in groups if g.mentor_id != identity.mentor_id]
            results.update(await self.check(bot, user.id, others))
        chosen = enrollment.choose_mentor(identity.mentor_id, results)
        if chosen is None:
            # A deactivated mentor's student keeps the link: the refusal can say why, and
            # switching the mentor back on brings the student back.
            if identity.student_id is not None and not identity.mentor_deactivated:
                await self.db.run(enrollment.revoke_access, user.id)
            return Admission(None)
        if chosen == identity.mentor_id and results.get(chosen) is None:
            return Admission(chosen, identity.mentor_name)  # check failed: decide nothing
        profile = TelegramProfile(user.id, user.username, user.first_name, user.last_name or "")
        name = await self.db.run(enrollment.enroll, profile, mentor_id=chosen, language=language)
        return Admission(chosen, name)

    async def recheck(self, bot: Bot, identity: Identity) -> bool:
        """Gate check for a student whose membership is older than the TTL."""
        if identity.mentor_group_id is None:
            return False
        result = await self.is_member(bot, identity.mentor_group_id, identity.telegram_id)
        if result is True:
            await self.db.run(enrollment.confirm_membership, identity.telegram_id)
        elif result is False:
            await self.db.run(enrollment.revoke_access, identity.telegram_id)
        return result is not False
