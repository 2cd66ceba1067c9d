"""Telegram alerts to the school's admins (``ADMIN_TELEGRAM_IDS``): one service for every program.

- :class:`Problem` names every kind of message the admins can get, with its severity, its
  grace period (how long it must last before anyone is told), its catalog text and the text of
  its all-clear. Adding a kind is one member here plus its texts in the three catalogs; the
  Prometheus ``kind`` labels come from the members.
- A *store* keeps the deduplication: per key, one message per cooldown, and a cap per minute
  overall; what is held back is counted and reported with the next message.
  :class:`DatabaseStore` keeps it in the ``alert_log`` table (a crash loop, a new process each
  time, cannot flood the admins, and bot replicas and the watchdog agree), :class:`MemoryStore`
  in this process, :class:`FallbackStore` in the database while it answers and in memory
  while it does not (the database may be the very problem being reported).
- :class:`Alerts` renders the texts in each admin's language and sends them with a plain Bot
  API call (:class:`TelegramSender`), not through the Dispatcher, so alerts still go out when
  the bot is hung or down; or to the log (:class:`LogSender`) when there is no token.

Used by the bot (handler errors, Redis failover), the watchdog and the backup scheduler.
aiohttp and the catalogs are loaded on the first message, not on import: the watchdog of a
healthy appliance never holds them.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import ReprEnum
from typing import Any, Final, Protocol

from peewee import PostgresqlDatabase

from studymate.db.models import AlertLog, database_proxy, utcnow
from studymate.services.enrollment import language_of

logger = logging.getLogger(__name__)

DEFAULT_COOLDOWN: Final = 600.0
DEFAULT_PER_MINUTE: Final = 5
RECOVERY_PER_MINUTE: Final = 10_000  # an admin who got an alert is never left without its all-clear
ALERT_LOCK: Final = 0x53544D41  # pg_advisory_xact_lock key of alert claims ("STMA")
HELD: Final = "admin_watchdog_suppressed"  # "N more alerts like this were held back"
# The bot's storage failover and the watchdog's Redis check share these keys: one outage, one message.
REDIS_DOWN_KEY: Final = "redis_down"
REDIS_BACK_KEY: Final = "redis_back"

Runner = Callable[..., Awaitable[Any]]
Render = Callable[[str, int], str]  # (language, held-back count) -> HTML text


# -- the kinds of problems ------------------------------------------------------------------------


class ProblemKind(str):
    """What a :class:`Problem` member carries. Members compare equal to (and print as) their
    ``kind`` string; an enum of them is built on ``ReprEnum``, which keeps that.

    ``severity`` orders the problems of one subject (one program): a worse one is news even
    while the admins were told about a milder one; 0 for reports and one-of-a-kind problems.
    """

    kind: str
    severity: int
    grace: float
    text: str
    recovery: str | None
    held: str

    def __new__(
        cls, kind: str, severity: int, grace: float, text: str, recovery: str | None,
        held: str = HELD,
    ) -> ProblemKind:
        member = str.__new__(cls, kind)
        member._value_ = kind  # type: ignore[attr-defined]
        member.kind, member.severity, member.grace = kind, severity, grace
        member.text, member.recovery, member.held = text, recovery, held
        return member


class Problem(ProblemKind, ReprEnum):
    # (kind, severity, grace seconds, text, recovery text[, held-back note])
    # The watchdog, about one program.
    CRASHED = ("crashed", 1, 0.0, "admin_watchdog_crashed", "admin_watchdog_program_ok")
    NOT_POLLING = ("not_polling", 2, 0.0, "admin_watchdog_not_polling", "admin_watchdog_program_ok")
    DOWN = ("down", 3, 60.0, "admin_watchdog_down", "admin_watchdog_program_ok")
    CRASH_LOOP = ("crash_loop", 4, 0.0, "admin_watchdog_crash_loop", "admin_watchdog_program_ok")
    FATAL = ("fatal", 5, 0.0, "admin_watchdog_fatal", "admin_watchdog_program_ok")
    # The watchdog, about the rest of the box.
    SUPERVISOR_DOWN = ("supervisor_down", 0, 45.0, "admin_watchdog_supervisor_down", "admin_watchdog_supervisor_ok")
    DATABASE_DOWN = ("database_down", 0, 30.0, "admin_watchdog_database_down", "admin_watchdog_database_ok")
    REDIS_DOWN = ("redis_down", 0, 30.0, "admin_watchdog_redis_down", "admin_watchdog_redis_ok")
    DISK_LOW = ("disk_low", 0, 0.0, "admin_watchdog_disk_low", "admin_watchdog_disk_ok")
    BACKUP_OLD = ("backup_old", 0, 0.0, "admin_watchdog_backup_old", "admin_watchdog_backup_ok")
    BACKUP_NONE = ("backup_none", 0, 0.0, "admin_watchdog_backup_none", "admin_watchdog_backup_ok")
    ERRORS = ("errors", 0, 0.0, "admin_watchdog_errors", "admin_watchdog_errors_ok")
    # The bot.
    HANDLER_ERROR = ("handler_error", 0, 0.0, "admin_alert_error", None, "admin_alerts_suppressed")
    FSM_FAILOVER = ("fsm_failover", 0, 0.0, "admin_alert_redis_down", "admin_alert_redis_back")
    # The backup scheduler (BACKUP_DONE is the nightly report, not a problem).
    BACKUP_FAILED = ("backup_failed", 0, 0.0, "admin_backup_failed", None)
    BACKUP_PRUNE_FAILED = ("backup_prune_failed", 0, 0.0, "admin_backup_prune_failed", None)
    BACKUP_DONE = ("backup_done", 0, 0.0, "admin_backup_done", None)


def all_problems() -> list[ProblemKind]:
    """Every member of :class:`Problem` and of any other enum built on :class:`ProblemKind`."""
    return [member for cls in ProblemKind.__subclasses__() for member in cls]  # type: ignore[attr-defined]


def problem_of(kind: str) -> ProblemKind | None:
    """The member whose ``kind`` this is (a watchdog restarted reads kinds back from a file)."""
    return next((member for member in all_problems() if member.kind == kind), None)


@dataclass(frozen=True)
class Localized:
    """A parameter that is itself a catalog text, rendered in each admin's language."""

    key: str


