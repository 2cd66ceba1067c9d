"""Telegram alerts to the school's admins (``ADMIN_TELEGRAM_IDS``).

Sent with a plain Bot API call, not through the Dispatcher, so alerts still go out when the bot
is hung or down. Deduplicated per alert key with a cooldown and capped per minute overall; the
bookkeeping lives in the ``alert_log`` table, so a crash loop (new process each time) cannot
flood the admins either. Suppressed alerts are counted and reported with the next one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

import aiohttp
from peewee import PostgresqlDatabase

from studymate.db.models import AlertLog, database_proxy, utcnow
from studymate.services.enrollment import language_of

logger = logging.getLogger(__name__)

DEFAULT_COOLDOWN: Final = 600.0
DEFAULT_PER_MINUTE: Final = 5
ALERT_LOCK: Final = 0x53544D41  # pg_advisory_xact_lock key of alert claims ("STMA")

Runner = Callable[..., Awaitable[Any]]
Render = Callable[[str, int], str]  # (language, suppressed count) -> HTML text


def claim_alert(key: str, *, cooldown: float, per_minute: int) -> int | None:
    """Decide whether an alert with ``key`` may go out now.

    Returns the number of alerts of this key suppressed since the last one sent, or None when
    this one must be suppressed (and counted). Several bot replicas (and the watchdog) may see
    the same trouble at once: on PostgreSQL the decision is serialized by a transaction-scoped
    advisory lock, so exactly one of them sends (SQLite's IMMEDIATE transactions already are).
    """
    with database_proxy.atomic():
        if isinstance(database_proxy.obj, PostgresqlDatabase):
            database_proxy.execute_sql("SELECT pg_advisory_xact_lock(%s)", (ALERT_LOCK,))
        return _claim_alert(key, cooldown=cooldown, per_minute=per_minute)


def _claim_alert(key: str, *, cooldown: float, per_minute: int) -> int | None:
    now = utcnow()
    row = AlertLog.get_or_none(AlertLog.key == key)
    recent = (
        AlertLog.select()
        .where(AlertLog.last_sent_at > now - dt.timedelta(seconds=60))
        .count()
    )
    cooling = row is not None and now - row.last_sent_at < dt.timedelta(seconds=cooldown)
    if cooling or recent >= per_minute:
        if row is None:
            # First of its kind but over the global cap: remember it so it is reported later.
            AlertLog.insert(key=key, last_sent_at=dt.datetime(1970, 1, 1), suppressed=1).execute()
        else:
            AlertLog.update(suppressed=AlertLog.suppressed + 1).where(AlertLog.key == key).execute()
        return None
    suppressed = row.suppressed if row is not None else 0
    (
        AlertLog.insert(key=key, last_sent_at=now, suppressed=0)
        .on_conflict(conflict_target=[AlertLog.key], update={AlertLog.last_sent_at: now, AlertLog.suppressed: 0})
        .execute()
    )
    return suppressed


def clear_alert(key: str) -> None:
    """Forget ``key`` so the next occurrence alerts immediately (e.g. after a recovery)."""
    AlertLog.delete().where(AlertLog.key == key).execute()


class AdminAlerter:
    def __init__(
        self,
        *,
        api_url: str,
        token: str,
        admin_ids: list[int],
        run: Runner,
        default_language: str = "ru",
        cooldown: float = DEFAULT_COOLDOWN,
        per_minute: int = DEFAULT_PER_MINUTE,
        timeout: float = 10.0,
    ) -> None:
        self._url = f"{api_url.rstrip('/')}/bot{token}/sendMessage"
        self.admin_ids = list(admin_ids)
        self._run = run
        self._default_language = default_language
        self.cooldown = cooldown
        self.per_minute = per_minute
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        from studymate.ops.watchdog.daemon import MemoryClaims  # the watchdog's, not needed before

        self._memory = MemoryClaims()

    async def alert(self, key: str, render: Render) -> bool:
        """Send one alert to every admin unless deduplicated. Returns whether it was sent."""
        if not self.admin_ids:
            return False
        database_up = True
        try:
            suppressed = await self._run(
                claim_alert, key, cooldown=self.cooldown, per_minute=self.per_minute
            )
        except Exception as exc:  # the database may be the very trouble being reported
            logger.warning("alert bookkeeping unavailable (%s): deduplicating in memory", type(exc).__name__)
            database_up = False
            suppressed = self._memory.claim(key, cooldown=self.cooldown, per_minute=self.per_minute)
        if suppressed is None:
            logger.info("alert %s suppressed (cooldown or rate cap)", key)
            return False
        async with aiohttp.ClientSession(timeout=self._timeout) as session:
            for admin_id in self.admin_ids:
                language = self._default_language
                if database_up:
                    language = await self._run(language_of, admin_id, self._default_language)
                await self._send(session, admin_id, render(language, suppressed))
        return True

    async def clear(self, key: str) -> None:
        await self._run(clear_alert, key)

    async def _send(self, session: aiohttp.ClientSession, chat_id: int, text: str) -> None:
        payload = {
            "chat_id": chat_id,
            "text": text[:4096],
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        try:
            async with session.post(self._url, json=payload) as response:
                if response.status != 200:
                    body = await response.text()
                    logger.warning("alert to admin %s failed: HTTP %s %s", chat_id, response.status, body[:200])
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("alert to admin %s failed: %s", chat_id, type(exc).__name__)
