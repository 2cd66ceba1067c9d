"""The bot's Prometheus series, in a registry of its own (never the library's global one).

Event counters are updated where things happen: an outer middleware times every update and
records its outcome, a session middleware counts every Bot API call and its error code.
Everything else is read when Prometheus scrapes: plain attributes of the running parts (sent
messages, the last sweep, the FSM storage, the last poll) and a database snapshot (outbox depth,
live quiz attempts, overdue deadlines) that the HTTP handler refreshes on a database thread
before it renders the page, so a scrape never blocks the event loop.

Series (all ``studymate_`` prefixed)::

    updates_total{type,outcome}            outcome: ok | error | throttled | unhandled
    update_duration_seconds{type}          histogram, middlewares and handler together
    telegram_requests_total{method}        every HTTP call to the Bot API (retries included)
    telegram_errors_total{method,code}     code: 400 403 429 5xx network timeout ...
    outbox_sent_total                      messages this process delivered from the outbox
    outbox_pending_messages                outbox rows waiting or being sent (database)
    quiz_attempts_active                   unfinished quiz attempts (database)
    quiz_sweeper_lag_seconds               age of the oldest passed deadline still unhandled
    quiz_sweeper_last_run_timestamp_seconds
    fsm_storage_backend{backend}           1 for the storage in use: redis | database
    last_poll_timestamp_seconds            last successful getUpdates (or webhook update)
    log_errors_total                       log records at ERROR or above (the watchdog's error rate)
    last_log_error_info{message}           the last of them, redacted and shortened
    alerts_total{type,kind}                messages to the admins; kind: a Problem's kind
    database_up                            the last snapshot query answered in time
    build_info{version}
plus the standard ``process_*`` series (memory, CPU, open files).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Final, Protocol

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response
from aiogram.types import TelegramObject, Update
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from studymate import __version__
from studymate.bot.infra import update_outcome
from studymate.bot.middlewares.basics import Handler, outside_fsm
from studymate.logging_setup import redact
from studymate.ops.alerts import ProblemKind, all_problems
from studymate.services import monitoring

if TYPE_CHECKING:  # the middlewares import this module: keep it free of the running parts
    from studymate.bot.runtime import Runtime
    from studymate.db.connection import Db

logger = logging.getLogger(__name__)

PREFIX: Final = "studymate_"
UPDATE_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SNAPSHOT_MAX_AGE: Final = 1.0  # scrapes closer together than this share one database read
SNAPSHOT_TIMEOUT: Final = 3.0  # a scrape waits this long for the database, then shows it down
# Exception class → the Bot API error code it stands for (aiogram keeps the class, not the code).
ERROR_CODES: Final = (
    (TelegramRetryAfter, "429"),
    (TelegramMigrateToChat, "400"),
    (TelegramBadRequest, "400"),
    (TelegramUnauthorizedError, "401"),
    (TelegramForbiddenError, "403"),
    (TelegramNotFound, "404"),
    (TelegramConflictError, "409"),
    (TelegramEntityTooLarge, "413"),
    (TelegramServerError, "5xx"),
    (TelegramNetworkError, "network"),
)

def error_code(exc: BaseException) -> str:
    for cls, code in ERROR_CODES:
        if isinstance(exc, cls):
            return code
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "other"


class ErrorLog(logging.Handler):
    """Counts this process's log records at ERROR or above and keeps the last one, redacted.

    The watchdog reads the count from ``/metrics`` for the bot's error rate: no log file is
    parsed to decide anything.
    """

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the error itself
            message = str(record.msg)
        self.count += 1
        self.last = redact(" ".join(f"{record.name}: {message}".split()))[:200]


_error_log: ErrorLog | None = None


def error_log() -> ErrorLog:
    """The process's :class:`ErrorLog`, on the root logger (installed once)."""
    global _error_log
    if _error_log is None:
        _error_log = ErrorLog()
        logging.getLogger().addHandler(_error_log)
    return _error_log


class LastPoll(Protocol):
    last_poll: float  # time.time() of the last getUpdates or webhook update; 0 before


class UpdateMetrics(BaseMiddleware):
    """Outer middleware on ``dp.update``: one count and one duration per update."""

    def __init__(self, updates: Counter, seconds: Histogram) -> None:
        self.updates = updates
        self.seconds = seconds

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            kind = event.event_type if isinstance(event, Update) else type(event).__name__.lower()
        except Exception:  # an update type newer than this aiogram
            kind = "unknown"
        started = time.perf_counter()
        with update_outcome.tracked() as holder:
            try:
                result = await handler(event, data)
                if result is UNHANDLED and holder[0] == "ok":
                    holder[0] = "unhandled"
                return result
            except Exception:
                holder[0] = "error"
                raise
            finally:
                self.seconds.labels(kind).observe(time.perf_counter() - started)
                self.updates.labels(kind, holder[0]).inc()