def message(problem: ProblemKind, params: Mapping[str, Any] | None = None, *, recovery: bool = False) -> Render:
    """The alert (or all-clear) text of ``problem`` with ``params``, plus the held-back note."""
    key = problem.recovery if recovery else problem.text
    if key is None:
        raise ValueError(f"{problem.kind} has no recovery text")
    values = dict(params or {})

    def render(lang: str, held: int) -> str:
        from studymate.i18n import t

        filled = {k: t(v.key, lang) if isinstance(v, Localized) else v for k, v in values.items()}
        text = t(key, lang, **filled)
        if held:
            text += "\n" + t(problem.held, lang, count=held)
        return text

    return render


# -- stores -----------------------------------------------------------------------------------------


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


class AlertStore(Protocol):
    async def claim(self, key: str, *, cooldown: float, per_minute: int) -> int | None:
        """Held-back count when ``key`` may go out now, None when it must be held back."""

    async def clear(self, key: str) -> None: ...

    async def language(self, admin_id: int, default: str) -> str: ...


class DatabaseStore:
    """The ``alert_log`` table, through ``run`` (the bot's ``Db.run`` or any async runner)."""

    def __init__(self, run: Runner) -> None:
        self.run = run

    async def claim(self, key: str, *, cooldown: float, per_minute: int) -> int | None:
        return await self.run(claim_alert, key, cooldown=cooldown, per_minute=per_minute)

    async def clear(self, key: str) -> None:
        await self.run(clear_alert, key)

    async def language(self, admin_id: int, default: str) -> str:
        return await self.run(language_of, admin_id, default)


