"""Learning streaks on the school's calendar (v1 mixed UTC and local dates, and never decayed).

A streak counts consecutive local days (``TIMEZONE``) with at least one finished quiz. The day
of an attempt is the local date it was *started*: an attempt finalised later by the deadline
sweeper (after a restart, say) still belongs to the day the student actually worked, and the
same rule decides which season it counts in.

v1 never decayed a streak on read; here a streak whose last day is older than yesterday is
shown as 0 (the stored value is left alone and restarts at 1 on the next quiz, as in v1).

This module also holds the two calendar conversions every other service uses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from peewee import Case

from studymate.db.models import Student, utcnow


def local_date(moment: dt.datetime, tz: ZoneInfo) -> dt.date:
    """The school's calendar date of a naive-UTC database timestamp."""
    return moment.replace(tzinfo=dt.UTC).astimezone(tz).date()


def local_midnight_utc(day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """Naive UTC instant of 00:00 local time on ``day`` (for range queries on UTC columns)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=tz).astimezone(dt.UTC).replace(tzinfo=None)


def local_today(tz: ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    return local_date(now if now is not None else utcnow(), tz)


@dataclass(frozen=True, slots=True)
class Streak:
    current: int  # as shown: 0 when the last quiz day is older than yesterday
    longest: int
    last_day: dt.date | None

    @property
    def active(self) -> bool:
        """True when the profile should show 🔥 rather than 💤."""
        return self.current > 0


def shown_streak(current: int, longest: int, last_day: dt.date | None, today: dt.date) -> Streak:
    """The streak as it is true today: still alive only if the last quiz day was today or
    yesterday."""
    alive = last_day is not None and last_day >= today - dt.timedelta(days=1)
    return Streak(current if alive else 0, longest, last_day)


def record_quiz_day(student_id: int, day: dt.date) -> None:
    """Count ``day`` in the student's streak, atomically and idempotently.

    One conditional UPDATE, so two attempts finishing at once cannot both extend the streak,
    and a day already counted (or older than the last counted day) changes nothing.
    """
    yesterday = day - dt.timedelta(days=1)
    # Null-safe: a first quiz (no last day) must not continue anything.
    continues = Student.last_quiz_date.is_null(False) & (Student.last_quiz_date == yesterday)
    current = Case(None, [(continues, Student.current_streak + 1)], 1)
    longest = Case(
        None,
        [
            (continues & (Student.current_streak + 1 > Student.longest_streak),
             Student.current_streak + 1),
            (~continues & (Student.longest_streak < 1), 1),
        ],
        Student.longest_streak,
    )
    (
        Student.update(
            current_streak=current, longest_streak=longest, last_quiz_date=day, last_active=utcnow()
        )
        .where(
            (Student.id == student_id)
            & (Student.last_quiz_date.is_null() | (Student.last_quiz_date < day))
        )
        .execute()
    )


def streak_of(student_id: int, *, tz: ZoneInfo, now: dt.datetime | None = None) -> Streak:
    student = Student.get_by_id(student_id)
    return shown_streak(
        student.current_streak, student.longest_streak, student.last_quiz_date, local_today(tz, now)
    )
