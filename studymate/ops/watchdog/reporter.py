"""The watchdog's messages: findings in, one alert per change of state out.

Every round the watchdog hands its findings to :class:`Reporter`, which compares each with what
the admins were last told about its subject. A new problem (or a worse one for the same
subject, by :attr:`Problem.severity`) that has lasted its grace period is one alert; the end of
a problem they were told about is one all-clear; a problem that persists is repeated only after
``REMIND_AFTER``. What they were told is kept in a file, so a restarted watchdog still sends the
all-clear it owes. Messages go through :class:`studymate.ops.alerts.Alerts`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from studymate.ops.alerts import (
    REDIS_BACK_KEY,
    REDIS_DOWN_KEY,
    Alerts,
    DatabaseStore,
    FallbackStore,
    Problem,
    ProblemKind,
    problem_of,
)
from studymate.ops.supervisor.config import write_private
from studymate.ops.watchdog import checks as health
from studymate.ops.watchdog.checks import Finding

logger = logging.getLogger(__name__)

REMIND_AFTER: Final = 6 * 3600.0  # a problem that persists is repeated this rarely
ALERT_COOLDOWN: Final = 600.0  # the same alert (or recovery) at most once per ... seconds
# Keys shared with the bot's own Redis alerts, so one outage is one message.
SHARED_KEYS: Final = {Problem.REDIS_DOWN: (REDIS_DOWN_KEY, REDIS_BACK_KEY)}


class Notifier(Protocol):
    def send(self, problem: ProblemKind, params: Mapping[str, Any], *, key: str,
             recovery: bool = False) -> bool:
        """Send one message to every admin unless deduplicated; return whether it went out."""


class AlertsNotifier:
    """:class:`Alerts` for this synchronous loop: each message runs to its end here.

    The Alerts are made when the first message is due (``make``): sending loads aiohttp and the
    catalogs (~10 MB resident), which the watchdog of a healthy appliance then never holds.
    """

    def __init__(self, make: Callable[[], Alerts]) -> None:
        self.make = make
        self.alerts: Alerts | None = None

    def send(self, problem: ProblemKind, params: Mapping[str, Any], *, key: str,
             recovery: bool = False) -> bool:
        if self.alerts is None:
            self.alerts = self.make()
        alerts = self.alerts
        try:
            if recovery:
                return asyncio.run(alerts.recover(problem, params, key=key))
            return asyncio.run(alerts.alert(problem, params, key=key))
        except Exception:  # an alert must never stop the watchdog
            logger.exception("could not alert the admins (%s)", key)
            return False


def guarded_store(db: health.GuardedDb | None) -> FallbackStore:
    """The alert bookkeeping in the database through ``db`` (its timeout), in memory without."""

    async def run(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if db is None:
            raise health.DatabaseUnavailable("no database")
        return db.call(fn, *args, **kwargs)  # this event loop only sends alerts: blocking is fine

    return FallbackStore(DatabaseStore(run))


@dataclass
class Told:
    """What the admins were last told about one subject."""

    kind: str | None = None  # the problem's kind, None = all fine
    sent: bool = False  # the alert really went out (it may have been held back by a cooldown)
    at: float = 0.0  # when we last tried


class Reporter:
    """Turns findings into one message per change of state (step 4 of the module docstring)."""

    def __init__(self, notifier: Notifier, *, state_path: Path | None = None) -> None:
        self.notifier = notifier
        self.state_path = state_path
        self.told: dict[str, Told] = self._load()
        self.since: dict[str, float] = {}  # when each current problem was first seen
        self.seen: set[str] = set()  # subjects judged by this process

    def report(self, finding: Finding, now: float) -> None:
        if not finding.known:
            return
        subject, kind = finding.subject, finding.kind
        self.seen.add(subject)
        told = self.told.get(subject, Told())
        before = problem_of(told.kind) if told.kind is not None else None
        if kind is None:
            self.since.pop(subject, None)
            if told.kind is not None:
                if told.sent and before is not None and before.recovery:
                    key = self._key(subject, before, recovery=True)
                    self.notifier.send(before, dict(finding.params), key=key, recovery=True)
                self._set(subject, Told())
            return
        since = self.since.setdefault(subject, now)
        if now - since < kind.grace:
            return
        worse = before is None or kind.severity > before.severity
        held_back = not told.sent and now - told.at >= ALERT_COOLDOWN  # try again: nobody knows
        if worse or held_back or now - told.at >= REMIND_AFTER:
            sent = self.notifier.send(kind, dict(finding.params), key=self._key(subject, kind))
            self._set(subject, Told(kind.kind, sent or told.sent, now))

    @property
    def all_clear(self) -> bool:
        """Nothing the admins were told about is still wrong (a subject no longer checked, e.g.
        a program removed from the configuration, does not count)."""
        return not any(subject in self.seen for subject in self.told)

    @staticmethod
    def _key(subject: str, kind: ProblemKind, *, recovery: bool = False) -> str:
        if kind in SHARED_KEYS:
            return SHARED_KEYS[kind][recovery]
        return ":".join(("watchdog", subject, kind.kind, *(("ok",) if recovery else ())))

    def _set(self, subject: str, told: Told) -> None:
        if told.kind is None:
            self.told.pop(subject, None)
        else:
            self.told[subject] = told
        self._save()

    def _load(self) -> dict[str, Told]:
        if self.state_path is None:
            return {}
        try:
            raw = json.loads(self.state_path.read_text(encoding="utf-8"))
            return {subject: Told(**value) for subject, value in raw.items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError) as exc:
            logger.warning("ignoring unreadable %s: %s", self.state_path, exc)
            return {}

    def _save(self) -> None:
        """Remember what the admins were told, so a restarted watchdog sends the all-clear."""
        if self.state_path is None:
            return
        data = {subject: dataclasses.asdict(told) for subject, told in self.told.items()}
        try:
            write_private(self.state_path, json.dumps(data, indent=1))
        except OSError as exc:
            logger.warning("cannot save %s: %s", self.state_path, exc)