class TelegramMetrics(BaseRequestMiddleware):
    """Session middleware: every Bot API call by method, every failure by method and code."""

    def __init__(self, requests: Counter, errors: Counter) -> None:
        self.requests = requests
        self.errors = errors

    async def __call__(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Response[Any]:
        name = getattr(method, "__api_method__", type(method).__name__)
        self.requests.labels(name).inc()
        try:
            return await make_request(bot, method)
        except Exception as exc:
            self.errors.labels(name, error_code(exc)).inc()
            raise


class DatabaseSnapshot:
    """:func:`monitoring.snapshot` on a database thread, at most once per ``SNAPSHOT_MAX_AGE``."""

    def __init__(self, db: Db) -> None:
        self.db = db
        self.value: monitoring.Snapshot | None = None
        self.up = False
        self._read_at = -SNAPSHOT_MAX_AGE
        self._reading: asyncio.Future[None] | None = None

    async def refresh(self, timeout: float = SNAPSHOT_TIMEOUT) -> None:
        if time.monotonic() - self._read_at < SNAPSHOT_MAX_AGE:
            return
        if self._reading is None or self._reading.done():
            self._reading = asyncio.ensure_future(self._read())
        try:
            await asyncio.wait_for(asyncio.shield(self._reading), timeout)
        except TimeoutError:
            self.up = False  # still waiting: the database is as good as down for this scrape

    async def _read(self) -> None:
        try:
            self.value = await self.db.run(monitoring.snapshot)
            self.up = True
        except Exception as exc:  # any driver error: the gauges go stale, database_up 0
            logger.warning("metrics: database snapshot failed: %s", type(exc).__name__)
            self.up = False
        self._read_at = time.monotonic()


class StateCollector:
    """Values read at scrape time from the running parts; never touches the database."""

    def __init__(self, runtime: Runtime, heartbeat: LastPoll, snapshot: DatabaseSnapshot) -> None:
        self.runtime = runtime
        self.heartbeat = heartbeat
        self.snapshot = snapshot
        self.errors = error_log()

    def describe(self) -> list[Metric]:
        return []  # registering must not collect (the parts may not be running yet)

    def collect(self) -> Iterator[Metric]:
        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            return GaugeMetricFamily(PREFIX + name, doc, value=value)

        info = GaugeMetricFamily(PREFIX + "build_info", "StudyMate version", labels=["version"])
        info.add_metric([__version__], 1)
        yield info
        yield CounterMetricFamily(
            PREFIX + "outbox_sent", "Messages delivered from the outbox by this process",
            value=self.runtime.sender.sent,
        )
        yield gauge("last_poll_timestamp_seconds", "Last successful getUpdates or webhook update",
                    self.heartbeat.last_poll)
        yield CounterMetricFamily(PREFIX + "log_errors", "Log records at ERROR or above in this process",
                                  value=self.errors.count)
        last = GaugeMetricFamily(PREFIX + "last_log_error_info", "The last ERROR record (1 once there is one)",
                                 labels=["message"])
        if self.errors.last:
            last.add_metric([self.errors.last], 1)
        yield last
        yield gauge("quiz_sweeper_last_run_timestamp_seconds", "End of the quiz sweeper's last step",
                    self.runtime.sweeper.last_run)
        backend = getattr(self.runtime.storage, "backend_name", "database")
        storage = GaugeMetricFamily(PREFIX + "fsm_storage_backend", "FSM storage in use (1)",
                                    labels=["backend"])
        for name in ("redis", "database"):
            storage.add_metric([name], 1 if name == backend else 0)
        yield storage
        yield gauge("database_up", "The last database snapshot answered in time",
                    1 if self.snapshot.up else 0)
        value = self.snapshot.value
        if value is None:
            return
        yield gauge("outbox_pending_messages", "Outbox messages waiting or being sent",
                    value.outbox_pending)
        yield gauge("quiz_attempts_active", "Quiz attempts not finished", value.quiz_attempts_active)
        yield gauge("quiz_sweeper_lag_seconds",
                    "Age of the oldest passed quiz deadline not handled yet", value.quiz_overdue_seconds)


class BotMetrics:
    """The registry and its series; :meth:`attach` hooks them into a dispatcher and a bot."""

    def __init__(self, runtime: Runtime, heartbeat: LastPoll) -> None:
        disable_created_metrics()  # no ``*_created`` series: Prometheus does not need them
        self.registry = registry = CollectorRegistry()
        self.updates = Counter(PREFIX + "updates", "Updates handled, by type and outcome",
                               ["type", "outcome"], registry=registry)
        self.update_seconds = Histogram(
            PREFIX + "update_duration_seconds", "Time to handle one update, by type", ["type"],
            buckets=UPDATE_BUCKETS, registry=registry,
        )
        self.telegram_requests = Counter(PREFIX + "telegram_requests", "Bot API calls, by method",
                                         ["method"], registry=registry)
        self.telegram_errors = Counter(
            PREFIX + "telegram_errors", "Failed Bot API calls, by method and error code",
            ["method", "code"], registry=registry,
        )
        self.alerts = Counter(PREFIX + "alerts", "Messages that went out to the admins",
                              ["type", "kind"], registry=registry)
        for problem in all_problems():  # every kind shows, at 0 until it happens
            self.alerts.labels("alert", problem.kind)
        runtime.alerts.on_sent = self.alert_sent
        self.snapshot = DatabaseSnapshot(runtime.db)
        registry.register(StateCollector(runtime, heartbeat, self.snapshot))
        with contextlib.suppress(Exception):  # /proc may be missing in odd sandboxes
            ProcessCollector(registry=registry)

    def alert_sent(self, problem: ProblemKind, recovery: bool) -> None:
        self.alerts.labels("recovery" if recovery else "alert", problem.kind).inc()

    @classmethod
    def attach(cls, dp: Dispatcher, bot: Bot, heartbeat: LastPoll) -> BotMetrics:
        metrics = cls(dp.workflow_data["runtime"], heartbeat)
        outside_fsm(dp, UpdateMetrics(metrics.updates, metrics.update_seconds))  # FSM failures too
        bot.session.middleware(TelegramMetrics(metrics.telegram_requests, metrics.telegram_errors))
        return metrics
