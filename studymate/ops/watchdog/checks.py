"""The watchdog's individual checks: each looks at one thing and returns :class:`Finding` s.

A finding names a *subject* (``database``, ``disk:/var/lib/studymate``, ``program:bot``) and says
whether it is fine (``kind`` None), has a problem (``kind`` names it and picks the alert text)
or cannot be judged right now (``known`` False: the watchdog then changes nothing). ``params``
fill the catalog texts, so they are plain values, never secrets.

The checks are plain functions with their inputs passed in (paths, thresholds, clock, the
bot's counter readings), so they are tested without a running appliance. None reads a log. Programs and the heartbeat need memory between rounds
and live in :mod:`studymate.ops.watchdog.daemon`.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import os
import shutil
import threading
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

from peewee import SqliteDatabase

from studymate.logging_setup import redact
from studymate.ops.alerts import Problem, ProblemKind, problem_of

logger = logging.getLogger(__name__)
T = TypeVar("T")

MB: Final = 1024 * 1024
ERROR_WINDOW: Final = 600.0  # "recent" errors: the last 10 minutes
ERRORS_SERIES: Final = "studymate_log_errors"  # the bot's counter (bot/infra/metrics.py)
LAST_ERROR_SERIES: Final = "studymate_last_log_error_info"
NO_BACKUP_GRACE: Final = 3600.0  # a new install makes its first backup within minutes


@dataclass(frozen=True)
class Finding:
    subject: str
    kind: ProblemKind | None = None  # None: fine; compares equal to its kind string
    params: Mapping[str, Any] = field(default_factory=dict)
    known: bool = True

    @property
    def problem(self) -> bool:
        return self.known and self.kind is not None


def ok(subject: str, **params: Any) -> Finding:
    return Finding(subject, None, params)


def problem(subject: str, kind: ProblemKind | str, **params: Any) -> Finding:
    found = kind if isinstance(kind, ProblemKind) else problem_of(kind)
    if found is None:
        raise ValueError(f"unknown problem kind {kind!r}: add it to studymate.ops.alerts.Problem")
    return Finding(subject, found, params)


def unknown(subject: str) -> Finding:
    return Finding(subject, None, {}, known=False)


def short_error(exc: BaseException | str, limit: int = 200) -> str:
    """One line for an admin: no newlines, no tokens, bounded length."""
    text = exc if isinstance(exc, str) else (str(exc).strip() or type(exc).__name__)
    return redact(" ".join(text.split()))[:limit]


# -- database ---------------------------------------------------------------------------------


class DatabaseUnavailable(Exception):
    """The database did not answer within the timeout, or is still stuck on an earlier call."""


class GuardedDb:
    """Synchronous peewee work on one worker thread, with a timeout the caller never exceeds.

    A PostgreSQL server behind a dead network can block a socket read for minutes; the
    watchdog must go on checking everything else (and alerting without its bookkeeping). A call
    still stuck from an earlier round makes later calls fail at once instead of piling up.
    """

    def __init__(self, database: Any, *, timeout: float = 5.0) -> None:
        self.database = database
        self.timeout = timeout
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="watchdog-db")
        self._pending: Future[Any] | None = None
        self._lock = threading.Lock()

    def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        with self._lock:
            if self._pending is not None and not self._pending.done():
                raise DatabaseUnavailable("still waiting for an earlier query")
            self._pending = self._executor.submit(self._run, fn, *args, **kwargs)
            pending = self._pending
        try:
            return pending.result(timeout=self.timeout)
        except FutureTimeout:
            raise DatabaseUnavailable(f"no answer within {self.timeout:g} s") from None

    def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        database = self.database
        path = getattr(database, "database", None)
        if isinstance(database, SqliteDatabase) and path != ":memory:" and not os.path.exists(str(path)):
            raise DatabaseUnavailable(f"{path} does not exist")  # connecting would create it empty
        with database.connection_context(), database.atomic():
            return fn(*args, **kwargs)

    def close(self, *, pool: bool = True) -> None:
        """Stop the worker; ``pool=False`` leaves a connection pool shared with others open."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        close_all = getattr(self.database, "close_all", None)  # the PostgreSQL pool
        if pool and close_all is not None:
            close_all()


def check_database(db: GuardedDb) -> Finding:
    try:
        db.call(lambda: db.database.execute_sql("SELECT 1").fetchone())
    except Exception as exc:  # any driver error means the same thing to an admin
        return problem("database", Problem.DATABASE_DOWN, error=short_error(exc))
    return ok("database")


# -- Redis ------------------------------------------------------------------------------------


def check_redis(url: str, *, timeout: float = 5.0) -> Finding:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        return problem("redis", Problem.REDIS_DOWN, error=short_error(exc))
    finally:
        client.close()
    return ok("redis")


