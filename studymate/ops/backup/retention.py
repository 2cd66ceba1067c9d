"""Grandfather-father-son retention as a pure function over (name, created_at, good) + now.

Rules, each applied on its own to the *good* (verified) backups, newest first, as restic's
``--keep-daily/-weekly/-monthly`` do: keep the newest backup of each of the newest N local days,
the newest of each of the newest N ISO weeks, the newest of each of the newest N months. A
backup kept by one rule also counts for the others. On top of that:

- anything younger than ``BACKUP_RETENTION_DAYS`` (v1's setting) is kept, good or not;
- the newest good backup is always kept, however old;
- when the newest backup is not good (it failed a later verification), no good backup is
  deleted at all: something is wrong and the old copies are the way back.

Days, weeks and months are the school's (``TIMEZONE``), not UTC.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final

DEFAULT_DAILY: Final = 7
DEFAULT_WEEKLY: Final = 4
DEFAULT_MONTHLY: Final = 12


@dataclass(frozen=True)
class Candidate:
    name: str
    created_at: dt.datetime  # aware
    good: bool


@dataclass(frozen=True)
class Policy:
    daily: int = DEFAULT_DAILY
    weekly: int = DEFAULT_WEEKLY
    monthly: int = DEFAULT_MONTHLY
    keep_days: int = 30  # BACKUP_RETENTION_DAYS


@dataclass(frozen=True)
class Plan:
    keep: dict[str, list[str]] = field(default_factory=dict)  # name -> why
    delete: list[str] = field(default_factory=list)  # oldest first


Period = Callable[[dt.datetime], tuple[int, ...]]


def _day(local: dt.datetime) -> tuple[int, ...]:
    return (local.year, local.month, local.day)


def _iso_week(local: dt.datetime) -> tuple[int, ...]:
    year, week, _ = local.isocalendar()
    return (year, week)


def _month(local: dt.datetime) -> tuple[int, ...]:
    return (local.year, local.month)


def _newest_per_period(
    newest_first: list[Candidate], count: int, period: Period, tz: zoneinfo.ZoneInfo
) -> list[Candidate]:
    kept: list[Candidate] = []
    seen: set[tuple[int, ...]] = set()
    for candidate in newest_first:
        if len(kept) >= count:
            break
        key = period(candidate.created_at.astimezone(tz))
        if key not in seen:
            seen.add(key)
            kept.append(candidate)
    return kept


def plan(
    candidates: Iterable[Candidate], *, policy: Policy, now: dt.datetime, tz: zoneinfo.ZoneInfo
) -> Plan:
    """Given the backups, the policy, the time and the school's zone, decide what to keep."""
    everything = sorted(candidates, key=lambda c: c.created_at, reverse=True)
    good = [c for c in everything if c.good]
    keep: dict[str, list[str]] = {}

    def mark(chosen: Iterable[Candidate], why: str) -> None:
        for candidate in chosen:
            keep.setdefault(candidate.name, []).append(why)

    if good:
        mark(good[:1], "newest good")
    mark(_newest_per_period(good, policy.daily, _day, tz), "daily")
    mark(_newest_per_period(good, policy.weekly, _iso_week, tz), "weekly")
    mark(_newest_per_period(good, policy.monthly, _month, tz), "monthly")
    young = now - dt.timedelta(days=policy.keep_days)
    mark((c for c in everything if c.created_at > young), f"younger than {policy.keep_days} days")
    if everything and not everything[0].good:
        mark(good, "newest backup is not good")
    delete = [c.name for c in reversed(everything) if c.name not in keep]
    return Plan(keep=keep, delete=delete)