class MemoryStore:
    """:func:`claim_alert` in this process: per-key cooldown, a cap per minute."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.sent: dict[str, float] = {}
        self.held: collections.Counter[str] = collections.Counter()

    def claim_now(self, key: str, *, cooldown: float, per_minute: int) -> int | None:
        now = self.clock()
        recent = sum(1 for at in self.sent.values() if now - at < 60)
        if (key in self.sent and now - self.sent[key] < cooldown) or recent >= per_minute:
            self.held[key] += 1
            return None
        self.sent[key] = now
        return self.held.pop(key, 0)

    def record(self, key: str) -> None:
        self.sent[key] = self.clock()
        self.held.pop(key, None)

    async def claim(self, key: str, *, cooldown: float, per_minute: int) -> int | None:
        return self.claim_now(key, cooldown=cooldown, per_minute=per_minute)

    async def clear(self, key: str) -> None:
        self.sent.pop(key, None)
        self.held.pop(key, None)

    async def language(self, admin_id: int, default: str) -> str:
        return default


class FallbackStore:
    """``primary`` (the database) while it answers, ``memory`` while it does not.

    Every claim that went through the database is noted in memory too, so an outage later
    still knows the cooldowns. Without the database every admin gets the default language.
    """

    def __init__(self, primary: AlertStore, memory: MemoryStore | None = None) -> None:
        self.primary = primary
        self.memory = memory or MemoryStore()

    async def claim(self, key: str, *, cooldown: float, per_minute: int) -> int | None:
        try:
            held = await self.primary.claim(key, cooldown=cooldown, per_minute=per_minute)
        except Exception as exc:
            logger.warning("alert bookkeeping unavailable (%s); deduplicating in memory", _short(exc))
            return await self.memory.claim(key, cooldown=cooldown, per_minute=per_minute)
        if held is not None:
            self.memory.record(key)
        return held

    async def clear(self, key: str) -> None:
        await self.memory.clear(key)
        try:
            await self.primary.clear(key)
        except Exception as exc:
            logger.warning("cannot clear alert %s in the database: %s", key, _short(exc))

    async def language(self, admin_id: int, default: str) -> str:
        try:
            return await self.primary.language(admin_id, default)
        except Exception:
            return default


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


# -- senders -----------------------------------------------------------------------------------------


class Sender(Protocol):
    async def send(self, chat_id: int, text: str, *, key: str) -> None: ...

    async def close(self) -> None: ...


class TelegramSender:
    """``sendMessage`` over the Bot API; a failure is logged, never raised."""

    def __init__(self, *, api_url: str, token: str, timeout: float = 10.0) -> None:
        self._url = f"{api_url.rstrip('/')}/bot{token}/sendMessage"
        self._timeout = timeout

    async def send(self, chat_id: int, text: str, *, key: str) -> None:
        import aiohttp

        payload = {
            "chat_id": chat_id,
            "text": text[:4096],
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout)) as session:
                async with session.post(self._url, json=payload) as response:
                    if response.status != 200:
                        body = await response.text()
                        logger.warning("alert to admin %s failed: HTTP %s %s", chat_id, response.status, body[:200])
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("alert to admin %s failed: %s", chat_id, type(exc).__name__)

    async def close(self) -> None:
        pass


class LogSender:
    """No token or no admins (or a dry run): the messages go to the log, deduplicated alike."""

    ANYONE: Final = 0  # the one "admin" to address

    async def send(self, chat_id: int, text: str, *, key: str) -> None:
        logger.warning("alert %s (not sent to Telegram): %s", key, text)

    async def close(self) -> None:
        pass


# -- the service ---------------------------------------------------------------------------------------


class Alerts:
    def __init__(
        self,
        *,
        store: AlertStore,
        sender: Sender,
        admin_ids: Iterable[int],
        default_language: str = "ru",
        cooldown: float = DEFAULT_COOLDOWN,
        per_minute: int = DEFAULT_PER_MINUTE,
        on_sent: Callable[[ProblemKind, bool], None] | None = None,
    ) -> None:
        self.store = store
        self.sender = sender
        self.admin_ids = list(admin_ids)
        self.default_language = default_language
        self.cooldown = cooldown
        self.per_minute = per_minute
        self.on_sent = on_sent  # (problem, recovery): e.g. a Prometheus counter

    async def alert(
        self, problem: ProblemKind, params: Mapping[str, Any] | None = None, *, key: str | None = None
    ) -> bool:
        """Tell every admin about ``problem`` unless deduplicated. Returns whether it went out."""
        return await self._send(problem, message(problem, params), key or problem.kind,
                                per_minute=self.per_minute, recovery=False)

    async def recover(
        self, problem: ProblemKind, params: Mapping[str, Any] | None = None, *, key: str | None = None
    ) -> bool:
        """Tell every admin that ``problem`` is over (its own key, no cap per minute)."""
        return await self._send(problem, message(problem, params, recovery=True),
                                key or f"{problem.kind}:ok", per_minute=RECOVERY_PER_MINUTE,
                                recovery=True)

    async def clear(self, key: str) -> None:
        """Forget ``key`` so its next occurrence goes out at once."""
        await self.store.clear(key)

    async def _send(self, problem: ProblemKind, render: Render, key: str, *, per_minute: int,
                    recovery: bool) -> bool:
        if not self.admin_ids:
            return False
        held = await self.store.claim(key, cooldown=self.cooldown, per_minute=per_minute)
        if held is None:
            logger.info("alert %s suppressed (cooldown or rate cap)", key)
            return False
        for admin_id in self.admin_ids:
            language = await self.store.language(admin_id, self.default_language)
            await self.sender.send(admin_id, render(language, held), key=key)
        if self.on_sent is not None:
            self.on_sent(problem, recovery)
        return True


def telegram_alerts(settings: Any, store: AlertStore, **options: Any) -> Alerts:
    """Alerts to ``ADMIN_TELEGRAM_IDS`` through the Bot API of ``settings``."""
    return Alerts(
        store=store,
        sender=TelegramSender(api_url=settings.telegram_api_url, token=settings.require_token()),
        admin_ids=settings.admin_telegram_ids,
        default_language=settings.default_language,
        **options,
    )


def log_alerts(*, default_language: str = "en", **options: Any) -> Alerts:
    """Alerts that only go to the log, deduplicated in memory."""
    return Alerts(store=MemoryStore(), sender=LogSender(), admin_ids=[LogSender.ANYONE],
                  default_language=default_language, **options)