# -- disk -------------------------------------------------------------------------------------


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing parent (a backup dir may not be created yet)."""
    path = path.resolve()
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def check_disks(
    paths: Iterable[Path],
    *,
    min_free_mb: float,
    min_free_percent: float,
    usage: Callable[[Path], Any] = shutil.disk_usage,
) -> list[Finding]:
    """One finding per file system holding ``paths`` (the first path names it)."""
    findings: list[Finding] = []
    seen: set[int] = set()
    for path in (_existing(p) for p in paths):
        try:
            device = os.stat(path).st_dev
            if device in seen:
                continue
            seen.add(device)
            measured = usage(path)
            total, free = measured[0], measured[2]
        except OSError as exc:
            logger.warning("cannot measure free space of %s: %s", path, exc)
            continue
        free_mb = free / MB
        percent = 100.0 * free / total if total else 100.0
        params = {"path": str(path), "free": f"{free_mb:,.0f} MB", "percent": round(percent, 1)}
        low = (min_free_mb and free_mb < min_free_mb) or (min_free_percent and percent < min_free_percent)
        findings.append(problem(f"disk:{path}", Problem.DISK_LOW, **params) if low else ok(f"disk:{path}", **params))
    return findings


# -- backups ----------------------------------------------------------------------------------


def check_backup(
    last_good_at: dt.datetime | None,
    *,
    max_age_hours: float,
    now: dt.datetime,
    watching_since: dt.datetime,
    tz: dt.tzinfo,
) -> Finding:
    """The newest verified backup must be younger than ``max_age_hours``.

    With no backup at all, a fresh install is given an hour to make its first one.
    """
    if last_good_at is None:
        if (now - watching_since).total_seconds() < NO_BACKUP_GRACE:
            return unknown("backup")
        return problem("backup", Problem.BACKUP_NONE, hours=round(max_age_hours))
    age_hours = (now - last_good_at).total_seconds() / 3600
    last = last_good_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    if age_hours > max_age_hours:
        return problem("backup", Problem.BACKUP_OLD, hours=round(age_hours), last=last)
    return ok("backup", last=last)


# -- the bot's error rate ------------------------------------------------------------------------


@dataclass(frozen=True)
class BotErrors:
    """What the bot's ``/metrics`` says about its errors."""

    total: float  # studymate_log_errors_total: records it logged at ERROR or above
    started: float  # process_start_time_seconds: a new process counts from 0 again
    last: str  # the last of them, redacted and shortened by the bot


def scrape_bot_errors(url: str, *, timeout: float = 2.0) -> BotErrors | None:
    """Read the error counter from the bot's ``/metrics``; None when the bot does not answer."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            text = response.read(4 * MB).decode("utf-8", errors="replace")
    except (OSError, ValueError) as exc:
        logger.debug("cannot read %s: %s", url, exc)
        return None
    total, started, last = None, 0.0, ""
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == f"{ERRORS_SERIES}_total":
                    total = sample.value
                elif sample.name == "process_start_time_seconds":
                    started = sample.value
                elif sample.name == LAST_ERROR_SERIES:
                    last = sample.labels.get("message", "")
    except ValueError as exc:
        logger.warning("cannot parse %s: %s", url, exc)
        return None
    return None if total is None else BotErrors(total, started, last)


class ErrorRate:
    """Errors within the last ``window`` seconds, from successive readings of the counter."""

    def __init__(self, window: float = ERROR_WINDOW) -> None:
        self.window = window
        self.samples: collections.deque[tuple[float, float]] = collections.deque()  # (time, running sum)
        self.previous: BotErrors | None = None
        self.sum = 0.0

    def add(self, now: float, reading: BotErrors) -> int:
        previous = self.previous
        if previous is None:
            increase = 0.0  # errors before we watched are not counted: nobody knows when they were
        elif reading.started != previous.started or reading.total < previous.total:
            increase = reading.total  # a new bot process counts from 0
        else:
            increase = reading.total - previous.total
        self.previous = reading
        self.sum += increase
        self.samples.append((now, self.sum))
        while len(self.samples) > 1 and self.samples[1][0] <= now - self.window:
            self.samples.popleft()
        return round(self.sum - self.samples[0][1])


def check_errors(rate: ErrorRate, reading: BotErrors | None, *, max_errors: int, now: float) -> Finding:
    """Too many errors in the bot within ``ERROR_WINDOW``? Unknown while the bot does not answer."""
    if reading is None:
        return unknown("errors")
    count = rate.add(now, reading)
    minutes = round(rate.window / 60)
    if count >= max_errors:
        return problem("errors", Problem.ERRORS, count=count, minutes=minutes, last=short_error(reading.last))
    return ok("errors", minutes=minutes)
