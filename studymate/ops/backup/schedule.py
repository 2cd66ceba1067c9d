"""``studymate backup schedule``: the nightly backup loop that supervisor runs.

Each night at ``BACKUP_TIME`` (school's ``TIMEZONE``) it runs a verified backup, prunes, and
tells the admins: a short summary on success, an alert with the reason on failure. At start it
backs up at once when the last good backup is older than a day (the box was off at night).
SIGTERM sets the stop flag; the loop ends after the current step. Times are computed by pure
functions so DST transitions are tested without waiting for them.

Reports go through :class:`studymate.ops.alerts.Alerts` from a forked child: sending loads
aiohttp, the catalogs and the database driver's pool, which a program that sleeps 23 h 59 min
a day should not keep resident. The child pays that and exits. The loop sleeps in a
:class:`studymate.ops.loop.Loop` (any object with ``is_set``/``wait``, like an Event, will do).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import sys
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any, Final, Protocol

from studymate.config import Settings
from studymate.ops.alerts import Localized, Problem, ProblemKind
from studymate.ops.backup.core import RunResult, retention_policy, run_backup
from studymate.ops.backup.files import BackupError, BackupFile, human_size, last_good

logger = logging.getLogger(__name__)

STALE_AFTER: Final = dt.timedelta(hours=24)
MAX_SLEEP: Final = 60.0  # re-read the wall clock at least this often (suspend, clock steps)
FAILED_KEY: Final = Problem.BACKUP_FAILED.kind
PRUNE_FAILED_KEY: Final = Problem.BACKUP_PRUNE_FAILED.kind

Clock = Callable[[], dt.datetime]


class StopFlag(Protocol):
    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def next_run(after: dt.datetime, *, at: dt.time, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """Given an aware moment, return (in UTC) the first local ``at`` strictly after it.

    On a spring-forward day a time inside the gap (02:30 when clocks jump 02:00 → 03:00) runs
    an hour later by the wall clock; on a fall-back day an ambiguous time runs once, at its
    first occurrence (``fold=0``).
    """
    day = after.astimezone(tz).date()
    for offset in range(3):
        candidate = dt.datetime.combine(day + dt.timedelta(days=offset), at, tzinfo=tz)
        moment = candidate.astimezone(dt.UTC)
        if moment > after:
            return moment
    raise AssertionError("unreachable: a day later is always after")


def seconds_until(target: dt.datetime, now: dt.datetime) -> float:
    return max(0.0, (target - now).total_seconds())


def due_at_start(last_good_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Back up right away when there is no good backup of the last 24 hours."""
    return last_good_at is None or now - last_good_at > STALE_AFTER


# -- reporting to the admins ----------------------------------------------------------------


async def _send(settings: Settings, problem: ProblemKind, params: Mapping[str, Any], key: str,
                clear: tuple[str, ...]) -> bool:
    from studymate.db.connection import Db, open_database
    from studymate.ops.alerts import DatabaseStore, FallbackStore, telegram_alerts

    database = open_database(settings.effective_database_url, pool_size=1)
    db = Db(database, threads=1)
    # The database may be why the backup failed: then deduplicate in memory and alert anyway.
    alerts = telegram_alerts(settings, FallbackStore(DatabaseStore(db.run)))
    try:
        for stale in clear:
            await alerts.clear(stale)
        return await alerts.alert(problem, params, key=key)
    finally:
        db.close()


def _deliver(settings: Settings, problem: ProblemKind, params: Mapping[str, Any], key: str,
             clear: tuple[str, ...]) -> bool:
    try:
        return asyncio.run(_send(settings, problem, params, key, clear))
    except Exception:  # a report must never take the scheduler down
        logger.exception("could not report %s to the admins", key)
        return False


def notify(settings: Settings, problem: ProblemKind, params: Mapping[str, Any], *, key: str | None = None,
           clear: tuple[str, ...] = ()) -> bool:
    """Send one admin report (deduplicated in the DB when it is reachable) from a child process.

    Returns whether it went out.
    """
    key = key or problem.kind
    if not settings.admin_telegram_ids or settings.bot_token is None:
        logger.warning("no BOT_TOKEN or ADMIN_TELEGRAM_IDS: backup report %s stays in the log", key)
        return False
    pid = os.fork()
    if pid == 0:  # the child: send, then leave without running the parent's exit handlers
        code = 1
        try:
            code = 0 if _deliver(settings, problem, params, key, clear) else 3
        finally:
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _local(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def report_success(settings: Settings, result: RunResult) -> bool:
    manifest = result.manifest
    plan = result.plan
    params = {
        "name": result.path.name,
        "size": human_size(manifest.size),
        "rows": manifest.total_rows,
        "seconds": round(sum(manifest.seconds.values()), 1),
        "kept": len(plan.keep) if plan else 0,
        "removed": len(plan.delete) if plan else 0,
    }
    sent = notify(settings, Problem.BACKUP_DONE, params, key=f"backup_done:{result.path.name}",
                  clear=(FAILED_KEY,))
    if result.prune_error:
        notify(settings, Problem.BACKUP_PRUNE_FAILED, {"reason": result.prune_error[:300]})
    return sent


def _last_good(settings: Settings) -> BackupFile | None:
    try:
        return last_good(settings.backup.dir)
    except OSError:  # an unreadable BACKUP_DIR is reported by the backup that fails on it
        return None


def report_failure(settings: Settings, reason: str) -> bool:
    last = _last_good(settings)
    when = _local(last.created, settings.tz) if last else Localized("admin_backup_last_none")
    return notify(settings, Problem.BACKUP_FAILED, {"reason": reason[:300], "last": when})


def scheduled_run(
    settings: Settings, *, stopping: Callable[[], bool] = lambda: False
) -> bool:
    """One nightly step: back up, prune, report. Returns whether a good backup was made."""
    try:
        result = run_backup(settings, policy=retention_policy(settings))
    except Exception as exc:
        reason = str(exc) if isinstance(exc, BackupError) else f"{type(exc).__name__}: {exc}"
        if stopping():  # killed by our own shutdown (pg_dump got the SIGTERM too): not news
            logger.warning("backup interrupted by shutdown: %s", reason)
            return False
        logger.error("backup failed: %s", reason, exc_info=not isinstance(exc, BackupError))
        report_failure(settings, reason)
        return False
    report_success(settings, result)
    return True


# -- the loop -------------------------------------------------------------------------------


def serve(
    settings: Settings,
    *,
    stop: StopFlag,
    clock: Clock = _utcnow,
    step: Callable[[], object] | None = None,
) -> None:
    """Run ``step`` (default: :func:`scheduled_run`) nightly until ``stop`` is set."""
    if step is None:
        def step() -> bool:
            return scheduled_run(settings, stopping=stop.is_set)

    last = _last_good(settings)
    if due_at_start(last.created if last else None, clock()):
        logger.info("no good backup in the last 24 h: backing up now")
        step()
    target = next_run(clock(), at=settings.backup.at, tz=settings.tz)
    announced = None
    while not stop.is_set():
        now = clock()
        if now >= target:
            step()
            target = next_run(max(clock(), target), at=settings.backup.at, tz=settings.tz)
            continue
        if announced != target:
            logger.info("next backup at %s", _local(target, settings.tz))
            announced = target
        stop.wait(min(seconds_until(target, now), MAX_SLEEP))
    logger.info("backup scheduler stopped")
